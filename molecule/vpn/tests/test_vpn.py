# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VPN gateway on the real system: a real OpenVPN client on the internet side connects with its
certificate and a TOTP code computed here (pyotp, from the otpauth URI the enrolment fetched); missing,
wrong, replayed and somebody else's codes and revoked certificates are refused; a session outlives
renegotiations on its token; enrolment at -vvv shows no secret; the firewall lets in OpenVPN only."""

from __future__ import annotations

import ipaddress
import re
import stat
import time

import pytest
from conftest import (
    BRIDGE,
    GATEWAY,
    PAM_LOG,
    SCENARIO,
    SERVICE,
    fresh_code,
    hostvars,
    playbook,
    profile_dir,
    tasks,
    totp,
)
from vpnlab import journal, now, ssh_banner, wait_for

GW = hostvars(GATEWAY)
BRIDGE_DMZ = hostvars(BRIDGE)["orocloud_dmz_address"]
BRIDGE_APP = hostvars(BRIDGE)["orocloud_address"]
APPLICATION = GW["orocloud_network"]["application"]
POOL = ipaddress.ip_network(GW["vpn_gateway_pool"])
PUBLIC = GW["orocloud_public_address"]
PEOPLE = ("alice", "bob", "carol")


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def _wrong_code(user):
    """A six-digit code that no step of the accepted window gives."""
    authenticator = totp(user)
    valid = {authenticator.at(time.time() + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(code for code in ("%06d" % n for n in range(123456, 999999, 7919)) if code not in valid)


# ------------------------------------------------------------------------------------ the server


def test_openvpn_runs_as_configured(gateway):
    service = gateway.service(SERVICE)
    assert service.is_running and service.is_enabled
    assert gateway.check_output("openvpn --version").startswith("OpenVPN 2.6.")
    assert gateway.socket("udp://0.0.0.0:31194").is_listening
    config = gateway.file("/etc/openvpn/server/orocloud.conf")
    assert config.mode == 0o600 and config.user == "root"
    for line in (
        "port 31194",
        "proto udp",
        "topology subnet",
        "server %s %s" % (POOL.network_address, POOL.netmask),
        "tls-crypt /etc/openvpn/server/tls-crypt.key",
        "tls-version-min 1.2",
        "data-ciphers AES-256-GCM:CHACHA20-POLY1305",
        "remote-cert-tls client",
        "crl-verify /etc/openvpn/server/crl.pem",
        'plugin /usr/lib/openvpn/openvpn-plugin-auth-pam.so "openvpn login COMMONNAME verification OTP"',
        "auth-gen-token 43200",
        "reneg-sec 30",
        'push "route %s 255.255.255.192"' % APPLICATION.split("/")[0],
        'push "route %s 255.255.255.255"' % BRIDGE_DMZ,
    ):
        assert re.search("^%s$" % re.escape(line), config.content_string, re.M), line
    # OpenVPN dropped its privileges; the PAM plugin's helper process stayed root
    users = set(gateway.check_output("ps -o user= -C openvpn").split())
    assert users == {"nobody", "root"}
    # the plugin named in the configuration is the one Debian's openvpn package ships
    assert "/usr/lib/openvpn/openvpn-plugin-auth-pam.so" in gateway.check_output("dpkg -L openvpn")


def test_application_subnet_is_routed_through_the_bridge(gateway):
    assert "via %s" % BRIDGE_DMZ in gateway.check_output("ip -4 route show %s", APPLICATION)
    assert gateway.service("orocloud-vpn-routes.service").is_enabled
    assert gateway.file("/proc/sys/net/ipv4/ip_forward").content_string.strip() == "1"


def test_pki_and_secrets_are_root_only_on_the_gateway(gateway):
    for path, mode in (
        ("/etc/openvpn/pki", 0o700),
        ("/etc/openvpn/pki/ca.key", 0o600),
        ("/etc/openvpn/pki/server.key", 0o600),
        ("/etc/openvpn/server/tls-crypt.key", 0o600),
        ("/etc/openvpn/otp", 0o700),
        ("/etc/openvpn/server/crl.pem", 0o644),
    ):
        found = gateway.file(path)
        assert found.exists and found.user == "root" and found.mode == mode, path
    for person in PEOPLE:
        secret = gateway.file("/etc/openvpn/otp/" + person)
        assert secret.user == "root" and secret.mode in (0o600, 0o400)  # PAM rewrites it 0400
        assert '" DISALLOW_REUSE' in secret.content_string
    assert not gateway.file("/run/orocloud-vpn-export").exists  # the new profiles left with fetch


def test_controller_holds_each_profile_privately():
    assert _mode(profile_dir("alice").parent) == 0o700
    for person in PEOPLE:
        assert _mode(profile_dir(person)) == 0o700
        files = {p.name: p for p in profile_dir(person).iterdir()}
        assert set(files) == {person + ".ovpn", person + ".otpauth", person + "-totp.png"}
        assert all(_mode(p) == 0o600 for p in files.values())
        profile = files[person + ".ovpn"].read_text()
        for needle in ("remote %s 31194" % PUBLIC, 'static-challenge "TOTP code" 1', "<tls-crypt>", "<key>", "<cert>"):
            assert needle in profile
        assert "verify-x509-name %s name" % GATEWAY in profile
        assert files[person + "-totp.png"].read_bytes().startswith(b"\x89PNG")
        assert totp(person).issuer == "movpn-prod VPN" and totp(person).name == person


def test_firewall_lets_in_openvpn_only(gateway, client):
    table = gateway.check_output("nft list table inet orocloud_vpn_gateway")
    assert "udp dport 31194 accept" in table
    assert "policy drop" in table and "masquerade" in table
    # from the internet side: no SSH on the gateway, and no way to the bridge host without the VPN
    assert not client.check_output("ip -o link show type tun")  # no VPN client runs now
    assert ssh_banner(client, PUBLIC) == ""
    assert ssh_banner(client, BRIDGE_DMZ) == ""


# ------------------------------------------------------------------------------------ connecting


@pytest.fixture(scope="module")
def alice(vpn, gateway):
    """alice connected with her certificate and her current code, then the same code tried again at once."""
    since = now(gateway)
    code = fresh_code("alice", margin=15)
    made = time.time()
    session = vpn.connect("alice", code)
    replay = vpn.connect("alice", code)
    session.update(since=since, replay=replay, replay_after=time.time() - made)
    yield session
    vpn.disconnect(session)


def test_certificate_and_current_code_connect_and_reach_the_bridge(alice, vpn, client, bridge):
    assert alice["result"] == "connected", vpn.log(alice)
    assert ipaddress.ip_address(alice["address"]) in POOL
    routes = client.check_output("ip -4 route")
    assert re.search(r"^%s via \S+ dev tun\d+" % re.escape(APPLICATION), routes, re.M), routes
    assert re.search(r"^%s via \S+ dev tun\d+" % re.escape(BRIDGE_DMZ), routes, re.M), routes
    since = now(bridge)
    for address in (BRIDGE_DMZ, BRIDGE_APP):
        assert ssh_banner(client, address) == "SSH-2.0", address
    # masqueraded: the bridge host sees the gateway's DMZ address, not the pool
    seen = wait_for(lambda: journal(bridge, since, "-t", "sshd"), 10)
    assert GW["orocloud_address"] in seen and str(POOL.network_address)[:-1] not in seen


def test_replayed_code_is_refused(alice, vpn, gateway):
    assert alice["result"] == "connected"
    assert alice["replay_after"] < 30  # the same code, again within its 30 s step
    assert alice["replay"]["result"] == "auth_failed", vpn.log(alice["replay"])
    assert "Trying to reuse a previously used time-based code" in journal(gateway, alice["since"], "-t", PAM_LOG)
    assert vpn.running(alice)  # the refused attempt did not touch the live session


def test_session_outlives_renegotiation_without_a_new_code(alice, vpn, client, gateway):
    def renegotiated():
        log = journal(gateway, alice["since"], "-u", SERVICE)
        return "TLS: Username/auth-token authentication succeeded for username 'alice'" in log

    assert wait_for(renegotiated, 70, step=2), "no renegotiation on the token within 70 s (reneg-sec 30)"
    assert vpn.running(alice)
    assert ssh_banner(client, BRIDGE_DMZ) == "SSH-2.0"
    pam = journal(gateway, alice["since"], "-t", PAM_LOG)
    assert pam.count("Accepted google_authenticator for alice") == 1  # the one code, at login


def test_missing_or_wrong_code_is_refused(vpn, gateway):
    since = now(gateway)
    missing = vpn.connect("bob", None)
    assert missing["result"] == "auth_failed", vpn.log(missing)
    wrong = vpn.connect("bob", _wrong_code("bob"))
    assert wrong["result"] == "auth_failed", vpn.log(wrong)
    assert "Invalid verification code for bob" in journal(gateway, since, "-t", PAM_LOG)
    right = vpn.connect("bob", fresh_code("bob", margin=5))  # the certificate itself is fine
    assert right["result"] == "connected", vpn.log(right)
    vpn.disconnect(right)


def test_a_code_works_only_with_its_owners_certificate(vpn, gateway):
    since = now(gateway)
    # carol's certificate with alice's current code: checked against carol's secret
    theirs = vpn.connect("carol", totp("alice").now())
    assert theirs["result"] == "auth_failed", vpn.log(theirs)
    # carol's certificate and code, but alice's user name: refused by the client-connect check
    renamed = vpn.connect("alice", fresh_code("carol", margin=5), profile_of="carol")
    assert renamed["result"] == "auth_failed", vpn.log(renamed)
    log = journal(gateway, since, "-u", SERVICE)
    assert "user name 'alice' is not the certificate's common name" in log


# ------------------------------------------------------------------------------------ enrolment, revocation


@pytest.fixture(scope="module")
def erin():
    """erin enrolled by the users entry point at -vvv; the whole output."""
    proc = playbook(
        SCENARIO / "playbooks" / "users.yml", {"vpn_gateway_users": [{"name": "erin"}]}, 3, json_output=False
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_enrolment_at_vvv_shows_no_secret(erin):
    assert "(item=erin present)" in erin and "plugins/modules/vpn_user.py" in erin  # the enrolment's output
    secret = totp("erin").secret
    profile = (profile_dir("erin") / "erin.ovpn").read_text()
    key_lines = profile.split("<key>\n")[1].split("\n</key>")[0].splitlines()[1:-1]
    tls_crypt_lines = profile.split("<tls-crypt>\n")[1].split("\n</tls-crypt>")[0].splitlines()
    uri = (profile_dir("erin") / "erin.otpauth").read_text().strip()
    assert secret not in erin and uri not in erin
    assert not [line for line in key_lines if line in erin]
    assert not [line for line in tls_crypt_lines if len(line) == 32 and line in erin]


def test_revocation_ends_the_session_and_refuses_the_certificate(erin, vpn, gateway):
    session = vpn.connect("erin", fresh_code("erin", margin=5))
    assert session["result"] == "connected", vpn.log(session)
    since = now(gateway)

    proc = playbook(SCENARIO / "playbooks" / "users.yml", {"vpn_gateway_users": [{"name": "erin", "state": "absent"}]})
    results, stats = tasks(proc, GATEWAY)
    revoked = dict(results)["Enrol, renew or revoke each person on the gateway"]["results"][0]
    assert proc.returncode == 0 and stats["changed"] >= 1
    assert revoked["changed"] and revoked["sessions_dropped"] == 1 and len(revoked["revoked_serials"]) == 1

    assert wait_for(lambda: not vpn.running(session), 15), "the client kept running after revocation"
    assert "server-pushed-halt" in vpn.log(session)
    assert not gateway.file("/etc/openvpn/otp/erin").exists

    again = vpn.connect("erin", totp("erin").now())
    assert again["result"] != "connected", vpn.log(again)
    serial = revoked["revoked_serials"][0]
    assert wait_for(
        lambda: "certificate revoked: CN=erin, serial=%s" % serial in journal(gateway, since, "-u", SERVICE), 10
    )


def test_pki_report(gateway):
    proc = playbook(SCENARIO / "playbooks" / "pki_info.yml", {"pki_warn_days": 400})
    results, _stats = tasks(proc, GATEWAY)
    report = dict(results)["Read the PKI"]
    assert report["ca"]["status"] == "ok" and report["ca"]["days_left"] >= 3640
    assert report["server"]["status"] == "ok" and report["server"]["common_name"] == GATEWAY
    clients = {c["name"]: c for c in report["clients"]}
    assert set(PEOPLE) <= set(clients) and "erin" not in clients
    assert all(clients[p]["status"] == "expiring" and clients[p]["days_left"] in (364, 365) for p in PEOPLE)
    assert report["crl"]["status"] == "expiring" and report["crl"]["signed_by_ca"] and report["crl"]["revoked"] >= 1
    assert any("the certificate of alice expires in" in w for w in report["problems"])


# ------------------------------------------------------------------------------------ the role itself


def test_check_mode_reports_no_change(gateway):
    proc = playbook(SCENARIO / "converge.yml", check=True)
    results, stats = tasks(proc, GATEWAY)
    assert proc.returncode == 0, proc.stderr
    assert stats["changed"] == 0, [name for name, r in results if r.get("changed")]


def test_broken_configuration_is_refused_and_the_server_keeps_running(gateway):
    before = gateway.file("/etc/openvpn/server/orocloud.conf").sha256sum
    pid = gateway.check_output("systemctl show -p MainPID --value %s", SERVICE)
    proc = playbook(SCENARIO / "converge.yml", {"vpn_gateway_data_ciphers": ["AES-256-GCM", "NO-SUCH-CIPHER"]})
    results, _stats = tasks(proc, GATEWAY)
    failed = dict(results)["Write the server configuration (refused unless a trial server starts with it)"]
    assert proc.returncode != 0 and failed["failed"]
    assert "NO-SUCH-CIPHER" in failed["msg"] or "NO-SUCH-CIPHER" in failed.get("stderr", "")
    assert gateway.file("/etc/openvpn/server/orocloud.conf").sha256sum == before
    assert gateway.check_output("systemctl show -p MainPID --value %s", SERVICE) == pid
