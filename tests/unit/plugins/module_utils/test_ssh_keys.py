# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _ssh_keys: real keys made by ssh-keygen parse to the type, size and fingerprint ssh-keygen
reports; weak, malformed and mismatched keys are refused with a message that says why and never quotes the key."""

from __future__ import annotations

import base64
import struct

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils._ssh_keys import (
    SSHKeyError,
    blob_of,
    fingerprint,
    parse_public_key,
    split_authorized_keys_line,
)
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.access_fake import (
    DSA,
    ECDSA256,
    ECDSA256_FP,
    ECDSA384,
    ECDSA384_FP,
    ECDSA521,
    ECDSA521_FP,
    ED25519,
    ED25519_FP,
    RSA2048,
    RSA3072,
    RSA3072_FP,
    RSA4096,
    RSA4096_FP,
)


def string(data):
    data = data.encode() if isinstance(data, str) else data
    return struct.pack(">I", len(data)) + data


def mpint(value):
    data = value.to_bytes((value.bit_length() + 8) // 8, "big") if value else b""
    return string(data)


def line(key_type, blob, comment="crafted"):
    return "%s %s %s" % (key_type, base64.b64encode(blob).decode(), comment)


def blob(text):
    return base64.b64decode(text.split()[1])


def ecdsa_point(text):
    """The public point of a real ECDSA key (type, curve, point)."""
    data = blob(text)
    offset = 0
    fields = []
    for _field in range(3):
        (length,) = struct.unpack_from(">I", data, offset)
        fields.append(data[offset + 4 : offset + 4 + length])
        offset += 4 + length
    return fields[2]


# ---------------------------------------------------------------------------------------------- accepted keys


@pytest.mark.parametrize(
    ("text", "key_type", "bits", "fp", "comment"),
    [
        (ED25519, "ssh-ed25519", 256, ED25519_FP, "sample-ed25519"),
        (ECDSA256, "ecdsa-sha2-nistp256", 256, ECDSA256_FP, "sample-ecdsa256"),
        (ECDSA384, "ecdsa-sha2-nistp384", 384, ECDSA384_FP, "sample-ecdsa384"),
        (ECDSA521, "ecdsa-sha2-nistp521", 521, ECDSA521_FP, "sample-ecdsa521"),
        (RSA3072, "ssh-rsa", 3072, RSA3072_FP, "sample-rsa3072"),
        (RSA4096, "ssh-rsa", 4096, RSA4096_FP, "sample-rsa4096"),
    ],
    ids=["ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-3072", "rsa-4096"],
)
def test_real_keys_parse_like_ssh_keygen_reads_them(text, key_type, bits, fp, comment):
    key = parse_public_key(text)

    assert (key.key_type, key.bits, key.fingerprint, key.comment) == (key_type, bits, fp, comment)
    assert key.line() == text
    assert key.line('expiry-time="209912310000Z"') == 'expiry-time="209912310000Z" ' + text
    assert key.describe() == "%s %s" % (fp, comment)


def test_whitespace_around_and_inside_is_tolerated_and_the_comment_may_have_spaces():
    words = ED25519.split()
    key = parse_public_key("  %s\t%s  Alice Example (laptop)\n" % (words[0], words[1]))

    assert key.fingerprint == ED25519_FP
    assert key.comment == "Alice Example (laptop)"


def test_a_key_without_comment():
    key = parse_public_key(" ".join(ED25519.split()[:2]))

    assert key.comment == "" and key.describe() == ED25519_FP
    assert key.line() == " ".join(ED25519.split()[:2])


def test_security_keys_are_parsed():
    ed = line("sk-ssh-ed25519@openssh.com",
              string("sk-ssh-ed25519@openssh.com") + string(b"\x01" * 32) + string("ssh:"))
    ec = line(
        "sk-ecdsa-sha2-nistp256@openssh.com",
        string("sk-ecdsa-sha2-nistp256@openssh.com") + string("nistp256") + string(ecdsa_point(ECDSA256))
        + string("ssh:"),
    )

    assert parse_public_key(ed).bits == 256
    assert parse_public_key(ec).bits == 256


def test_the_rsa_minimum_can_be_raised():
    with pytest.raises(SSHKeyError, match="RSA key of 3072 bits, at least 4096 are required"):
        parse_public_key(RSA3072, min_rsa_bits=4096)
    assert parse_public_key(RSA4096, min_rsa_bits=4096).bits == 4096


def test_allowed_types_restrict_further():
    with pytest.raises(SSHKeyError, match=r"key type ssh-rsa is not allowed here \(allowed: ssh-ed25519\)"):
        parse_public_key(RSA3072, allowed_types=["ssh-ed25519"])
    assert parse_public_key(ED25519, allowed_types=["ssh-ed25519"]).bits == 256


def test_fingerprint_and_blob_helpers():
    assert fingerprint(blob(ED25519)) == ED25519_FP
    assert blob_of(ED25519.split()[1]) == blob(ED25519)
    assert blob_of("not base64!") is None


# ---------------------------------------------------------------------------------------------- refused keys

ED_BLOB = blob(ED25519)
RSA_E, RSA_N = 65537, int.from_bytes(b"\xc1" + b"\x00" * 383, "big")  # a 3072-bit modulus
EC_POINT = ecdsa_point(ECDSA256)

REFUSED = [
    ("dsa", DSA, "DSA keys are refused"),
    ("rsa-2048", RSA2048, "RSA key of 2048 bits, at least 3072 are required"),
    ("empty", "   ", "the key is empty"),
    ("two-lines", ED25519 + "\n" + ED25519, "not a single line"),
    ("not-text", 42, "not a text"),
    ("options-first", 'from="10.0.0.1" ' + ED25519, "does not start with a key type"),
    ("unknown-type", "ssh-foo AAAAB3Nz comment", "unknown key type ssh-foo"),
    ("certificate", "ssh-ed25519-cert-v01@openssh.com AAAA x", "certificates"),
    ("no-data", "ssh-ed25519", "has no key data"),
    ("bad-base64-char", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJs9sukLeM8m6SNcuejpUGWhe86U4PeR8nE3V9qZ!qZS x",
     "not valid base64"),
    ("bad-base64-padding", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJs9sukLeM8m6SNcuejpUGWhe86U4PeR8nE3V9qZzqZ x",
     "not valid base64"),
    ("prefix-mismatch", "ssh-rsa " + ED25519.split()[1] + " x",
     "the type prefix ssh-rsa does not match the key's inner type ssh-ed25519"),
    ("prefix-mismatch-ecdsa", "ecdsa-sha2-nistp384 " + ECDSA256.split()[1] + " x",
     "does not match the key's inner type ecdsa-sha2-nistp256"),
    ("truncated", line("ssh-ed25519", ED_BLOB[:-5]), "ends inside its public key"),
    ("no-length", line("ssh-ed25519", ED_BLOB[:2]), "ends before its type"),
    ("trailing-bytes", line("ssh-ed25519", ED_BLOB + b"\0"), "1 unexpected bytes after the key data"),
    ("ed25519-short", line("ssh-ed25519", string("ssh-ed25519") + string(b"\x01" * 31)), "32 bytes, this one 31"),
    ("rsa-negative", line("ssh-rsa", string("ssh-rsa") + mpint(RSA_E) + string(b"\xc1" + b"\x00" * 383)),
     "modulus is negative"),
    ("rsa-padded", line("ssh-rsa", string("ssh-rsa") + string(b"\x00\x01\x00\x01") + mpint(RSA_N)),
     "not minimally encoded"),
    ("rsa-even-exponent", line("ssh-rsa", string("ssh-rsa") + mpint(65536) + mpint(RSA_N)), "exponent 65536"),
    ("ecdsa-curve-mismatch", line("ecdsa-sha2-nistp256", string("ecdsa-sha2-nistp256") + string("nistp384")
                                  + string(EC_POINT)), "the curve nistp384 does not match"),
    ("ecdsa-compressed", line("ecdsa-sha2-nistp256", string("ecdsa-sha2-nistp256") + string("nistp256")
                              + string(b"\x02" + EC_POINT[1:33])), "not an uncompressed point of 65 bytes"),
    ("ecdsa-off-curve", line("ecdsa-sha2-nistp256", string("ecdsa-sha2-nistp256") + string("nistp256")
                             + string(EC_POINT[:-1] + bytes([EC_POINT[-1] ^ 1]))), "not on the curve nistp256"),
    ("binary-type", line("ssh-ed25519", string(b"\xff\xfe") + string(b"\x01" * 32)), "type is not ASCII text"),
]


@pytest.mark.parametrize(("text", "reason"), [pytest.param(t, r, id=i) for i, t, r in REFUSED])
def test_weak_and_malformed_keys_are_refused_with_the_reason(text, reason):
    with pytest.raises(SSHKeyError) as info:
        parse_public_key(text)

    message = str(info.value)
    assert reason in message
    # the message never quotes the key data
    if isinstance(text, str) and len(text.split()) > 1:
        assert text.split()[1][:20] not in message


# ---------------------------------------------------------------------------------------------- authorized_keys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ED25519, ("", "ssh-ed25519", ED25519.split()[1], "sample-ed25519")),
        ('expiry-time="209912310000Z" ' + ED25519,
         ('expiry-time="209912310000Z"', "ssh-ed25519", ED25519.split()[1], "sample-ed25519")),
        ('from="10.0.0.1, 10.0.0.2",command="echo \\"hi there\\"" ' + ED25519,
         ('from="10.0.0.1, 10.0.0.2",command="echo \\"hi there\\""', "ssh-ed25519", ED25519.split()[1],
          "sample-ed25519")),
        ("no-pty " + " ".join(ED25519.split()[:2]), ("no-pty", "ssh-ed25519", ED25519.split()[1], "")),
        ("# a comment", None),
        ("", None),
        ("garbage without a key", None),
    ],
    ids=["plain", "expiry", "quoted-options", "no-comment", "comment", "blank", "garbage"],
)
def test_split_authorized_keys_line(text, expected):
    assert split_authorized_keys_line(text) == expected
