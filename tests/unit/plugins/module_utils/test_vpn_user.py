# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the VPN user backend: a real PKI made with cryptography in a temporary directory, a fake
``qrencode``, a fake OpenVPN management socket; TOTP codes checked with pyotp."""

from __future__ import annotations

import base64
import datetime
import json
import os
import socket
import stat

import pyotp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.orocloud.ops.plugins.module_utils import _vpn_user as vpn
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.vpn_fake import (
    NOW,
    PNG,
    TLS_CRYPT,
    FakeHost,
    FakeManagement,
    Pki,
    make_ca,
    make_leaf,
    pem,
    write,
)

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # a well-known example seed, not a secret


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


def enrol(pki, host=None, check_mode=False, **overrides):
    return vpn.manage_user(pki.params(**overrides), host or FakeHost(), check_mode)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------------------------------------------ input checks


@pytest.mark.parametrize("name", ["alice", "a", "bob.smith", "ops_1", "x-y", "a" * 63])
def test_valid_names(name):
    vpn.check_name(name)


@pytest.mark.parametrize(
    "name", ["", "Alice", "1alice", "-alice", "al ice", "al/ice", "a..b", "a" * 64, "ali\nce", "élise", None]
)
def test_invalid_names_are_refused_naming_the_value(name):
    with pytest.raises(vpn.VpnPkiError, match="VPN user name"):
        vpn.check_name(name)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"days": 0}, "days must be at least 1"),
        ({"renew_before_days": -1}, "renew_before_days must be at least 0"),
        ({"crl_days": 0}, "crl_days must be at least 1"),
        ({"remote_port": 70000}, "remote_port 70000 is not a port number"),
        ({"remote_host": "vpn.example.com\nplugin /tmp/x.so"}, "remote_host"),
        ({"remote_host": "a b"}, "remote_host"),
        ({"data_ciphers": "AES-256-GCM CHACHA20"}, "data_ciphers"),
        ({"totp_issuer": "acme:prod"}, "totp_issuer"),
        ({"totp_issuer": " "}, "totp_issuer"),
        ({"comment": "two\nlines"}, "comment must be one line"),
    ],
)
def test_values_that_do_not_fit_a_profile_are_refused_before_anything_changes(pki, overrides, message):
    before = pki.tree()
    with pytest.raises(vpn.VpnPkiError, match=message):
        enrol(pki, **overrides)
    assert pki.tree() == before


# ------------------------------------------------------------------------------------ TOTP


def test_totp_secret_is_160_random_bits_in_base32():
    secrets_made = {vpn.new_totp_secret() for _count in range(20)}
    assert len(secrets_made) == 20
    for secret in secrets_made:
        assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        assert len(base64.b32decode(secret)) == 20


def test_secret_file_is_what_pam_google_authenticator_reads():
    content = vpn.totp_secret_file(SEED)
    assert content.splitlines() == [
        SEED,
        '" RATE_LIMIT 3 30',
        '" WINDOW_SIZE 3',
        '" DISALLOW_REUSE',
        '" TOTP_AUTH',
    ]


def test_otpauth_uri_is_read_by_authenticator_libraries():
    uri = vpn.otpauth_uri(SEED, "alice", "acme-prod VPN")
    assert uri.startswith("otpauth://totp/acme-prod%20VPN:alice?secret=" + SEED + "&")
    totp = pyotp.parse_uri(uri)
    assert totp.secret == SEED
    assert totp.name == "alice" and totp.issuer == "acme-prod VPN"
    assert totp.digits == 6 and totp.interval == 30


# ------------------------------------------------------------------------------------ enrolment


def test_enrol_in_check_mode_reports_and_writes_nothing(pki):
    before = pki.tree()
    result = enrol(pki, check_mode=True)
    assert result["changed"] is True and result["files"] == []
    assert result["reasons"] == ["no certificate", "no TOTP secret"]
    assert result["diff"]["before"] == {"certificate": None, "totp_secret": "absent"}
    after = result["diff"]["after"]
    assert after["certificate"]["serial"] and after == {"certificate": after["certificate"], "totp_secret": "present"}
    assert pki.tree() == before


def test_enrol_writes_certificate_profile_totp_and_qr_code(pki):
    host = FakeHost()
    result = enrol(pki, host)

    assert result["changed"] is True
    assert sorted(os.path.basename(f) for f in result["files"]) == ["alice-totp.png", "alice.otpauth", "alice.ovpn"]
    assert _mode(pki.export_dir) == 0o700
    for path in result["files"]:
        assert _mode(path) == 0o600

    # the certificate: CN, client EKU, signed by the CA, listed in the result, not revoked
    cert = pki.issued()
    assert cert.subject.rfc4514_string() == "CN=alice"
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert vpn.signed_by(cert, pki.ca_cert)
    assert result["certificate"]["serial"] == str(cert.serial_number)
    assert result["certificate"]["days_left"] == 365

    # the profile: every key inline, the private key matching the certificate, the static challenge
    profile = pki.exported(".ovpn").decode()
    for needle in (
        "remote 203.0.113.20 31194",
        "remote-cert-tls server",
        "verify-x509-name acme-prod-vpn1 name",
        "tls-version-min 1.2",
        "data-ciphers AES-256-GCM:CHACHA20-POLY1305",
        'static-challenge "TOTP code" 1',
        "auth-user-pass",
        "auth-nocache",
        "<tls-crypt>\n" + TLS_CRYPT.strip() + "\n</tls-crypt>",
        "<ca>\n" + pem(pki.ca_cert).decode().strip() + "\n</ca>",
        "<cert>\n" + pem(cert).decode().strip() + "\n</cert>",
    ):
        assert needle in profile
    key_pem = profile.split("<key>\n")[1].split("\n</key>")[0]
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    assert vpn._public_bytes(key.public_key()) == vpn._public_bytes(cert.public_key())

    # the TOTP secret: root's file, the same secret in the URI, the URI fed to qrencode on stdin
    secret = pki.otp_secret()
    assert _mode(os.path.join(pki.otp_dir, "alice")) == 0o600
    uri = pki.exported(".otpauth").decode().strip()
    assert pyotp.parse_uri(uri).secret == secret
    assert pki.exported("-totp.png") == PNG + uri.encode()
    ((argv, stdin),) = host.commands
    assert argv[0] == "qrencode" and stdin == uri.encode() and not any(secret in arg for arg in argv)

    # nothing secret is in the result; the key, the seed and the URI are registered as no_log values
    shown = json.dumps(result)
    assert secret not in shown and key_pem.split("\n")[1] not in shown
    assert {secret, uri, key_pem} <= host.protected


def test_enrolled_person_is_left_alone_in_check_mode_and_apply(pki):
    enrol(pki)
    tree = pki.tree()
    for check_mode in (True, False):
        result = enrol(pki, check_mode=check_mode)
        assert result["changed"] is False and result["files"] == [] and result["reasons"] == []
        assert result["diff"]["before"] == result["diff"]["after"]
        assert result["msg"] == "alice is enrolled; certificate valid for 365 more days"
    assert pki.tree() == tree


def test_enrolment_needs_an_export_dir(pki):
    with pytest.raises(vpn.VpnPkiError, match="export_dir is required to enrol alice"):
        enrol(pki, export_dir=None)


def test_certificate_is_renewed_before_expiry_and_the_old_one_revoked(pki):
    enrol(pki)
    old = pki.issued()
    secret = pki.otp_secret()
    later = FakeHost(now=NOW + datetime.timedelta(days=340))

    checked = enrol(pki, later, check_mode=True)
    assert checked["changed"] is True and checked["reasons"] == ["its certificate expires in 25 days"]

    result = enrol(pki, later)
    assert [os.path.basename(f) for f in result["files"]] == ["alice.ovpn"]  # TOTP kept: no new URI or QR code
    assert pki.otp_secret() == secret
    new = pki.issued()
    assert new.serial_number != old.serial_number
    assert result["revoked_serials"] == [str(old.serial_number)]
    (entry,) = list(pki.crl())
    assert entry.serial_number == old.serial_number
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.superseded
    assert os.path.exists(os.path.join(pki.pki_dir, "revoked", "alice-%d.crt" % old.serial_number))


def test_force_makes_a_new_certificate_and_a_new_totp_secret(pki):
    enrol(pki)
    secret = pki.otp_secret()
    result = enrol(pki, force=True)
    assert result["reasons"] == ["forced"]
    assert len(result["files"]) == 3
    assert pki.otp_secret() != secret
    assert len(list(pki.crl())) == 1


def test_lost_totp_secret_is_made_again_without_a_new_certificate(pki):
    enrol(pki)
    serial = pki.issued().serial_number
    os.unlink(os.path.join(pki.otp_dir, "alice"))
    result = enrol(pki)
    assert result["reasons"] == ["no TOTP secret"]
    assert sorted(os.path.basename(f) for f in result["files"]) == ["alice-totp.png", "alice.otpauth"]
    assert pki.issued().serial_number == serial


def test_certificate_of_a_replaced_ca_is_reissued(pki):
    enrol(pki)
    cert, key = make_ca()
    pki.install_ca(cert, key)
    result = enrol(pki)
    assert "its certificate was not issued by the current CA" in result["reasons"]
    assert vpn.signed_by(pki.issued(), cert)


def test_missing_ca_fails_clearly_and_changes_nothing(pki):
    os.unlink(os.path.join(pki.pki_dir, "ca.key"))
    before = pki.tree()
    with pytest.raises(vpn.VpnPkiError, match=r"the VPN CA is missing \(.*ca.key\): run the vpn_gateway role"):
        enrol(pki)
    assert pki.tree() == before


def test_ca_key_of_another_ca_is_refused(pki):
    _cert, other_key = make_ca()
    pki.install_ca(pki.ca_cert, other_key)
    with pytest.raises(vpn.VpnPkiError, match="does not belong to the certificate"):
        enrol(pki)


def test_failing_qrencode_leaves_the_gateway_unchanged(pki):
    before = pki.tree()
    host = FakeHost(qrencode=lambda argv, data: (1, b"", "qrencode: out of memory"))
    with pytest.raises(vpn.VpnPkiError, match=r"qrencode failed \(rc 1\): qrencode: out of memory"):
        enrol(pki, host)
    assert pki.tree() == before


def test_missing_qrencode_is_named(pki):
    def missing(argv, data):
        raise FileNotFoundError(2, "No such file or directory")

    with pytest.raises(vpn.VpnPkiError, match=r"cannot run qrencode \(Debian package qrencode\)"):
        enrol(pki, FakeHost(qrencode=missing))


def test_missing_tls_crypt_key_is_named(pki):
    os.unlink(pki.tls_crypt)
    with pytest.raises(vpn.VpnPkiError, match=r"the tls-crypt key .*tls-crypt\.key is missing"):
        enrol(pki)


# ------------------------------------------------------------------------------------ revocation


@pytest.fixture
def management(tmp_path):
    fakes = []

    def start(clients):
        fake = FakeManagement(str(tmp_path / "mgmt.sock"), clients)
        fakes.append(fake)
        return fake

    yield start
    for fake in fakes:
        fake.close()


def test_revoke_in_check_mode_reports_and_changes_nothing(pki, management):
    enrol(pki)
    fake = management([("alice", "7"), ("bob", "8")])
    before = pki.tree()
    result = enrol(pki, check_mode=True, state="absent", management_socket=fake.path)
    assert result["changed"] is True and result["sessions_dropped"] == 1
    assert result["diff"]["before"]["sessions"] == 1 and result["diff"]["after"] == {
        "certificate": None,
        "totp_secret": "absent",
        "sessions": 0,
    }
    assert pki.tree() == before
    assert not any(c.startswith("client-kill") for c in fake.commands)


def test_revoke_fills_the_crl_removes_the_secret_and_ends_the_session(pki, management):
    enrol(pki)
    serial = pki.issued().serial_number
    fake = management([("alice", "7"), ("bob", "8"), ("alice", "9")])

    result = enrol(pki, state="absent", management_socket=fake.path)

    assert result["changed"] is True
    assert result["revoked_serials"] == [str(serial)] and result["sessions_dropped"] == 2
    assert "certificate %d revoked, TOTP secret removed, 2 sessions ended" % serial in result["msg"]
    (entry,) = list(pki.crl())
    assert entry.serial_number == serial
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.cessation_of_operation
    )
    assert vpn.signed_by(pki.crl(), pki.ca_cert) and _mode(pki.crl_path) == 0o644
    assert not os.path.exists(os.path.join(pki.otp_dir, "alice"))
    assert not os.path.exists(os.path.join(pki.pki_dir, "issued", "alice.crt"))
    assert os.path.exists(os.path.join(pki.pki_dir, "revoked", "alice-%d.crt" % serial))
    assert [c for c in fake.commands if c.startswith("client-kill")] == ["client-kill 7 HALT", "client-kill 9 HALT"]
    assert fake.clients == [("bob", "8")]


def test_revoke_twice_changes_nothing_the_second_time(pki):
    enrol(pki)
    enrol(pki, state="absent")
    tree = pki.tree()
    for check_mode in (True, False):
        result = enrol(pki, check_mode=check_mode, state="absent")
        assert result["changed"] is False and result["revoked_serials"] == []
    assert pki.tree() == tree


def test_revoke_keeps_earlier_crl_entries(pki):
    enrol(pki)
    enrol(pki, name="bob", export_dir=pki.export_dir + "-bob")
    first = pki.issued().serial_number
    enrol(pki, state="absent")
    second = pki.issued("bob").serial_number
    enrol(pki, name="bob", state="absent", reason="key_compromise")
    assert {entry.serial_number for entry in pki.crl()} == {first, second}


def test_reenrolment_after_revocation_issues_a_new_certificate(pki):
    enrol(pki)
    old = pki.issued().serial_number
    enrol(pki, state="absent")
    result = enrol(pki)
    assert result["reasons"] == ["no certificate", "no TOTP secret"]
    assert pki.issued().serial_number != old


def test_unknown_person_is_nothing_to_revoke(pki):
    result = enrol(pki, name="nobody", state="absent")
    assert result["changed"] is False
    assert result["msg"] == "nobody has no certificate, TOTP secret or session on this gateway"


def test_session_of_a_person_without_certificate_is_still_ended(pki, management):
    fake = management([("mallory", "3")])
    result = enrol(pki, name="mallory", state="absent", management_socket=fake.path)
    assert result["changed"] is True and result["sessions_dropped"] == 1
    assert "client-kill 3 HALT" in fake.commands


def test_stale_management_socket_means_openvpn_is_not_running(pki, tmp_path):
    enrol(pki)
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file exists, nobody listens: nobody can be connected
    result = enrol(pki, state="absent", management_socket=path)
    assert result["changed"] is True and result["sessions_dropped"] == 0 and result["revoked_serials"]


def test_management_socket_that_does_not_answer_fails_before_any_change(pki, tmp_path, monkeypatch):
    enrol(pki)
    monkeypatch.setattr(vpn, "MANAGEMENT_TIMEOUT", 0.3)
    path = str(tmp_path / "busy.sock")
    busy = socket.socket(socket.AF_UNIX)
    busy.bind(path)
    busy.listen(1)  # accepts connections, never answers (another management client holds OpenVPN)
    before = pki.tree()
    try:
        with pytest.raises(vpn.VpnPkiError, match=r"OpenVPN's management socket .*busy\.sock"):
            enrol(pki, state="absent", management_socket=path)
    finally:
        busy.close()
    assert pki.tree() == before


# ------------------------------------------------------------------------------------ CRL and report


def test_build_crl_keeps_entries_and_adds_each_serial_once(pki):
    crl = x509.load_pem_x509_crl(vpn.build_crl(pki.ca_cert, pki.ca_key, None, [(5, "superseded")], now=NOW, days=10))
    again = x509.load_pem_x509_crl(
        vpn.build_crl(pki.ca_cert, pki.ca_key, crl, [(5, "unspecified"), (6, "key_compromise")], now=NOW, days=10)
    )
    assert sorted(entry.serial_number for entry in again) == [5, 6]
    assert vpn._crl_time(again, "next_update") == NOW + datetime.timedelta(days=10)


def _report(pki, now=NOW, warn_days=30):
    return vpn.pki_report(pki.pki_dir, pki.crl_path, warn_days, now)


def test_report_of_a_healthy_pki(pki):
    enrol(pki)
    report = _report(pki)
    assert report["problems"] == []
    assert report["ca"]["status"] == "ok" and report["ca"]["subject_ordered"] == [{"CN": "acme-prod VPN CA"}]
    assert report["server"]["status"] == "ok" and report["server"]["common_name"] == "acme-prod-vpn1"
    (client,) = report["clients"]
    assert client["name"] == "alice" and client["status"] == "ok" and client["revoked"] is False
    assert client["days_left"] == 365
    assert report["crl"]["status"] == "ok" and report["crl"]["days_left"] == 180 and report["crl"]["signed_by_ca"]


@pytest.mark.parametrize(
    "days, status, warnings",
    [
        (100, "ok", []),
        (170, "expiring", ["the certificate of alice expires in 25 days (2026-09-13T10:00:00Z), less than 30"]),
        (196, "expired", ["the certificate of alice expired on 2026-09-13T10:00:00Z"]),
    ],
)
def test_report_warns_ahead_of_client_expiry(pki, days, status, warnings):
    enrol(pki, days=195)
    report = _report(pki, now=NOW + datetime.timedelta(days=days), warn_days=30)
    assert report["clients"][0]["status"] == status
    assert [w for w in report["problems"] if "alice" in w] == warnings


def test_report_warns_before_the_crl_expires_and_once_it_has(pki):
    soon = _report(pki, now=NOW + datetime.timedelta(days=160))
    assert soon["crl"]["status"] == "expiring" and soon["crl"]["days_left"] == 20
    assert any("must be renewed within 20 days" in w for w in soon["problems"])
    late = _report(pki, now=NOW + datetime.timedelta(days=181))
    assert late["crl"]["status"] == "expired"
    assert any("OpenVPN refuses every connection" in w for w in late["problems"])


def test_report_of_missing_and_foreign_files(pki):
    os.unlink(pki.crl_path)
    write(os.path.join(pki.pki_dir, "server.crt"), pem(make_leaf(*make_ca(), "intruder")))
    report = _report(pki)
    assert report["crl"] == {"exists": False, "path": pki.crl_path, "status": "missing"}
    assert report["server"]["status"] == "invalid"
    assert any("was not issued by the CA" in w for w in report["problems"])
    assert any("is missing: OpenVPN refuses every connection" in w for w in report["problems"])


def test_report_marks_revoked_clients(pki):
    enrol(pki)
    serial = pki.issued().serial_number
    crl = vpn.build_crl(pki.ca_cert, pki.ca_key, None, [(serial, "unspecified")], now=NOW, days=180)
    write(pki.crl_path, crl, 0o644)
    (client,) = _report(pki)["clients"]
    assert client["revoked"] is True and client["status"] == "invalid"


def test_report_of_a_gateway_without_pki(tmp_path):
    report = vpn.pki_report(str(tmp_path / "pki"), str(tmp_path / "crl.pem"), 30, NOW)
    assert report["ca"]["status"] == "missing" and report["server"]["status"] == "missing"
    assert report["clients"] == [] and report["crl"]["status"] == "missing"
    assert len(report["problems"]) == 3


def test_unreadable_certificate_is_named(pki):
    write(os.path.join(pki.pki_dir, "ca.crt"), b"not a certificate")
    with pytest.raises(vpn.VpnPkiError, match=r"ca\.crt is not a PEM certificate"):
        _report(pki)
