# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""People on the OpenVPN gateway of an environment: enrolment, revocation and the PKI's expiry report.

The gateway keeps the PKI that the ``vpn_gateway`` role builds (``pki_dir``)::

    <pki_dir>/ca.crt, ca.key                  the VPN's own CA (never leaves the gateway)
    <pki_dir>/server.crt                      the server certificate (its CN: verify-x509-name in profiles)
    <pki_dir>/issued/<name>.crt               the certificate of each enrolled person
    <pki_dir>/revoked/<name>-<serial>.crt     certificates revoked, kept for the record
    <crl_path>                                the CRL OpenVPN reads on every connection (crl-verify)
    <otp_dir>/<name>                          the person's TOTP secret for pam_google_authenticator

A person's private key is made on the gateway, written once into the ``.ovpn`` profile in the export
directory and never kept. The TOTP secret (20 random bytes from ``secrets``, base32) lives in
``otp_dir`` in the format pam_google_authenticator reads (``DISALLOW_REUSE`` refuses a code used
once, ``RATE_LIMIT`` slows guessing) and leaves the gateway only in the export directory, as an
``otpauth://`` URI and as a QR code (``qrencode``). Nothing secret is ever returned: the caller
fetches the export directory's files and removes them.

Revocation adds the certificate's serial to the CRL (signed by the CA, written atomically, so OpenVPN
refuses the certificate at the next TLS handshake), removes the TOTP secret and ends the person's live
sessions through OpenVPN's management socket (``client-kill <cid> HALT``: the client stops instead of
reconnecting).

Runs on the gateway: Python 3.9+, ``cryptography`` (Debian's python3-cryptography 38 or later).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import os
import re
import secrets
import socket
import tempfile
from urllib.parse import quote

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - depends on the node
    HAS_CRYPTOGRAPHY = False

UTC = datetime.timezone.utc
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,62}$")
# pam_google_authenticator's options in each secret file: 3 logins per 30 s, codes of the previous,
# current and next 30 s step accepted (clock skew), each code accepted once only.
TOTP_OPTIONS = ('" RATE_LIMIT 3 30', '" WINDOW_SIZE 3', '" DISALLOW_REUSE', '" TOTP_AUTH')
TOTP_SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends for HMAC-SHA1
CLOCK_SKEW = datetime.timedelta(minutes=5)  # a new certificate is valid from 5 minutes ago
DIR_MODE = 0o700
SECRET_MODE = 0o600
PUBLIC_MODE = 0o644
STATUS_OK = "ok"
STATUS_EXPIRING = "expiring"
STATUS_EXPIRED = "expired"
STATUS_MISSING = "missing"
STATUS_INVALID = "invalid"
MANAGEMENT_TIMEOUT = 5.0  # seconds to wait for each answer of OpenVPN's management interface
REASONS = ("cessation_of_operation", "superseded", "key_compromise", "affiliation_changed", "unspecified")

CRYPTOGRAPHY_REQUIRED = (
    "the Python library cryptography is required on the VPN gateway (Debian package python3-cryptography)"
)


class VpnPkiError(Exception):
    """The request cannot be carried out; nothing was changed."""


# ------------------------------------------------------------------------------------ the host


class Host:
    """What the backend needs from the machine; the module passes AnsibleModule methods, tests fakes."""

    def __init__(self, run_command, atomic_move, protect=None, now=None):
        self._run = run_command
        self._move = atomic_move
        self._protect = protect or (lambda value: None)
        self._now = now or (lambda: datetime.datetime.now(UTC))

    def now(self):
        return self._now().replace(microsecond=0)

    def run(self, argv, data=None):
        """(rc, stdout bytes, stderr text) of argv, data on stdin."""
        return self._run(argv, data)

    def protect(self, value):
        """Never show ``value`` in any output (the module adds it to its no_log values)."""
        self._protect(value)

    def write(self, path, data, mode):
        """Write ``data`` (bytes) to ``path`` atomically with ``mode`` (a temporary file in the same
        directory, then a rename over the old file)."""
        directory = os.path.dirname(path) or "."
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
        try:
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            self._move(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        os.chmod(path, mode)  # atomic_move gives a new file the umask's mode, or the old file's


# ------------------------------------------------------------------------------------ layout


class Layout:
    """Where the PKI's files are."""

    def __init__(self, pki_dir, crl_path, otp_dir=None):
        self.pki_dir = pki_dir
        self.ca_cert = os.path.join(pki_dir, "ca.crt")
        self.ca_key = os.path.join(pki_dir, "ca.key")
        self.server_cert = os.path.join(pki_dir, "server.crt")
        self.issued_dir = os.path.join(pki_dir, "issued")
        self.revoked_dir = os.path.join(pki_dir, "revoked")
        self.crl = crl_path
        self.otp_dir = otp_dir

    def issued(self, name):
        return os.path.join(self.issued_dir, name + ".crt")

    def revoked(self, name, serial):
        return os.path.join(self.revoked_dir, "%s-%s.crt" % (name, serial))

    def otp(self, name):
        return os.path.join(self.otp_dir, name)


def check_name(name):
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or ".." in name:
        raise VpnPkiError(
            "VPN user name %r is not valid: 1 to 63 characters, a lower-case letter first, then lower-case "
            "letters, digits, '.', '_' or '-' (it is the certificate's CN and a file name)" % (name,)
        )


def _require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise VpnPkiError(CRYPTOGRAPHY_REQUIRED)


# ------------------------------------------------------------------------------------ reading


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VpnPkiError("cannot read %s: %s" % (path, exc.strerror or exc)) from exc


def load_certificate(path):
    """The certificate in ``path`` (None when there is no file)."""
    data = _read(path)
    if data is None:
        return None
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise VpnPkiError("%s is not a PEM certificate: %s" % (path, exc)) from exc


def load_crl(path):
    data = _read(path)
    if data is None:
        return None
    try:
        return x509.load_pem_x509_crl(data)
    except ValueError as exc:
        raise VpnPkiError("%s is not a PEM CRL: %s" % (path, exc)) from exc


def load_ca(layout):
    """(certificate, private key) of the CA; a clear error when the gateway has no PKI yet."""
    _require_cryptography()
    cert = load_certificate(layout.ca_cert)
    key_data = _read(layout.ca_key)
    if cert is None or key_data is None:
        missing = layout.ca_cert if cert is None else layout.ca_key
        raise VpnPkiError("the VPN CA is missing (%s): run the vpn_gateway role on this host first" % missing)
    try:
        key = serialization.load_pem_private_key(key_data, password=None)
    except (ValueError, TypeError) as exc:
        raise VpnPkiError("%s is not an unencrypted PEM private key: %s" % (layout.ca_key, exc)) from exc
    if _public_bytes(key.public_key()) != _public_bytes(cert.public_key()):
        raise VpnPkiError("%s does not belong to the certificate %s" % (layout.ca_key, layout.ca_cert))
    return cert, key


def _public_bytes(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=UTC)


def _not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=UTC)


def _crl_time(crl, attribute):
    value = getattr(crl, attribute + "_utc", None)
    if value is None:
        value = getattr(crl, attribute)
        value = value.replace(tzinfo=UTC) if value is not None else None
    return value


def _revocation_date(entry):
    value = getattr(entry, "revocation_date_utc", None)
    return value if value is not None else entry.revocation_date.replace(tzinfo=UTC)


def _iso(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def days_left(moment, now):
    """Whole days from ``now`` until ``moment`` (negative once past)."""
    return (moment - now) // datetime.timedelta(days=1)


def common_name(name):
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return values[0].value if values else None


def name_ordered(name):
    """A name as community.crypto's ``issuer_ordered`` wants it: ``[{"CN": "..."}, ...]``."""
    return [{attribute.rfc4514_attribute_name: attribute.value} for attribute in name]


def signed_by(cert_or_crl, ca_cert):
    """Whether the CA's key made the signature of a certificate or CRL."""
    if cert_or_crl.issuer != ca_cert.subject:
        return False
    public_key = ca_cert.public_key()
    algorithm = cert_or_crl.signature_hash_algorithm
    tbs = getattr(cert_or_crl, "tbs_certificate_bytes", None) or cert_or_crl.tbs_certlist_bytes
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(cert_or_crl.signature, tbs, ec.ECDSA(algorithm))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(cert_or_crl.signature, tbs, padding.PKCS1v15(), algorithm)
        else:
            public_key.verify(cert_or_crl.signature, tbs)
    except (InvalidSignature, TypeError, ValueError):
        return False
    return True


def fingerprint(cert):
    digest = cert.fingerprint(hashes.SHA256())
    return ":".join("%02X" % byte for byte in bytearray(digest))


def certificate_summary(cert, now, warn_days=None):
    """What can be said about a certificate without anything secret in it."""
    left = days_left(_not_after(cert), now)
    summary = {
        "subject": cert.subject.rfc4514_string(),
        "common_name": common_name(cert.subject),
        "serial": str(cert.serial_number),
        "not_before": _iso(_not_before(cert)),
        "not_after": _iso(_not_after(cert)),
        "days_left": left,
        "fingerprint_sha256": fingerprint(cert),
    }
    if warn_days is not None:
        summary["status"] = expiry_status(_not_after(cert), now, warn_days)
    return summary


def expiry_status(moment, now, warn_days):
    if moment <= now:
        return STATUS_EXPIRED
    if days_left(moment, now) < warn_days:
        return STATUS_EXPIRING
    return STATUS_OK


def revoked_serials(crl):
    return {entry.serial_number for entry in crl} if crl is not None else set()


# ------------------------------------------------------------------------------------ making


def issue_certificate(ca_cert, ca_key, name, days, now):
    """A new key pair and a client certificate for ``name`` (CN), signed by the CA.

    ECDSA P-256; key usage digitalSignature and extended key usage clientAuth, as OpenVPN's
    ``remote-cert-tls client`` requires.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = min(now + datetime.timedelta(days=days), _not_after(ca_cert))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
    )
    cert = builder.sign(ca_key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return key_pem, cert


def build_crl(ca_cert, ca_key, crl, additions, *, now, days):
    """A new CRL: every entry of ``crl`` (the current one, or None) plus ``additions`` (serial, reason)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + datetime.timedelta(days=days))
    )
    present = set()
    for entry in crl if crl is not None else ():
        present.add(entry.serial_number)
        builder = builder.add_revoked_certificate(entry)
    for serial, reason in additions:
        if serial in present:
            continue
        present.add(serial)
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now)
            .add_extension(x509.CRLReason(getattr(x509.ReasonFlags, reason)), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def new_totp_secret():
    """A TOTP seed from the OS's CSPRNG, base32 without padding (what authenticator apps read)."""
    return base64.b32encode(secrets.token_bytes(TOTP_SECRET_BYTES)).decode("ascii").rstrip("=")


def totp_secret_file(secret):
    return "\n".join((secret, *TOTP_OPTIONS)) + "\n"


def otpauth_uri(secret, name, issuer):
    """The ``otpauth://totp/`` URI authenticator apps import (Key Uri Format)."""
    label = quote("%s:%s" % (issuer, name), safe=":@")
    return "otpauth://totp/%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=30" % (
        label,
        secret,
        quote(issuer, safe=""),
    )


def qr_png(uri, host):
    """The URI as a PNG QR code, by ``qrencode`` (the URI on stdin, never on a command line)."""
    try:
        rc, out, err = host.run(["qrencode", "--type=PNG", "--output=-", "--size=6", "--level=M"], uri.encode())
    except OSError as exc:
        raise VpnPkiError("cannot run qrencode (Debian package qrencode): %s" % (exc.strerror or exc)) from exc
    if rc != 0 or not out.startswith(b"\x89PNG"):
        raise VpnPkiError("qrencode failed (rc %s): %s" % (rc, (err or "").strip() or "no PNG on its output"))
    return out


def render_profile(name, *, remote, server_name, ca_pem, cert_pem, key_pem, tls_crypt_key, data_ciphers, comment=None):
    """The client's ``.ovpn``: every key inline, the TOTP asked as OpenVPN's static challenge."""
    lines = ["# OpenVPN profile of %s%s" % (name, " (%s)" % comment if comment else "")]
    lines += [
        "# openvpn --config %s.ovpn asks for a user name (%s), a password (not used) and the TOTP code" % (name, name),
        "client",
        "dev tun",
        "proto udp",
        "remote %s %d" % remote,
        "resolv-retry infinite",
        "nobind",
        "persist-key",
        "persist-tun",
        "remote-cert-tls server",
    ]
    if server_name:
        lines.append("verify-x509-name %s name" % server_name)
    lines += [
        "tls-version-min 1.2",
        "data-ciphers %s" % data_ciphers,
        "auth-user-pass",
        "auth-nocache",
        'static-challenge "TOTP code" 1',
        "verb 3",
        "<ca>",
        ca_pem.strip(),
        "</ca>",
        "<cert>",
        cert_pem.strip(),
        "</cert>",
        "<key>",
        key_pem.strip(),
        "</key>",
        "<tls-crypt>",
        tls_crypt_key.strip(),
        "</tls-crypt>",
    ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------ management


class ManagementUnavailable(VpnPkiError):
    """Nothing listens on the management socket: OpenVPN is not running, so nobody is connected."""


class Management:
    """OpenVPN's management interface on a unix socket (``management <path> unix``)."""

    def __init__(self, path, timeout=None):
        self.path = path
        self.timeout = MANAGEMENT_TIMEOUT if timeout is None else timeout
        self._sock = None
        self._buffer = b""

    def __enter__(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            sock.close()
            raise ManagementUnavailable("OpenVPN does not listen on %s" % self.path) from exc
        except OSError as exc:
            sock.close()
            raise VpnPkiError(
                "cannot reach OpenVPN's management socket %s: %s" % (self.path, exc.strerror or exc)
            ) from exc
        self._sock = sock
        return self

    def __exit__(self, *exc_info):
        with contextlib.suppress(OSError):
            self._sock.sendall(b"quit\n")
        self._sock.close()

    def _line(self):
        while b"\n" not in self._buffer:
            try:
                chunk = self._sock.recv(65536)
            except OSError as exc:
                raise VpnPkiError("OpenVPN's management socket %s: %s" % (self.path, exc)) from exc
            if not chunk:
                raise VpnPkiError("OpenVPN closed its management socket %s" % self.path)
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace").rstrip("\r")

    def _reply(self):
        """The next line that answers a command (real-time ``>`` notifications are skipped)."""
        while True:
            line = self._line()
            if not line.startswith(">"):
                return line

    def command(self, text):
        """One-line answer (``SUCCESS: ...`` or ``ERROR: ...``)."""
        self._sock.sendall(text.encode() + b"\n")
        return self._reply()

    def status(self):
        """The connected clients: dicts with ``common_name``, ``client_id``, ``username``, ``real_address``."""
        self._sock.sendall(b"status 3\n")
        header, clients = None, []
        while True:
            line = self._reply()
            if line == "END":
                return clients
            if line.startswith("ERROR"):
                raise VpnPkiError("OpenVPN's management socket %s: %s" % (self.path, line))
            fields = line.split("\t")
            if fields[:2] == ["HEADER", "CLIENT_LIST"]:
                header = fields[2:]
            elif fields[0] == "CLIENT_LIST" and header:
                row = dict(zip(header, fields[1:]))
                clients.append(
                    {
                        "common_name": row.get("Common Name"),
                        "client_id": row.get("Client ID"),
                        "username": row.get("Username"),
                        "real_address": row.get("Real Address"),
                    }
                )


def live_sessions(socket_path, name):
    """The sessions of ``name`` (certificate CN); [] when OpenVPN does not run (no socket, or nobody
    listening on a stale one). A socket that does not answer is an error: nothing is known."""
    if not socket_path or not os.path.exists(socket_path):
        return []
    try:
        with Management(socket_path) as mgmt:
            return [c for c in mgmt.status() if c["common_name"] == name]
    except ManagementUnavailable:
        return []


def drop_sessions(socket_path, name):
    """End every session of ``name``; the clients are told to stop (HALT), not to reconnect."""
    if not socket_path or not os.path.exists(socket_path):
        return 0
    dropped = 0
    try:
        with Management(socket_path) as mgmt:
            for client in mgmt.status():
                if client["common_name"] != name:
                    continue
                answer = mgmt.command("client-kill %s HALT" % client["client_id"])
                if not answer.startswith("SUCCESS"):
                    raise VpnPkiError("OpenVPN did not end session %s of %s: %s" % (client["client_id"], name, answer))
                dropped += 1
    except ManagementUnavailable:
        return dropped
    return dropped


# ------------------------------------------------------------------------------------ state


def _ensure_dir(path, mode):
    if not os.path.isdir(path):
        os.makedirs(path, mode)
    os.chmod(path, mode)


def current_state(layout, name, ca_cert, crl, now):
    """What the gateway holds for ``name``: its certificate (and whether it counts) and its TOTP secret."""
    cert = load_certificate(layout.issued(name))
    state = {"certificate": None, "certificate_valid": False, "problem": None, "totp": os.path.exists(layout.otp(name))}
    if cert is None:
        state["problem"] = "no certificate"
        return state, None
    state["certificate"] = certificate_summary(cert, now)
    if cert.serial_number in revoked_serials(crl):
        state["problem"] = "its certificate is revoked"
    elif ca_cert is not None and not signed_by(cert, ca_cert):
        state["problem"] = "its certificate was not issued by the current CA"
    elif common_name(cert.subject) != name:
        state["problem"] = "its certificate's CN is %r" % common_name(cert.subject)
    elif _not_after(cert) <= now:
        state["problem"] = "its certificate expired"
    else:
        state["certificate_valid"] = True
    return state, cert


def _public_view(state, sessions=None):
    """The part of a state that diff and results show."""
    cert = state["certificate"]
    view = {
        "certificate": None
        if cert is None or not state["certificate_valid"]
        else {
            "serial": cert["serial"],
            "not_after": cert["not_after"],
        },
        "totp_secret": "present" if state["totp"] else "absent",
    }
    if sessions is not None:
        view["sessions"] = sessions
    return view


def _renewal_reasons(params, before):
    """Why a new certificate and/or TOTP secret is needed (empty: the person is enrolled)."""
    cert_reasons, totp_reasons = [], []
    if params["force"]:
        cert_reasons.append("forced")
        totp_reasons.append("forced")
    if not before["certificate_valid"]:
        cert_reasons.append(before["problem"])
    elif before["certificate"]["days_left"] < params["renew_before_days"]:
        cert_reasons.append("its certificate expires in %d days" % before["certificate"]["days_left"])
    if not before["totp"]:
        totp_reasons.append("no TOTP secret")
    return cert_reasons, totp_reasons


class _Enrolment:
    """The files one enrolment writes, made in memory first (a failure changes nothing)."""

    def __init__(self, params, layout, host, now):
        self.params = params
        self.layout = layout
        self.host = host
        self.now = now
        self.name = params["name"]
        self.export_dir = params["export_dir"]
        self.writes = []  # (path, bytes, mode), written in this order
        self.revoked = []  # the certificate the new one replaces (revoked, superseded)

    def _export(self, filename, data):
        self.writes.append((os.path.join(self.export_dir, filename), data, SECRET_MODE))

    def certificate(self, ca_cert, ca_key, crl, old_cert):
        tls_crypt = _read(self.params["tls_crypt_key_path"])
        if tls_crypt is None:
            raise VpnPkiError(
                "the tls-crypt key %s is missing: run the vpn_gateway role first" % self.params["tls_crypt_key_path"]
            )
        server = load_certificate(self.layout.server_cert)
        key_pem, cert = issue_certificate(ca_cert, ca_key, self.name, self.params["days"], self.now)
        self.host.protect(key_pem)
        self.host.protect(key_pem.strip())
        cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        profile = render_profile(
            self.name,
            remote=(self.params["remote_host"], self.params["remote_port"]),
            server_name=common_name(server.subject) if server is not None else None,
            ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            cert_pem=cert_pem,
            key_pem=key_pem,
            tls_crypt_key=tls_crypt.decode("ascii"),
            data_ciphers=self.params["data_ciphers"],
            comment=self.params.get("comment"),
        )
        self._export(self.name + ".ovpn", profile.encode("ascii"))
        self.writes.append((self.layout.issued(self.name), cert_pem.encode("ascii"), PUBLIC_MODE))
        if old_cert is not None and old_cert.serial_number not in revoked_serials(crl):
            additions = [(old_cert.serial_number, "superseded")]
            crl_pem = build_crl(ca_cert, ca_key, crl, additions, now=self.now, days=self.params["crl_days"])
            self.writes.append((self.layout.crl, crl_pem, PUBLIC_MODE))
            self.revoked.append(old_cert)
        return certificate_summary(cert, self.now)

    def totp(self):
        secret = new_totp_secret()
        self.host.protect(secret)
        uri = otpauth_uri(secret, self.name, self.params["totp_issuer"])
        self.host.protect(uri)
        png = qr_png(uri, self.host)
        self._export(self.name + ".otpauth", (uri + "\n").encode("ascii"))
        self._export(self.name + "-totp.png", png)
        self.writes.append((self.layout.otp(self.name), totp_secret_file(secret).encode("ascii"), SECRET_MODE))

    def write(self):
        """Write every file; return the exported ones."""
        exported = []
        _ensure_dir(self.export_dir, DIR_MODE)
        _ensure_dir(self.layout.issued_dir, DIR_MODE)
        _ensure_dir(self.layout.otp_dir, DIR_MODE)
        try:
            for path, data, mode in self.writes:
                self.host.write(path, data, mode)
                if os.path.dirname(path) == self.export_dir:
                    exported.append(path)
            for cert in self.revoked:
                _ensure_dir(self.layout.revoked_dir, DIR_MODE)
                pem = cert.public_bytes(serialization.Encoding.PEM)
                self.host.write(self.layout.revoked(self.name, cert.serial_number), pem, PUBLIC_MODE)
        except OSError as exc:
            where = getattr(exc, "filename", None) or "a file"
            raise VpnPkiError("cannot write %s: %s" % (where, exc.strerror or exc)) from exc
        return exported


def ensure_present(params, host, check_mode):
    """Enrol ``name`` (or renew its certificate); write the profile, URI and QR code to ``export_dir``."""
    name = params["name"]
    check_name(name)
    _require_cryptography()
    layout = Layout(params["pki_dir"], params["crl_path"], params["otp_dir"])
    now = host.now()
    ca_cert, ca_key = load_ca(layout)
    crl = load_crl(layout.crl)
    before, old_cert = current_state(layout, name, ca_cert, crl, now)
    cert_reasons, totp_reasons = _renewal_reasons(params, before)
    reasons = cert_reasons + [r for r in totp_reasons if r not in cert_reasons]
    result = {
        "changed": bool(reasons),
        "name": name,
        "state": "present",
        "files": [],
        "revoked_serials": [],
        "reasons": reasons,
        "certificate": before["certificate"],
        "totp_secret": True,
    }
    if not reasons:
        result["diff"] = {"before": _public_view(before), "after": _public_view(before)}
        result["msg"] = "%s is enrolled; certificate valid for %d more days" % (
            name,
            before["certificate"]["days_left"],
        )
        return result
    if not params["export_dir"]:
        raise VpnPkiError("export_dir is required to enrol %s (%s)" % (name, ", ".join(reasons)))

    enrolment = _Enrolment(params, layout, host, now)
    after = dict(before, totp=True)
    if cert_reasons:
        after.update(certificate=enrolment.certificate(ca_cert, ca_key, crl, old_cert), certificate_valid=True)
    if totp_reasons:
        enrolment.totp()
    result["certificate"] = after["certificate"]
    result["revoked_serials"] = [str(cert.serial_number) for cert in enrolment.revoked]
    result["diff"] = {"before": _public_view(before), "after": _public_view(after)}
    made = [what for what, needed in (("certificate", cert_reasons), ("TOTP secret", totp_reasons)) if needed]
    result["msg"] = "%s: new %s (%s)" % (name, " and ".join(made), ", ".join(reasons))
    if not check_mode:
        result["files"] = enrolment.write()
    return result


def ensure_absent(params, host, check_mode):
    """Revoke ``name``: certificate into the CRL, TOTP secret removed, live sessions ended."""
    name = params["name"]
    check_name(name)
    _require_cryptography()
    layout = Layout(params["pki_dir"], params["crl_path"], params["otp_dir"])
    now = host.now()
    crl = load_crl(layout.crl)
    cert = load_certificate(layout.issued(name))
    before, _cert = current_state(layout, name, None, crl, now)
    sessions = live_sessions(params["management_socket"], name)
    before_view = _public_view(before, len(sessions))

    revoke = cert is not None and cert.serial_number not in revoked_serials(crl)
    result = {
        "changed": bool(cert is not None or before["totp"] or sessions),
        "name": name,
        "state": "absent",
        "files": [],
        "certificate": None,
        "totp_secret": False,
        "revoked_serials": [str(cert.serial_number)] if revoke else [],
        "sessions_dropped": len(sessions),
        "reasons": [],
    }
    result["diff"] = {
        "before": before_view,
        "after": {"certificate": None, "totp_secret": "absent", "sessions": 0},
    }
    if not result["changed"]:
        result["msg"] = "%s has no certificate, TOTP secret or session on this gateway" % name
        return result
    done = []
    if revoke:
        done.append("certificate %s revoked" % cert.serial_number)
    if before["totp"]:
        done.append("TOTP secret removed")
    if sessions:
        done.append("%d session%s ended" % (len(sessions), "" if len(sessions) == 1 else "s"))
    result["msg"] = "%s: %s" % (name, ", ".join(done) or "revoked certificate filed")
    if check_mode:
        return result

    try:
        if revoke:
            ca_cert, ca_key = load_ca(layout)
            additions = [(cert.serial_number, params["reason"])]
            crl_pem = build_crl(ca_cert, ca_key, crl, additions, now=now, days=params["crl_days"])
            host.write(layout.crl, crl_pem, PUBLIC_MODE)
        if cert is not None:
            _ensure_dir(layout.revoked_dir, DIR_MODE)
            host.write(
                layout.revoked(name, cert.serial_number), cert.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE
            )
            os.unlink(layout.issued(name))
        if before["totp"]:
            os.unlink(layout.otp(name))
    except OSError as exc:
        where = getattr(exc, "filename", None) or ""
        raise VpnPkiError("cannot revoke %s: %s: %s" % (name, where, exc.strerror or exc)) from exc
    result["sessions_dropped"] = drop_sessions(params["management_socket"], name) if sessions else 0
    return result


_PROFILE_WORD = re.compile(r"^[A-Za-z0-9._:\[\]-]+$")


def check_params(params):
    """Refuse values that would not fit where they go (a profile line, a URI, a validity)."""
    for key, low in (("days", 1), ("renew_before_days", 0), ("crl_days", 1)):
        if params.get(key) is not None and params[key] < low:
            raise VpnPkiError("%s must be at least %d, not %d" % (key, low, params[key]))
    if not 0 < params.get("remote_port", 1) < 65536:
        raise VpnPkiError("remote_port %s is not a port number" % params["remote_port"])
    for key in ("remote_host", "data_ciphers"):
        value = params.get(key)
        if value is not None and not _PROFILE_WORD.match(value):
            raise VpnPkiError(
                "%s %r is not valid in an OpenVPN profile (one word: letters, digits, . _ : - [ ])" % (key, value)
            )
    issuer = params.get("totp_issuer")
    if issuer is not None and (not issuer.strip() or ":" in issuer or any(ord(c) < 32 for c in issuer)):
        raise VpnPkiError("totp_issuer %r must not be empty or contain ':' or control characters" % (issuer,))
    comment = params.get("comment")
    if comment is not None and any(ord(c) < 32 for c in comment):
        raise VpnPkiError("comment must be one line")


def manage_user(params, host, check_mode):
    check_params(params)
    if params["state"] == "absent":
        return ensure_absent(params, host, check_mode)
    return ensure_present(params, host, check_mode)


# ------------------------------------------------------------------------------------ report


def _file_report(path, cert, label, *, now, warn_days, warnings):
    if cert is None:
        warnings.append("%s %s is missing" % (label, path))
        return {"exists": False, "path": path, "status": STATUS_MISSING}
    report = dict(certificate_summary(cert, now, warn_days), exists=True, path=path)
    _warn_expiry(label, report, warn_days, warnings)
    return report


def _warn_expiry(label, report, warn_days, warnings):
    if report["status"] == STATUS_EXPIRED:
        warnings.append("%s expired on %s" % (label, report["not_after"]))
    elif report["status"] == STATUS_EXPIRING:
        warnings.append(
            "%s expires in %d days (%s), less than %d" % (label, report["days_left"], report["not_after"], warn_days)
        )


def pki_report(pki_dir, crl_path, warn_days, now):
    """Expiry of the CA, the server certificate, every enrolled person's certificate and the CRL."""
    _require_cryptography()
    layout = Layout(pki_dir, crl_path)
    warnings = []
    ca_cert = load_certificate(layout.ca_cert)
    ca = _file_report(
        layout.ca_cert, ca_cert, "the VPN CA certificate", now=now, warn_days=warn_days, warnings=warnings
    )
    if ca_cert is not None:
        ca["subject_ordered"] = name_ordered(ca_cert.subject)
    server_cert = load_certificate(layout.server_cert)
    server = _file_report(
        layout.server_cert, server_cert, "the VPN server certificate", now=now, warn_days=warn_days, warnings=warnings
    )
    if server_cert is not None and ca_cert is not None and not signed_by(server_cert, ca_cert):
        server["status"] = STATUS_INVALID
        warnings.append("the VPN server certificate %s was not issued by the CA" % layout.server_cert)

    crl = load_crl(crl_path)
    serials = revoked_serials(crl)
    clients = []
    files = os.listdir(layout.issued_dir) if os.path.isdir(layout.issued_dir) else []
    names = sorted(f[: -len(".crt")] for f in files if f.endswith(".crt"))
    for name in names:
        cert = load_certificate(layout.issued(name))
        report = dict(certificate_summary(cert, now, warn_days), name=name, revoked=cert.serial_number in serials)
        if report["revoked"]:
            report["status"] = STATUS_INVALID
        elif ca_cert is not None and not signed_by(cert, ca_cert):
            report["status"] = STATUS_INVALID
            warnings.append("the certificate of %s was not issued by the current CA" % name)
        else:
            _warn_expiry("the certificate of %s" % name, report, warn_days, warnings)
        clients.append(report)

    if crl is None:
        crl_report = {"exists": False, "path": crl_path, "status": STATUS_MISSING}
        warnings.append("the CRL %s is missing: OpenVPN refuses every connection without it" % crl_path)
    else:
        next_update = _crl_time(crl, "next_update")
        crl_report = {
            "exists": True,
            "path": crl_path,
            "issuer": crl.issuer.rfc4514_string(),
            "last_update": _iso(_crl_time(crl, "last_update")),
            "next_update": _iso(next_update),
            "days_left": days_left(next_update, now) if next_update is not None else None,
            "revoked": len(serials),
            "status": expiry_status(next_update, now, warn_days) if next_update is not None else STATUS_OK,
            "signed_by_ca": bool(ca_cert is not None and signed_by(crl, ca_cert)),
        }
        if ca_cert is not None and not crl_report["signed_by_ca"]:
            crl_report["status"] = STATUS_INVALID
            warnings.append("the CRL %s is not signed by the VPN CA: OpenVPN refuses every connection" % crl_path)
        elif crl_report["status"] == STATUS_EXPIRED:
            warnings.append(
                "the CRL %s expired on %s: OpenVPN refuses every connection" % (crl_path, crl_report["next_update"])
            )
        elif crl_report["status"] == STATUS_EXPIRING:
            warnings.append(
                "the CRL %s must be renewed within %d days (next update %s)"
                % (crl_path, crl_report["days_left"], crl_report["next_update"])
            )
    return {
        "ca": ca,
        "server": server,
        "clients": clients,
        "crl": crl_report,
        "problems": warnings,
        "checked_at": _iso(now),
        "warn_days": warn_days,
    }
