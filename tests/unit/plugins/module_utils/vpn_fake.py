# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test doubles for the VPN backend and modules: a gateway's PKI made with cryptography in a temporary
directory (laid out as the vpn_gateway role lays it out), a host with a fake ``qrencode``, and a fake
OpenVPN management interface on a unix socket."""

from __future__ import annotations

import datetime
import os
import socket
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.orocloud.ops.plugins.module_utils import _vpn_user as vpn

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\nfake"
TLS_CRYPT = "-----BEGIN OpenVPN Static key V1-----\n" + "ab" * 32 + "\n-----END OpenVPN Static key V1-----\n"


# ------------------------------------------------------------------------------------ a PKI


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def write(path, data, mode=0o600):
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def make_ca(cn="acme-prod VPN CA", not_before=NOW - datetime.timedelta(days=1), days=3650):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_leaf(ca_cert, ca_key, cn, *, days=825, eku=ExtendedKeyUsageOID.SERVER_AUTH, now=NOW):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert


class Pki:
    """A gateway's files, laid out as the vpn_gateway role lays them out."""

    def __init__(self, root, now=NOW):
        self.root = root
        self.pki_dir = str(root / "pki")
        self.crl_path = str(root / "server" / "crl.pem")
        self.otp_dir = str(root / "otp")
        self.tls_crypt = str(root / "server" / "tls-crypt.key")
        self.export_dir = str(root / "export" / "alice")
        os.makedirs(self.pki_dir, 0o700)
        os.makedirs(os.path.dirname(self.crl_path))
        os.makedirs(self.otp_dir, 0o700)
        self.ca_cert, self.ca_key = make_ca(not_before=now - datetime.timedelta(days=1))
        self.install_ca(self.ca_cert, self.ca_key)
        server = make_leaf(self.ca_cert, self.ca_key, "acme-prod-vpn1", now=now)
        write(os.path.join(self.pki_dir, "server.crt"), pem(server))
        write(self.tls_crypt, TLS_CRYPT.encode())
        write(self.crl_path, vpn.build_crl(self.ca_cert, self.ca_key, None, [], now=now, days=180), 0o644)

    def install_ca(self, cert, key):
        write(os.path.join(self.pki_dir, "ca.crt"), pem(cert), 0o644)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write(os.path.join(self.pki_dir, "ca.key"), key_pem)

    def params(self, **overrides):
        params = {
            "name": "alice",
            "state": "present",
            "pki_dir": self.pki_dir,
            "crl_path": self.crl_path,
            "otp_dir": self.otp_dir,
            "tls_crypt_key_path": self.tls_crypt,
            "management_socket": str(self.root / "no-management.sock"),
            "remote_host": "203.0.113.20",
            "remote_port": 31194,
            "data_ciphers": "AES-256-GCM:CHACHA20-POLY1305",
            "export_dir": self.export_dir,
            "days": 365,
            "renew_before_days": 30,
            "crl_days": 180,
            "totp_issuer": "acme-prod VPN",
            "comment": "acme/prod",
            "force": False,
            "reason": "cessation_of_operation",
        }
        params.update(overrides)
        return params

    def crl(self):
        with open(self.crl_path, "rb") as handle:
            return x509.load_pem_x509_crl(handle.read())

    def issued(self, name="alice"):
        with open(os.path.join(self.pki_dir, "issued", name + ".crt"), "rb") as handle:
            return x509.load_pem_x509_certificate(handle.read())

    def otp_secret(self, name="alice"):
        with open(os.path.join(self.otp_dir, name)) as handle:
            return handle.readline().strip()

    def exported(self, suffix, name="alice"):
        with open(os.path.join(self.export_dir, name + suffix), "rb") as handle:
            return handle.read()

    def tree(self):
        """Every file under the gateway's directories with its content (to prove that nothing changed)."""
        found = {}
        for top, _dirs, files in os.walk(self.root):
            for name in files:
                path = os.path.join(top, name)
                if not os.path.isfile(path):  # the fake management socket
                    continue
                with open(path, "rb") as handle:
                    found[path] = handle.read()
        return found


class FakeHost(vpn.Host):
    """Runs a fake qrencode, moves files with os.replace, records what must never be shown."""

    def __init__(self, now=NOW, qrencode=None):
        self.protected = set()
        self.commands = []
        self.clock = now

        def run(argv, data=None):
            self.commands.append((argv, data))
            if qrencode is not None:
                return qrencode(argv, data)
            return 0, PNG + data, ""

        super().__init__(run, os.replace, protect=self.protected.add, now=lambda: self.clock)


class FakeManagement:
    """OpenVPN's management interface on a unix socket: ``status 3``, ``client-kill``, ``quit``."""

    def __init__(self, path, clients):
        self.path = path
        self.clients = clients  # [(common name, client id)]
        self.commands = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(4)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _address = self.server.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb", buffering=0) as stream:
                stream.write(b">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\n")
                for raw in stream:
                    line = raw.decode().strip()
                    self.commands.append(line)
                    if line == "quit":
                        break
                    stream.write(self._answer(line).encode())

    def _answer(self, line):
        if line == "status 3":
            rows = [
                "TITLE\tOpenVPN 2.6.14",
                "HEADER\tCLIENT_LIST\tCommon Name\tReal Address\tVirtual Address\tVirtual IPv6 Address\t"
                "Bytes Received\tBytes Sent\tConnected Since\tConnected Since (time_t)\tUsername\tClient ID\t"
                "Peer ID\tData Channel Cipher",
            ]
            for cn, cid in self.clients:
                rows.append(
                    "CLIENT_LIST\t%s\t198.51.100.7:50000\t10.8.0.2\t\t1\t1\t2026-03-02 09:00:00\t1\t%s\t%s\t0\t"
                    "AES-256-GCM" % (cn, cn, cid)
                )
            return ">BYTECOUNT:1,1\n" + "\n".join([*rows, "END"]) + "\n"
        if line.startswith("client-kill "):
            self.clients = [(cn, cid) for cn, cid in self.clients if cid != line.split()[1]]
            return "SUCCESS: client-kill command succeeded\n"
        return "ERROR: unknown command\n"

    def close(self):
        self.server.close()
