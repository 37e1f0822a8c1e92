# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenSSH public keys: parse, check against the collection's key policy, fingerprint.

This is parsing, not cryptography: a public key line is ``<type> <base64 blob> [comment]`` and the blob is
the SSH wire format of RFC 4253 section 6.6 (RFC 5656 for ECDSA, RFC 8709 for Ed25519, OpenSSH's PROTOCOL.u2f
for security keys): a ``string`` with the key type again, then the type's fields (``mpint e, mpint n`` for
RSA, ``string curve, string Q`` for ECDSA, ``string key`` for Ed25519). Everything is read with ``struct`` and
``int.from_bytes`` from the standard library, for any number of keys in one pass, without running a program.

The key policy (docs/access.md):

* Ed25519 and ECDSA on the NIST curves P-256, P-384 and P-521 are accepted, with or without a FIDO security
  key (``sk-``). Hardware keys (smart cards, TPMs, the macOS Secure Enclave, most FIDO tokens) often offer only
  P-256; the point is checked to lie on its curve.
* RSA needs a modulus of at least 3072 bits (about 128-bit security, NIST SP 800-57).
* DSA (``ssh-dss``, 1024 bits, disabled by OpenSSH since 7.0) and every other type are refused, and so are
  certificates: an ``authorized_keys`` line names a person's key, not a CA.

Runs on managed nodes: Python 3.9+, standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct

RSA = "ssh-rsa"
ED25519 = "ssh-ed25519"
SK_ED25519 = "sk-ssh-ed25519@openssh.com"
SK_ECDSA_P256 = "sk-ecdsa-sha2-nistp256@openssh.com"
DSA = "ssh-dss"

# curve name in the blob -> (field prime p, curve coefficient b, bytes per coordinate); a = -3 for all three.
_CURVES = {
    "nistp256": (
        2**256 - 2**224 + 2**192 + 2**96 - 1,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
        32,
    ),
    "nistp384": (
        2**384 - 2**128 - 2**96 + 2**32 - 1,
        0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
        48,
    ),
    "nistp521": (
        2**521 - 1,
        0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
        66,
    ),
}
_CURVE_BITS = {"nistp256": 256, "nistp384": 384, "nistp521": 521}

# key type -> a short description used in messages
KEY_TYPES = {
    ED25519: "Ed25519",
    SK_ED25519: "Ed25519 security key",
    "ecdsa-sha2-nistp256": "ECDSA P-256",
    "ecdsa-sha2-nistp384": "ECDSA P-384",
    "ecdsa-sha2-nistp521": "ECDSA P-521",
    SK_ECDSA_P256: "ECDSA P-256 security key",
    RSA: "RSA",
}
# Refused whatever the configuration says, with the reason.
REFUSED_TYPES = {
    DSA: "DSA keys are refused (1024 bits only; OpenSSH disabled them in 7.0)",
}
MIN_RSA_BITS = 3072
_RSA_MIN_EXPONENT = 3

_TYPE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._+-]*$")
_WHITESPACE = re.compile(r"[ \t]+")
_MAX_SHOWN = 48


class SSHKeyError(ValueError):
    """A public key that is malformed or does not meet the key policy; the message says why."""


class PublicKey:
    """One parsed, checked public key."""

    __slots__ = ("bits", "blob", "comment", "key_type")

    def __init__(self, key_type, blob, comment="", bits=0):
        self.key_type = key_type
        self.blob = blob
        self.comment = comment
        self.bits = bits

    @property
    def fingerprint(self):
        return fingerprint(self.blob)

    @property
    def base64(self):
        return base64.b64encode(self.blob).decode("ascii")

    def line(self, options=""):
        """The ``authorized_keys`` line: ``[options ]type base64[ comment]``."""
        words = [options] if options else []
        words += [self.key_type, self.base64]
        if self.comment:
            words.append(self.comment)
        return " ".join(words)

    def describe(self):
        """``SHA256:... comment`` (never the key itself)."""
        return "%s %s" % (self.fingerprint, self.comment) if self.comment else self.fingerprint

    def __eq__(self, other):
        return isinstance(other, PublicKey) and self.blob == other.blob

    def __hash__(self):
        return hash(self.blob)

    def __repr__(self):
        return "PublicKey(%s %s)" % (self.key_type, self.fingerprint)


def fingerprint(blob):
    """The SHA-256 fingerprint as ``ssh-keygen -l`` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def shorten(text, limit=_MAX_SHOWN):
    """A piece of input safe to show in a message: one line, at most ``limit`` characters."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Reader:
    """Reads the fields of an SSH wire-format blob."""

    def __init__(self, blob):
        self.blob = blob
        self.offset = 0

    def string(self, what):
        if self.offset + 4 > len(self.blob):
            raise SSHKeyError("the key data ends before its %s" % what)
        (length,) = struct.unpack_from(">I", self.blob, self.offset)
        start = self.offset + 4
        if start + length > len(self.blob):
            raise SSHKeyError("the key data ends inside its %s" % what)
        self.offset = start + length
        return self.blob[start : self.offset]

    def mpint(self, what):
        data = self.string(what)
        if data and data[0] & 0x80:
            raise SSHKeyError("the key's %s is negative" % what)
        if len(data) > 1 and data[0] == 0 and not data[1] & 0x80:
            raise SSHKeyError("the key's %s is not minimally encoded" % what)
        return int.from_bytes(data, "big")

    def text(self, what):
        try:
            return self.string(what).decode("ascii")
        except UnicodeDecodeError:
            raise SSHKeyError("the key's %s is not ASCII text" % what) from None

    def end(self):
        if self.offset != len(self.blob):
            raise SSHKeyError("%d unexpected bytes after the key data" % (len(self.blob) - self.offset))


def _check_ecdsa_point(curve, point):
    """The point must be uncompressed (0x04 || X || Y) and lie on the curve: y^2 = x^3 - 3x + b (mod p)."""
    p, b, size = _CURVES[curve]
    if len(point) != 1 + 2 * size or point[0] != 4:
        raise SSHKeyError("the key's %s point is not an uncompressed point of %d bytes" % (curve, 1 + 2 * size))
    x = int.from_bytes(point[1 : 1 + size], "big")
    y = int.from_bytes(point[1 + size :], "big")
    if x >= p or y >= p or (y * y - (x * x * x - 3 * x + b)) % p:
        raise SSHKeyError("the key's point is not on the curve %s" % curve)


def _parse_blob(key_type, blob, min_rsa_bits):
    """Check the wire format of ``blob`` for ``key_type``; return the key size in bits."""
    reader = _Reader(blob)
    inner = reader.text("type")
    if inner != key_type:
        raise SSHKeyError("the type prefix %s does not match the key's inner type %s" % (key_type, shorten(inner)))
    if key_type == RSA:
        exponent = reader.mpint("public exponent")
        modulus = reader.mpint("modulus")
        reader.end()
        if exponent < _RSA_MIN_EXPONENT or not exponent & 1:
            raise SSHKeyError("the RSA public exponent %d is not valid" % exponent)
        bits = modulus.bit_length()
        if bits < min_rsa_bits:
            raise SSHKeyError("RSA key of %d bits, at least %d are required" % (bits, min_rsa_bits))
        return bits
    if key_type in (ED25519, SK_ED25519):
        point = reader.string("public key")
        if len(point) != 32:
            raise SSHKeyError("an Ed25519 public key has 32 bytes, this one %d" % len(point))
        if key_type == SK_ED25519:
            reader.string("application")
        reader.end()
        return 256
    # ECDSA, plain or security key
    curve = reader.text("curve name")
    expected = "nistp256" if key_type == SK_ECDSA_P256 else key_type.rsplit("-", 1)[-1]
    if curve != expected:
        raise SSHKeyError("the curve %s does not match the key type %s" % (shorten(curve), key_type))
    _check_ecdsa_point(curve, reader.string("public point"))
    if key_type == SK_ECDSA_P256:
        reader.string("application")
    reader.end()
    return _CURVE_BITS[curve]


def parse_public_key(text, allowed_types=None, min_rsa_bits=MIN_RSA_BITS):
    """Parse ``<type> <base64> [comment]`` and apply the key policy.

    ``allowed_types`` restricts the accepted types further (default: every type of ``KEY_TYPES``). Raises
    ``SSHKeyError`` saying what is wrong; the message quotes at most the type and the comment of the key.
    """
    if not isinstance(text, str):
        raise SSHKeyError("the key is not a text")
    text = text.strip()
    if any(ch in text for ch in "\r\n\0"):
        raise SSHKeyError("the key is not a single line")
    words = _WHITESPACE.split(text, 2)
    if not words[0]:
        raise SSHKeyError("the key is empty")
    key_type = words[0]
    if key_type in REFUSED_TYPES:
        raise SSHKeyError(REFUSED_TYPES[key_type])
    if key_type not in KEY_TYPES:
        if not _TYPE_NAME.match(key_type) or "=" in key_type:
            raise SSHKeyError("the key does not start with a key type (options are not accepted here)")
        if "-cert-v01@openssh.com" in key_type:
            raise SSHKeyError("certificates (%s) are not accepted, only public keys" % shorten(key_type))
        raise SSHKeyError("unknown key type %s" % shorten(key_type))
    if allowed_types is not None and key_type not in allowed_types:
        allowed = ", ".join(sorted(allowed_types))
        raise SSHKeyError("key type %s is not allowed here (allowed: %s)" % (key_type, allowed))
    if len(words) < 2:
        raise SSHKeyError("the %s key has no key data after its type" % key_type)
    try:
        blob = base64.b64decode(words[1], validate=True)
    except (binascii.Error, ValueError):
        raise SSHKeyError("the key data is not valid base64") from None
    bits = _parse_blob(key_type, blob, min_rsa_bits)
    comment = words[2].strip() if len(words) > 2 else ""
    return PublicKey(key_type, blob, comment, bits)


def split_authorized_keys_line(line):
    """Split one ``authorized_keys`` line into ``(options, type, base64, comment)``.

    Returns None for blank lines, comments and lines that are not a key. Options may contain quoted spaces
    (``from="a, b"``). Nothing is checked beyond the shape: the line is what is on the host, not input.
    """
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    options = ""
    words = _WHITESPACE.split(line, 2)
    if len(words) >= 2 and _looks_like_key(words[0], words[1]):
        return "", words[0], words[1], words[2] if len(words) > 2 else ""
    # an options field first: up to the first space outside double quotes
    quoted = False
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\" and quoted:
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char in " \t" and not quoted:
            break
        index += 1
    options, rest = line[:index], line[index:].strip()
    words = _WHITESPACE.split(rest, 2)
    if len(words) >= 2 and _looks_like_key(words[0], words[1]):
        return options, words[0], words[1], words[2] if len(words) > 2 else ""
    return None


def _looks_like_key(key_type, data):
    # the blob starts with the 4-byte length of a short type name: three zero bytes, "AAAA" in base64
    return bool(_TYPE_NAME.match(key_type)) and "=" not in key_type and data.startswith("AAAA")


def blob_of(data):
    """The blob of an ``authorized_keys`` base64 field, or None when it does not decode."""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
