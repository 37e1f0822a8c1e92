# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the secret masking shared by the operation log, the run lock and the application console."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils._masking import (
    MASK,
    is_secret_key,
    key_words,
    mask_argv,
    mask_text,
    mask_value,
)

M = MASK


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("PASSWORD", True),
        ("db_password", True),
        ("dbpassword", True),
        ("ORO_SECRET", True),
        ("passwd", True),
        ("mailer_passphrase", True),
        ("access_token", True),
        ("apiKey", True),
        ("api-key", True),
        ("X-Api-Key", True),
        ("key", True),
        ("private_key", True),
        ("totp", True),
        ("totp_seed", True),
        ("seed", True),
        ("ssh_pass", True),
        ("Authorization", True),
        ("credentials", True),
        ("key_fingerprint", False),  # a fingerprint names a public key
        ("public_key", False),
        ("password_file", False),  # a path to a secret is not the secret
        ("token_expires", False),
        ("keys", False),  # authorized keys are public
        ("authorized_keys", False),
        ("monkey", False),
        ("keyboard", False),
        ("user", False),
        ("database", False),
        ("passenger", False),
    ],
)
def test_secret_key_names(name, secret):
    assert is_secret_key(name) is secret


def test_key_words_split_on_separators_and_camel_case():
    assert key_words("ORO_DB_PASSWORD") == ["oro", "db", "password"]
    assert key_words("apiKey") == ["api", "key"]
    assert key_words("X-Api-Key") == ["x", "api", "key"]


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("password=abc user=bob", (), "password=%s user=bob" % M),
        ("ORO_DB_URL=postgres://oro:p%40ss@db:5432/oro", (), "ORO_DB_URL=postgres://oro:%s@db:5432/oro" % M),
        ("amqp://guest:guest@mq/%2f", (), "amqp://guest:%s@mq/%%2f" % M),
        ('{"db_password": "x y", "name": "n"}', (), '{"db_password": "%s", "name": "n"}' % M),
        ("Token: abcd", (), "Token: %s" % M),
        ("pgsql:host=x;user=u;password=p;dbname=d", (), "pgsql:host=x;user=u;password=%s;dbname=d" % M),
        ("key_fingerprint=SHA256:abc", (), "key_fingerprint=SHA256:abc"),
        ("http://example.com:8080/x", (), "http://example.com:8080/x"),
        ("https://user@example.com/", (), "https://user@example.com/"),
        ("password: null", (), "password: null"),
        ("secret='it is'", (), "secret='%s'" % M),
        ("the seed JBSWY3DPEHPK3PXP is planted", ("JBSWY3DPEHPK3PXP",), "the seed %s is planted" % M),
        ("url-encoded p%40ss%2Fword", ("p@ss/word",), "url-encoded %s" % M),
        ("form p%40ss+word", ("p@ss word",), "form %s" % M),
        ('json "a\\"b"', ('a"b',), 'json "%s"' % M),
        ("longest first: abcdef", ("abc", "abcdef"), "longest first: %s" % M),
        ("empty secrets are ignored", ("", None), "empty secrets are ignored"),
        ("Nothing to update.", (), "Nothing to update."),
    ],
)
def test_mask_text(text, secrets, expected):
    assert mask_text(text, secrets) == expected


def test_mask_text_keeps_none():
    assert mask_text(None) is None


@pytest.mark.parametrize(
    ("argv", "secrets", "expected"),
    [
        (["ansible-playbook", "-e", "db_password=x"], (), ["ansible-playbook", "-e", "db_password=%s" % M]),
        (["cmd", "--password", "hunter2", "--force"], (), ["cmd", "--password", M, "--force"]),
        (["cmd", "--db-token", "-starts-with-dash"], (), ["cmd", "--db-token", M]),
        (["cmd", "--password=hunter2"], (), ["cmd", "--password=%s" % M]),
        (["cmd", "--vault-password-file", "/etc/v"], (), ["cmd", "--vault-password-file", "/etc/v"]),
        (["cmd", "-e", '{"secret": "s", "n": 1}'], (), ["cmd", "-e", '{"secret": "%s", "n": 1}' % M]),
        (["cmd", "planted-s3cret"], ("s3cret",), ["cmd", "planted-%s" % M]),
        (["cmd", 42], (), ["cmd", "42"]),
    ],
)
def test_mask_argv(argv, secrets, expected):
    assert mask_argv(argv, secrets) == expected


def test_mask_value_masks_secret_keys_urls_and_literals_recursively():
    value = {
        "password": "x",
        "password_set": True,
        "token": None,
        "secret": "",
        "nested": {"ORO_SECRET": "y", "keys": ["ssh-ed25519 AAAA alice"], "totp": 123456, "seeds": ["a", "b"]},
        "database": "postgresql://oro:pw@db/oro",
        "message": "pass=1 and planted",
        "pin": 4711,
        "items": [{"api_key": {"deep": "z"}}, ("tuple", "planted")],
        "count": 3,
    }
    masked = mask_value(value, ["planted", "4711"])
    assert masked == {
        "password": M,
        "password_set": True,
        "token": None,
        "secret": "",
        "nested": {"ORO_SECRET": M, "keys": ["ssh-ed25519 AAAA alice"], "totp": M, "seeds": M},
        "database": "postgresql://oro:%s@db/oro" % M,
        "message": "pass=%s and %s" % (M, M),
        "pin": M,
        "items": [{"api_key": M}, ["tuple", M]],
        "count": 3,
    }
    assert value["password"] == "x"  # noqa: S105 - the input is not changed


def test_masked_json_never_contains_the_planted_secrets():
    planted = ["JBSWY3DPEHPK3PXP", "correct horse battery", "p@ss:w/rd"]
    value = {
        "details": {"note": "seed %s, phrase %s" % (planted[0], planted[1])},
        "dsn": "redis://:%s@cache:6379" % "p%40ss%3Aw%2Frd",
        "cmd": ["vpn_user", "--passphrase", planted[1]],
    }
    text = json.dumps(mask_value(value, planted))
    for secret in planted:
        assert secret not in text
    assert "p%40ss%3Aw%2Frd" not in text


@pytest.mark.parametrize("unit", ["x", "a.", "a-", "a:", 'a: "', "http://a:", "a+", "password=", "_"])
def test_masking_long_output_takes_linear_time(unit):
    """Console output can be megabytes: no pattern may retry at every character of a long word."""
    text = unit * (200000 // len(unit))
    started = time.monotonic()
    mask_text(text, ["s3cret"])
    assert time.monotonic() - started < 2.0  # quadratic matching takes minutes here
