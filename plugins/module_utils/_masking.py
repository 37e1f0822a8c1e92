# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret masking shared by the operation log, the run lock and the application console.

Three rules, applied to data structures (:func:`mask_value`), free text (:func:`mask_text`) and command
lines (:func:`mask_argv`):

* **Literal secrets** given by the caller (a ``no_log`` option) are replaced wherever they appear, also in
  their URL-encoded and JSON-escaped forms (a password inside ``ORO_DB_URL`` is URL-encoded).
* **Secret-looking keys**: the value of a key whose words include ``password``, ``passwd``, ``secret``,
  ``token``, ``passphrase``, ``credential`` (also inside a word: ``dbpassword``, ``ORO_SECRET``) or are
  exactly ``key``, ``pwd``, ``pass``, ``totp``, ``otp``, ``seed``, ``apikey``, ``cookie``, ``authorization``
  becomes ``********``. A word that names something public about the secret (``fingerprint``, ``public``,
  ``path``, ``file``, ``name``, ``id``, ``expiry``, ``length``...) keeps the value: ``key_fingerprint`` and
  ``password_file`` are not secrets. In text, ``key=value``, ``key: value`` and ``"key": "value"`` follow the
  same rule; on a command line, so does the argument after ``--password``.
* **URL credentials**: ``scheme://user:password@host`` keeps the user and loses the password.

Booleans and ``None`` are never masked (``password_set: true`` tells nothing). Masking is deliberately
eager: a false positive costs a value in a log, a false negative leaks a secret.

Runs on managed nodes: Python 3.9+, standard library only.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus

MASK = "********"

# A word containing one of these is secret; a word equal to one of _SECRET_WORDS is secret.
_SECRET_PARTS = ("password", "passwd", "secret", "passphrase", "token", "credential")
_SECRET_WORDS = frozenset(
    ("key", "pwd", "pass", "totp", "otp", "seed", "seeds", "apikey", "privatekey", "cookie", "authorization")
)
# A key that also has one of these words describes a secret without being one.
_PUBLIC_WORDS = frozenset(
    (
        "fingerprint", "fingerprints", "public", "pub", "file", "files", "path", "dir", "name", "names", "id",
        "ids", "type", "types", "count", "length", "bits", "size", "expiry", "expires", "expired", "algorithm",
        "algo", "format", "url", "uri", "changed", "set", "enabled", "required", "policy", "mode", "age",
        "version", "comment", "label", "hint", "masked", "date",
    )
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_URL_CREDENTIALS = re.compile(
    r"(?P<head>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://[^:/?#@\s]*):(?P<password>[^@/?#\s]+)@"
)
# key=value, key: value, "key": "value", 'key'='value' (the key is checked by is_secret_key). Keys and URL
# schemes start only where a word starts and have a bounded length: masking megabytes of console output
# stays linear.
_KEY_VALUE = re.compile(
    r"""(?<![A-Za-z0-9_])(?<![A-Za-z0-9_][.-])"""
    r"""(?P<kq>["']?)(?P<key>[A-Za-z_][A-Za-z0-9_.-]{0,63})(?P=kq)(?P<sep>[ \t]*[=:][ \t]*)"""
    r"""(?:(?P<vq>["'])(?P<qval>.*?)(?P=vq)|(?P<val>[^\s,;&"'}\]]+))"""
)
_NOT_VALUES = frozenset(("null", "none", "~", "true", "false", MASK, "", "//"))


def key_words(name):
    """The lower-case words of a key name: ``ORO_DB_PASSWORD`` -> db, oro, password; ``apiKey`` -> api, key."""
    return [w for w in _WORD_SPLIT.split(_CAMEL.sub("_", str(name)).lower()) if w]


def is_secret_key(name):
    """Whether the value of a key named ``name`` is a secret."""
    words = key_words(name)
    if any(w in _PUBLIC_WORDS for w in words):
        return False
    return any(w in _SECRET_WORDS or any(part in w for part in _SECRET_PARTS) for w in words)


def _variants(secrets):
    """Each literal secret and its encoded forms, longest first (so a secret inside another is masked whole)."""
    found = set()
    for secret in secrets or ():
        if secret is None:
            continue
        text = str(secret)
        if not text:
            continue
        found.update((text, quote(text, safe=""), quote_plus(text), json.dumps(text)[1:-1]))
    return sorted(found, key=len, reverse=True)


def _mask_literals(text, variants):
    for variant in variants:
        if variant in text:
            text = text.replace(variant, MASK)
    return text


def _mask_key_value(match):
    value = match.group("qval") if match.group("vq") else match.group("val")
    if value is None or value.lower() in _NOT_VALUES or not is_secret_key(match.group("key")):
        return match.group(0)
    quote_char = match.group("vq") or ""
    head = match.group(0)[: match.start("vq" if quote_char else "val") - match.start(0)]
    return "%s%s%s%s" % (head, quote_char, MASK, quote_char)


def mask_text(text, secrets=(), _variants_cache=None):
    """``text`` with literal secrets, URL passwords and secret ``key=value`` pairs masked."""
    if text is None:
        return None
    text = str(text)
    variants = _variants(secrets) if _variants_cache is None else _variants_cache
    text = _mask_literals(text, variants)
    text = _URL_CREDENTIALS.sub(lambda m: "%s:%s@" % (m.group("head"), MASK), text)
    return _KEY_VALUE.sub(_mask_key_value, text)


def mask_value(value, secrets=(), _variants_cache=None):
    """A copy of ``value`` (dicts, lists, strings, scalars) with every secret masked."""
    variants = _variants(secrets) if _variants_cache is None else _variants_cache
    if isinstance(value, dict):
        masked = {}
        for key, item in value.items():
            if is_secret_key(key) and not (item is None or isinstance(item, bool) or item == ""):
                masked[key] = MASK
            else:
                masked[key] = mask_value(item, _variants_cache=variants)
        return masked
    if isinstance(value, (list, tuple)):
        return [mask_value(item, _variants_cache=variants) for item in value]
    if isinstance(value, str):
        return mask_text(value, _variants_cache=variants)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)) and str(value) in variants:
        return MASK
    return value


def mask_argv(argv, secrets=()):
    """A command line (list) with secrets masked: each argument as text, and the argument after an option
    such as ``--password`` or ``--db-token``."""
    variants = _variants(secrets)
    masked = []
    hide_next = False
    for item in argv:
        arg = str(item)
        if hide_next:
            masked.append(MASK)
            hide_next = False
            continue
        hide_next = arg.startswith("-") and "=" not in arg and is_secret_key(arg.lstrip("-"))
        masked.append(mask_text(arg, _variants_cache=variants))
    return masked
