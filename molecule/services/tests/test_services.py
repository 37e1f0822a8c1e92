# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify base, cache and message_queue on the real node of the `services` scenario.

The node and its settings come from the scenario's inventory (orocloud.ops.environment plus the
scenario's group_vars); the node is reached with testinfra's podman backend, and AMQP and Redis
also from the host, over the lab network, as a client on another node would.
"""

import json
import os
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

SCENARIO = Path(__file__).resolve().parents[1]
INVENTORY = SCENARIO / "inventory" / "services.orocloud.yml"
ROOT = SCENARIO.parents[1]


def _inventory():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"))
    out = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(INVENTORY), "--list"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    return json.loads(out, object_hook=lambda d: d["__ansible_unsafe"] if set(d) == {"__ansible_unsafe"} else d)


INV = _inventory()
NODE = sorted(INV["orocloud"]["hosts"])[0]
VARS = INV["_meta"]["hostvars"][NODE]
ADDRESS = VARS["orocloud_address"]
REDIS_PASSWORD = VARS["cache_password"]
MQ_PASSWORD = VARS["message_queue_password"]
APT_PROXY = "" if os.environ.get("OROCLOUD_LAB_APT_PROXY") == "off" else "http://10.232.3.1:3142"


@pytest.fixture(scope="module")
def host():
    return testinfra.get_host("podman://" + NODE)


def listeners(host, port):
    """Local addresses listening on a TCP port."""
    out = host.check_output(f"ss -Hltn 'sport = :{port}'")
    return sorted(line.split()[3].rsplit(":", 1)[0] for line in out.splitlines())


# ---------------------------------------------------------------- base


def test_journald_dropin_is_effective(host):
    merged = host.check_output("systemd-analyze cat-config systemd/journald.conf")
    # development profile: 256M, 1 week
    assert "SystemMaxUse=256M" in merged
    assert "MaxRetentionSec=1week" in merged
    assert "Storage=persistent" in merged
    # journald itself reports the limit it applies (after the handler restarted it)
    report = host.check_output("journalctl -b -u systemd-journald -o cat --grep '^System Journal' -n 1")
    assert "max 256.0M" in report, report


def test_apt_proxy(host):
    ours = host.file("/etc/apt/apt.conf.d/01orocloud-proxy")
    if APT_PROXY:
        assert ours.exists and ours.mode == 0o644
        assert 'Acquire::http::Proxy "%s";' % APT_PROXY in host.check_output("apt-config dump Acquire::http::Proxy")
    else:
        assert not ours.exists


def test_lab_apt_proxy_left_alone(host):
    if APT_PROXY:
        assert host.file("/etc/apt/apt.conf.d/00orocloud-lab-proxy").exists


def test_base_packages(host):
    for name in ("ca-certificates", "curl", "less", "lsof", "procps", "rsync", "vim-tiny", "sudo", "systemd-timesyncd"):
        assert host.package(name).is_installed, name


def test_time_sync_enabled_and_skipped_by_systemd_in_a_container(host):
    assert host.service("systemd-timesyncd").is_enabled
    show = host.check_output("systemctl show systemd-timesyncd -p ConditionResult -p ActiveState")
    # the unit's own ConditionVirtualization=!container: systemd does not start it here
    assert "ConditionResult=no" in show and "ActiveState=inactive" in show


def test_operations_group_and_sudo_rule(host):
    assert host.group("orocloud-ops").exists
    rule = host.file("/etc/sudoers.d/orocloud-operations")
    assert rule.user == "root" and rule.mode == 0o440
    host.run_expect([0], "visudo -c")
    # a member (made for the test, removed again) may run anything as root without a password
    host.run_expect([0], "useradd --no-create-home --groups orocloud-ops ops-verify")
    try:
        out = host.check_output("sudo -l -U ops-verify")
        assert "(ALL : ALL) NOPASSWD: ALL" in out
    finally:
        host.run_expect([0], "userdel ops-verify")


# ---------------------------------------------------------------- cache (Redis)


def redis(host, *args, password=True, address=ADDRESS):
    cmd = ["redis-cli", "-h", address, "--no-auth-warning"]
    if password:
        cmd += ["-a", REDIS_PASSWORD]
    words = cmd + list(args)
    return host.run(" ".join(["%s"] * len(words)), *words)


def test_redis_answers_on_the_application_address_and_loopback(host):
    assert redis(host, "ping").stdout.strip() == "PONG"
    assert redis(host, "ping", address="127.0.0.1").stdout.strip() == "PONG"


def test_redis_requires_the_password(host):
    out = redis(host, "ping", password=False)
    assert "NOAUTH" in out.stdout + out.stderr
    wrong = host.run("redis-cli -h %s --no-auth-warning -a wrong ping", ADDRESS)
    assert "WRONGPASS" in wrong.stdout + wrong.stderr


def test_redis_listens_only_on_the_application_address_and_loopback(host):
    assert listeners(host, 6379) == sorted(["127.0.0.1", ADDRESS])


def test_redis_settings(host):
    assert redis(host, "config", "get", "protected-mode").stdout.split() == ["protected-mode", "yes"]
    assert redis(host, "config", "get", "maxmemory").stdout.split() == ["maxmemory", str(256 * 1024 * 1024)]
    assert redis(host, "config", "get", "maxmemory-policy").stdout.split() == ["maxmemory-policy", "allkeys-lru"]
    conf = host.file("/etc/redis/orocloud-auth.conf")
    assert conf.user == "redis" and conf.mode == 0o640


def _resp(*words):
    return b"".join([b"*%d\r\n" % len(words)] + [b"$%d\r\n%s\r\n" % (len(w), w) for w in words])


def test_redis_from_another_node():
    """A client elsewhere in the subnet (the host, at the subnet's gateway address)."""
    with socket.create_connection((ADDRESS, 6379), timeout=5) as conn:
        conn.sendall(_resp(b"PING"))
        assert conn.recv(200).startswith(b"-NOAUTH")
        conn.sendall(_resp(b"AUTH", REDIS_PASSWORD.encode()) + _resp(b"PING"))
        reply = b""
        while reply.count(b"\r\n") < 2:
            reply += conn.recv(200)
        assert reply == b"+OK\r\n+PONG\r\n"


# ---------------------------------------------------------------- message_queue (RabbitMQ)


def rabbitmqctl(host, *args):
    return json.loads(host.check_output("rabbitmqctl --quiet %s --formatter json" % " ".join(args)))


def test_rabbitmq_runs(host):
    assert host.service("rabbitmq-server").is_running
    assert host.service("rabbitmq-server").is_enabled


def test_rabbitmq_vhost_user_permissions_and_no_guest(host):
    assert "oro" in [v["name"] for v in rabbitmqctl(host, "list_vhosts")]
    users = [u["user"] for u in rabbitmqctl(host, "list_users")]
    assert "oro" in users
    assert "guest" not in users
    perms = rabbitmqctl(host, "list_permissions", "-p", "oro")
    assert perms == [{"user": "oro", "configure": ".*", "write": ".*", "read": ".*"}]


def test_rabbitmq_listens_only_where_intended(host):
    assert listeners(host, 5672) == sorted(["127.0.0.1", ADDRESS])
    # Erlang distribution (CLI tools) and epmd on loopback only
    assert listeners(host, 25672) == ["127.0.0.1"]
    assert listeners(host, 4369) == ["127.0.0.1"]


def test_rabbitmq_password_on_stdin_authenticates(host):
    cmd = host.run("printf '%%s' %s | rabbitmqctl --quiet authenticate_user oro", MQ_PASSWORD)
    assert cmd.rc == 0, cmd.stderr


def _frame(payload):
    return struct.pack(">BHI", 1, 0, len(payload)) + payload + b"\xce"


def _read_method(conn):
    """(class, method) of the next frame on channel 0, or None when the server closed the connection."""
    try:
        head = _read_exactly(conn, 7)
        _kind, _channel, size = struct.unpack(">BHI", head)
        body = _read_exactly(conn, size + 1)
    except (ConnectionResetError, EOFError):
        return None
    return struct.unpack(">HH", body[:4])


def _read_exactly(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _shortstr(text):
    data = text.encode()
    return struct.pack(">B", len(data)) + data


def amqp_open(user, password, vhost):
    """Log in with AMQP 0-9-1 (PLAIN) and open the virtual host: True when the server lets us in."""
    with socket.create_connection((ADDRESS, 5672), timeout=10) as conn:
        conn.sendall(b"AMQP\x00\x00\x09\x01")
        assert _read_method(conn) == (10, 10)  # connection.start
        response = b"\0" + user.encode() + b"\0" + password.encode()
        start_ok = (struct.pack(">HH", 10, 11) + struct.pack(">I", 0) + _shortstr("PLAIN")
                    + struct.pack(">I", len(response)) + response + _shortstr("en_US"))
        conn.sendall(_frame(start_ok))
        if _read_method(conn) != (10, 30):  # connection.tune; anything else: refused
            return False
        conn.sendall(_frame(struct.pack(">HHHIH", 10, 31, 2047, 131072, 0)))  # tune-ok
        conn.sendall(_frame(struct.pack(">HH", 10, 40) + _shortstr(vhost) + _shortstr("") + b"\0"))
        opened = _read_method(conn) == (10, 41)  # connection.open-ok
        if opened:
            conn.sendall(_frame(struct.pack(">HHH", 10, 50, 200) + _shortstr("bye") + struct.pack(">HH", 0, 0)))
        return opened


def test_amqp_login_of_the_application_user():
    assert amqp_open("oro", MQ_PASSWORD, "oro")


def test_amqp_refuses_a_wrong_password_and_guest():
    assert not amqp_open("oro", "wrong", "oro")
    assert not amqp_open("guest", "guest", "/")
