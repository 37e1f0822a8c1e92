"""Access on the production lab, end to end: people from one list of user records get accounts and keys on
the bridge host and the application nodes and a VPN profile with TOTP (playbooks/access.yml); from the
client on the internet side a real OpenVPN client with the person's certificate and current code connects,
and the person's own key takes them through the bridge host to an application node - never directly; one
run offboards a person from every layer; a bad key fails the run before anything changes anywhere; no
secret shows in -vvv output or in a log; every login is in the per-person history with its key."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from labview import env_nodes, hostvars, inventory_source, node, probes, with_role
from scenario import ROOT, PlaybookRun, ansible_env, project_lab_dir
from vpnlab import CLIENT_DIR, Profiles, Vpn, journal, now, ssh_banner, wait_for

PLAYBOOK = ROOT / "playbooks" / "access.yml"
HISTORY = ROOT / "playbooks" / "access_history.yml"
(GATEWAY,) = with_role("vpn_gateway")
(BRIDGE,) = with_role("bridge")
WEB = with_role("web")
BEHIND_BRIDGE = [n for n in env_nodes() if hostvars(n)["orocloud_subnet"] == "application" and n != BRIDGE]
PEOPLE_NODES = [n for n in env_nodes() if n != GATEWAY]
BRIDGE_DMZ = hostvars(BRIDGE)["orocloud_dmz_address"]
BRIDGE_APP = hostvars(BRIDGE)["orocloud_address"]
ENVIRONMENT = hostvars(GATEWAY)["orocloud_environment"]
PROJECT = hostvars(GATEWAY)["orocloud_project"]
PROFILES = Profiles(project_lab_dir(PROJECT) / "vpn-profiles" / ("%s-%s" % (PROJECT, ENVIRONMENT)))
CLIENT = probes()[0]


def _keygen(directory, name):
    path = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name + "@lab", "-f", str(path)], check=True)
    fingerprint = subprocess.run(["ssh-keygen", "-lf", str(path) + ".pub"], check=True, capture_output=True,
                                 text=True).stdout.split()[1]
    return {"private": path, "public": (Path(str(path) + ".pub")).read_text().strip(), "fingerprint": fingerprint}


def _record(name, key, **extra):
    return dict({"name": name, "environments": [ENVIRONMENT], "vpn": True, "ssh_keys": [{"key": key["public"]}]},
                **extra)


def _access(users, tmp, verbosity=0):
    """playbooks/access.yml with ``users`` as the records; (rc, text output) at -v * verbosity."""
    records = tmp / "records.json"
    records.write_text(json.dumps({"access_users": users}))
    argv = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", inventory_source(), str(PLAYBOOK),
            "-e", "@" + str(records)]
    if verbosity:
        argv.append("-" + "v" * verbosity)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, env=ansible_env(), check=False)
    return proc.returncode, proc.stdout + proc.stderr


def _history(user):
    """playbooks/access_history.yml for ``user``: the entries of every node."""
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", inventory_source(), str(HISTORY),
         "-e", json.dumps({"access_history_users": [user]})],
        capture_output=True, text=True, timeout=600,
        env=ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"), check=False,
    )
    run = PlaybookRun(proc)
    assert run.rc == 0, proc.stdout[-3000:]
    return {host: run.result(host, "Read the node's history")["entries"] for host in env_nodes()
            if host in run.data["stats"] and host != GATEWAY}


def _state(name):
    """What a bad run must not change on a node: the account files, the keys state, the VPN's PKI index."""
    return node(name).check_output(
        "cat /etc/passwd /etc/shadow /etc/group /var/lib/orocloud/access_users.json 2>/dev/null | sha256sum;"
        " cat /etc/openvpn/pki/index.txt /etc/openvpn/server/crl.pem 2>/dev/null | sha256sum"
    )


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    directory = tmp_path_factory.mktemp("people")
    return {name: _keygen(directory, name) for name in ("alice", "bob", "carol")}


@pytest.fixture(scope="module")
def client_ssh(keys):
    """The client node: each person's key and an SSH configuration of their own (the jump reads it too)."""
    client = node(CLIENT)
    client.check_output("mkdir -p %s/ssh && chmod 700 %s/ssh", CLIENT_DIR, CLIENT_DIR)
    for name, key in keys.items():
        subprocess.run(["podman", "cp", str(key["private"]), "%s:%s/ssh/%s" % (CLIENT, CLIENT_DIR, name)], check=True)
        client.check_output("chmod 600 %s/ssh/%s", CLIENT_DIR, name)
        client.check_output(
            "printf 'Host *\\n  User %s\\n  IdentityFile %s/ssh/%s\\n  IdentitiesOnly yes\\n  BatchMode yes\\n"
            "  StrictHostKeyChecking no\\n  UserKnownHostsFile /dev/null\\n  ConnectTimeout 5\\n"
            "  LogLevel ERROR\\n' > %s/ssh/%s.config", name, CLIENT_DIR, name, CLIENT_DIR, name)

    def ssh(name, target, jump=True, command="id -un"):
        jump_option = "ProxyJump=%s" % (BRIDGE_DMZ if jump else "none")
        config = "%s/ssh/%s.config" % (CLIENT_DIR, name)
        return client.run("timeout 30 ssh -F %s -o %s %s %s", config, jump_option, target, command)

    return ssh


@pytest.fixture(scope="module")
def vpn():
    clients = Vpn(node(CLIENT), CLIENT, PROFILES)
    yield clients
    clients.stop_all()


@pytest.fixture(scope="module")
def granted(keys, tmp_path_factory):
    """alice (sudo) and bob (maintenance), both with the VPN, granted in one run at -vvv."""
    tmp = tmp_path_factory.mktemp("grant")
    users = [_record("alice", keys["alice"], access="sudo"), _record("bob", keys["bob"])]
    started = {name: now(node(name)) for name in env_nodes()}
    rc, output = _access(users, tmp, verbosity=3)
    assert rc == 0, output[-5000:]
    yield {"users": users, "output": output, "started": started, "tmp": tmp}
    # leave the lab as it was found: nobody has access (accounts stay, locked, for the record)
    rc, output = _access([], tmp)
    assert rc == 0, output[-3000:]


def test_one_run_grants_every_layer_with_a_summary(granted):
    output = granted["output"]
    summary = output[output.index("Show what changed on the VPN gateway"):]
    assert "VPN gateway:" in summary and "bridge host:" in summary and "application nodes:" in summary
    assert "%s: 2 people, 2 changed" % GATEWAY in summary
    for name in PEOPLE_NODES:
        assert "%s: 2 users, 2 changed" % name in summary, name
    for person in ("alice", "bob"):
        files = {p.name for p in PROFILES.dir(person).iterdir()}
        assert files == {person + suffix for suffix in (".ovpn", ".otpauth", "-totp.png")}


def test_vpn_then_bridge_then_node_with_the_persons_own_key(granted, vpn, client_ssh):
    session = vpn.connect("alice", PROFILES.fresh_code("alice", margin=5))
    assert session["result"] == "connected", vpn.log(session)
    try:
        since = now(node(WEB[0]))
        for web in WEB:
            result = client_ssh("alice", hostvars(web)["orocloud_address"])
            assert result.rc == 0 and result.stdout.strip() == "alice", (web, result.stderr)
        seen = wait_for(lambda: journal(node(WEB[0]), since, "-t", "sshd"), 10)
        assert "Accepted publickey for alice from %s" % BRIDGE_APP in seen
        # direct, from the VPN pool: the bridge host does not route, and the nodes take SSH from it only
        for target in BEHIND_BRIDGE:
            address = hostvars(target)["orocloud_address"]
            assert ssh_banner(node(CLIENT), address) == "", target
            assert client_ssh("alice", address, jump=False).rc != 0, target
    finally:
        vpn.disconnect(session)


def test_without_the_vpn_no_ssh_reaches_the_environment(granted, client_ssh):
    """From the internet side: the bridge host's DMZ address is out of reach, and the public addresses of
    the load balancer and the NAT node refuse every login (sshd takes logins from the bridge host only)."""
    assert ssh_banner(node(CLIENT), BRIDGE_DMZ) == ""
    for name in with_role("load_balancer") + with_role("nat"):
        public = hostvars(name)["orocloud_public_address"]
        since = now(node(name))
        assert client_ssh("alice", public, jump=False).rc != 0, name
        if ssh_banner(node(CLIENT), public):  # sshd answers there: it must refuse the login itself
            seen = wait_for(lambda n=name, s=since: journal(node(n), s, "-t", "sshd"), 10)
            assert "not listed in AllowUsers" in seen, (name, seen)


def test_every_login_is_in_the_persons_history_with_its_key(granted, keys, vpn, client_ssh):
    session = vpn.connect("bob", PROFILES.fresh_code("bob", margin=5))
    assert session["result"] == "connected", vpn.log(session)
    try:
        assert client_ssh("bob", hostvars(WEB[1])["orocloud_address"]).rc == 0
    finally:
        vpn.disconnect(session)
    history = _history("bob")
    logins = [e for e in history[WEB[1]] if e["kind"] == "login" and e["result"] == "accepted"]
    assert logins, history[WEB[1]]
    assert logins[-1]["user"] == "bob" and logins[-1]["from"] == BRIDGE_APP
    assert logins[-1]["key"]["fingerprint"] == keys["bob"]["fingerprint"]
    assert logins[-1]["key"]["comment"] == "bob@lab"
    bridge_logins = [e for e in history[BRIDGE] if e["kind"] == "login" and e["result"] == "accepted"]
    assert bridge_logins and bridge_logins[-1]["key"]["fingerprint"] == keys["bob"]["fingerprint"]
    operations = [e for e in history[WEB[1]] if e["kind"] == "operation"]
    assert all(e["user"] == "bob" for e in operations)


def test_no_secret_in_vvv_output_or_any_log(granted):
    output = granted["output"]
    assert "plugins/modules/vpn_user.py" in output  # the enrolment ran at -vvv
    for person in ("alice", "bob"):
        secret = PROFILES.totp(person).secret
        uri = (PROFILES.dir(person) / (person + ".otpauth")).read_text().strip()
        profile = (PROFILES.dir(person) / (person + ".ovpn")).read_text()
        key_lines = profile.split("<key>\n")[1].split("\n</key>")[0].splitlines()[1:-1]
        assert secret not in output and uri not in output, person
        assert not [line for line in key_lines if line in output], person
        for name in env_nodes():
            logs = node(name).run(
                "cat /var/log/orocloud/operations.log 2>/dev/null; journalctl --no-pager -o cat --since @%s",
                granted["started"][name],
            ).stdout
            assert secret not in logs, (person, name)
            assert not [line for line in key_lines[:3] if line in logs], (person, name)


def test_a_bad_key_fails_the_run_and_nothing_changes_anywhere(granted, keys):
    before = {name: _state(name) for name in env_nodes()}
    weak = subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "carol@old-laptop",
                           "-f", str(granted["tmp"] / "carol_rsa")], check=True)
    assert weak.returncode == 0
    users = granted["users"] + [
        {"name": "carol", "environments": [ENVIRONMENT], "vpn": True,
         "ssh_keys": [{"key": (granted["tmp"] / "carol_rsa.pub").read_text().strip()}]},
    ]
    rc, output = _access(users, granted["tmp"])
    assert rc != 0
    assert "user carol: ssh_keys[0] (carol@old-laptop): RSA key of 2048 bits, at least 3072 are required" in output
    assert {name: _state(name) for name in env_nodes()} == before
    assert not PROFILES.dir("carol").exists()


def test_offboarding_in_one_run_closes_every_layer(granted, keys, vpn, client_ssh):
    session = vpn.connect("bob", PROFILES.fresh_code("bob", margin=5))
    assert session["result"] == "connected", vpn.log(session)
    assert client_ssh("bob", hostvars(WEB[0])["orocloud_address"]).rc == 0
    code_before = PROFILES.totp("bob").now()

    users = [granted["users"][0], dict(granted["users"][1], state="absent")]
    rc, output = _access(users, granted["tmp"])
    assert rc == 0, output[-3000:]
    summary = output[output.index("Show what changed on the VPN gateway"):]
    assert "bob: certificate" in summary and "revoked" in summary
    for name in PEOPLE_NODES:
        assert "%s: 2 users, 1 changed: 1 locked" % name in summary, name

    # the VPN: the live session is dropped, the certificate refused
    assert wait_for(lambda: not vpn.running(session), 15), vpn.log(session)
    time.sleep(max(0, 31 - time.time() % 30) if PROFILES.totp("bob").now() == code_before else 0)
    again = vpn.connect("bob", PROFILES.totp("bob").now())
    assert again["result"] != "connected"
    # SSH: refused on every node, the account locked, its keys gone
    for name in PEOPLE_NODES:
        host = node(name)
        assert host.check_output("passwd -S bob").split()[1] == "L", name
        assert not host.file("/home/bob/.ssh/authorized_keys").exists, name
    alice = vpn.connect("alice", PROFILES.fresh_code("alice", margin=5))
    assert alice["result"] == "connected", vpn.log(alice)
    try:
        assert client_ssh("bob", hostvars(WEB[0])["orocloud_address"]).rc != 0
        assert client_ssh("alice", hostvars(WEB[0])["orocloud_address"]).rc == 0, "alice keeps her access"
    finally:
        vpn.disconnect(alice)
    # recorded, per node, with who ran it
    for name in PEOPLE_NODES:
        log = node(name).check_output("cat /var/log/orocloud/operations.log")
        entries = [json.loads(line) for line in log.splitlines()]
        last = [e for e in entries if e["operation"] == "access"][-1]
        assert last["result"] == "changed" and last["details"]["locked"] == 1, (name, last)
    gateway_log = node(GATEWAY).check_output("cat /var/log/orocloud/operations.log").splitlines()
    assert "bob" in json.loads(gateway_log[-1])["details"]["changed"][0]


def test_bridge_host_knows_every_node_behind_it():
    bridge = node(BRIDGE)
    known = bridge.check_output("cat /etc/ssh/ssh_known_hosts.orocloud")
    for name in BEHIND_BRIDGE:
        key = node(name).check_output("cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub")
        assert "%s,%s,%s %s" % (name, hostvars(name)["orocloud_node"], hostvars(name)["orocloud_address"], key) in known
    config = bridge.check_output("ssh -G %s", hostvars(WEB[0])["orocloud_node"])
    assert "hostname %s" % hostvars(WEB[0])["orocloud_address"] in config
    assert "stricthostkeychecking true" in config
    assert bridge.check_output("cat /proc/sys/net/ipv4/ip_forward") == "0"


def test_only_the_bridge_host_may_log_in_to_the_application_subnet():
    for name in BEHIND_BRIDGE:
        gateway = hostvars(GATEWAY)["orocloud_address"]
        effective = node(name).check_output("sshd -T -C user=root,host=x,addr=%s", gateway)
        assert "allowusers *@%s" % BRIDGE_APP in effective, name
    bridge = node(BRIDGE).check_output("sshd -T")
    assert "allowusers *@%s" % hostvars(GATEWAY)["orocloud_network"]["dmz"] in bridge


def test_removing_a_person_from_the_records_offboards_them_with_purge(granted, vpn):
    """With access_purge (the default), a person no longer listed at all loses access on every layer: the
    gateway revokes everybody enrolled and unlisted, the nodes lock every managed account not listed."""
    rc, output = _access([], granted["tmp"])
    assert rc == 0, output[-3000:]
    summary = output[output.index("Show what changed on the VPN gateway"):]
    assert "alice: certificate" in summary and "revoked" in summary
    again = vpn.connect("alice", PROFILES.fresh_code("alice", margin=5))
    assert again["result"] != "connected"
    for name in PEOPLE_NODES:
        assert node(name).check_output("passwd -S alice").split()[1] == "L", name
