# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.access_history module shell: main() with patched module arguments,
AnsibleModule.run_command and get_bin_path faked (journalctl), the host name fixed, homes and the operation log
in tmp_path."""

from __future__ import annotations

import datetime
import json
import os

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.module_utils import _access_history
from ansible_collections.orocloud.ops.plugins.module_utils import _operation_log as ol
from ansible_collections.orocloud.ops.plugins.modules import access_history
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.access_fake import (
    ED25519,
    ED25519_B,
    ED25519_B_FP,
    ED25519_FP,
)

UTC = datetime.timezone.utc
RECENT = datetime.datetime.now(UTC).replace(microsecond=0) - datetime.timedelta(hours=1)


def journal_line(message, moment, pid=700):
    micro = (moment - datetime.datetime(1970, 1, 1, tzinfo=UTC)) // datetime.timedelta(microseconds=1)
    return json.dumps({"__REALTIME_TIMESTAMP": str(micro), "_PID": str(pid), "MESSAGE": message})


class Node:
    """What the module sees of the node: journalctl (its path, its output, its exit code), the commands run,
    the homes with authorized_keys."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.journalctl = "/usr/bin/journalctl"
        self.lines = []
        self.rc = 0
        self.err = ""
        self.calls = []
        self.accounts = {}
        self.log = str(tmp_path / "operations.log")

    def home(self, name, *keys):
        home = self.tmp_path / "home" / name
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "authorized_keys").write_text("".join(key + "\n" for key in keys))
        self.accounts[name] = (os.getuid(), str(home))

    def run_command(self, argv, **kwargs):
        self.calls.append((list(argv), kwargs))
        return self.rc, "".join(line + "\n" for line in self.lines), self.err

    def operation(self, moment, action, user="alice", details=None):
        entry = ol.build_entry("patch", action, result="changed", user=user, login=user, host="acme-prod-web1",
                               environment="acme-prod", details=details, run_id="r1", now=moment)
        with open(self.log, "ab") as handle:
            handle.write(ol.encode(entry))


@pytest.fixture
def node(tmp_path, monkeypatch):
    fake = Node(tmp_path)
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, argv, **kw: fake.run_command(argv, **kw))
    monkeypatch.setattr(AnsibleModule, "get_bin_path",
                        lambda self, name, *args, **kw: fake.journalctl if name == "journalctl" else None)
    monkeypatch.setattr(access_history.socket, "gethostname", lambda: "web1.internal")
    monkeypatch.setattr(_access_history, "_default_account", fake.accounts.get)
    return fake


def run(capsys, **args):
    """Run main() as Ansible would; return (exit code, result dict)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        access_history.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_logins_and_operations_end_to_end(capsys, node):
    node.home("alice", ED25519)
    node.lines = [
        journal_line("Accepted publickey for alice from 10.231.1.30 port 51234 ssh2: ED25519 " + ED25519_FP, RECENT),
        journal_line("Failed publickey for alice from 10.231.1.30 port 51240 ssh2: ED25519 " + ED25519_B_FP,
                     RECENT + datetime.timedelta(seconds=30)),
        journal_line("Invalid user mallory from 203.0.113.9 port 2222", RECENT + datetime.timedelta(seconds=40)),
        "garbage",
    ]
    node.operation(RECENT + datetime.timedelta(seconds=5), "lock")
    node.operation(RECENT + datetime.timedelta(seconds=50), "switch_release", details={"token": "s3cr3t-t0ken"})
    users = [{"name": "alice", "environments": ["*"], "access": "sudo", "vpn": True,
              "ssh_keys": [{"key": ED25519}, {"key": ED25519_B, "expires": "2099-01-01"}]}]

    code, result = run(capsys, operations_log=node.log, users=users, since="1d", _ansible_check_mode=True)

    assert code == 0 and result["changed"] is False
    assert [(e["kind"], e["user"], e["result"]) for e in result["entries"]] == [
        ("login", "alice", "accepted"), ("operation", "alice", "changed"), ("login", "alice", "refused"),
        ("login", "mallory", "refused"), ("operation", "alice", "changed")]
    first, refused, last = (result["entries"][i] for i in (0, 2, 4))
    assert first["host"] == "web1.internal" and first["from"] == "10.231.1.30"
    assert first["key"] == {"type": "ED25519", "fingerprint": ED25519_FP, "comment": "sample-ed25519"}
    assert refused["key"]["comment"] == "second-ed25519" and refused["reason"] == "key not accepted"
    assert last["host"] == "acme-prod-web1" and last["details"] == {"token": "********"}
    assert result["people"]["alice"] == {"logins": 1, "refused": 1, "operations": 2,
                                         "first": first["time"], "last": last["time"]}
    assert result["count"] == 5 and result["malformed"] == 1
    assert result["msg"] == "5 entries of 2 people: 1 login, 2 refused, 2 operations; 1 malformed line skipped"
    (argv, kwargs), = node.calls
    assert argv[0] == "/usr/bin/journalctl" and argv[4].startswith("--since=@")
    assert argv[-2:] == ["SYSLOG_IDENTIFIER=sshd", "SYSLOG_IDENTIFIER=sshd-session"]
    assert kwargs == {"environ_update": {"LC_ALL": "C"}}
    dumped = json.dumps({k: v for k, v in result.items() if k != "invocation"})
    assert ED25519.split()[1] not in dumped and ED25519_B.split()[1] not in dumped and "s3cr3t" not in dumped


def test_defaults_read_both_kinds_up_to_1000_entries(capsys, node):
    node.lines = [journal_line("Accepted publickey for bob from 10.0.0.1 port 1 ssh2: ED25519 " + ED25519_FP,
                               RECENT + datetime.timedelta(seconds=i)) for i in range(1003)]
    code, result = run(capsys, operations_log=node.log)
    assert code == 0
    assert len(result["entries"]) == 1000 and result["count"] == 1003
    assert result["entries"][0]["time"] == (RECENT + datetime.timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result["people"]["bob"]["logins"] == 1003
    assert result["entries"][0]["key"]["comment"] is None  # no home, no records


def test_user_kinds_and_limit_reach_the_backend(capsys, node):
    node.lines = [journal_line("Accepted publickey for bob from 10.0.0.1 port 1 ssh2: ED25519 " + ED25519_FP, RECENT)]
    node.operation(RECENT, "lock", user="alice")
    node.operation(RECENT, "grant", user="bob")
    node.operation(RECENT, "unlock", user="alice")

    code, result = run(capsys, operations_log=node.log, user=["alice"], kinds=["operation"], limit=1)

    assert code == 0 and node.calls == []  # no journal for operations only
    assert [e["action"] for e in result["entries"]] == ["unlock"]
    assert result["count"] == 2 and list(result["people"]) == ["alice"]


def test_no_journalctl_needed_for_operations_only(capsys, node):
    node.journalctl = None
    code, result = run(capsys, operations_log=node.log, kinds=["operation"])
    assert code == 0 and result["entries"] == []
    code, result = run(capsys, operations_log=node.log)
    assert code == 1 and result["msg"].startswith("journalctl was not found on this node")


def test_journalctl_failing_fails_the_task(capsys, node):
    node.rc, node.err = 1, "Failed to open journal: Permission denied\n"
    code, result = run(capsys, operations_log=node.log)
    assert code == 1 and result["failed"] is True
    assert result["msg"].startswith("/usr/bin/journalctl --output=json")
    assert result["msg"].endswith("failed (rc=1): Failed to open journal: Permission denied")


def test_journalctl_stderr_is_a_warning(capsys, node):
    node.err = "Hint: You are currently not seeing messages from other users and the system.\n"
    code, result = run(capsys, operations_log=node.log, kinds=["login"])
    assert code == 0
    assert [w["event"]["msg"] for w in result["warnings"]] == [
        "journalctl: Hint: You are currently not seeing messages from other users and the system."]


@pytest.mark.parametrize(("args", "message"), [
    (dict(since="last tuesday"), "since: 'last tuesday' is neither an ISO 8601 date or time"),
    (dict(until="x"), "until: 'x' is neither"),
    (dict(limit=-1), "limit must be 0 or more, got -1"),
    (dict(kinds=["logins"]), "value of kinds must be one or more of: login, operation"),
    (dict(users=[{"ssh_keys": []}]), "users[0]: a user record is a mapping with a name"),
])
def test_bad_options_fail_clearly(capsys, node, args, message):
    code, result = run(capsys, operations_log=node.log, **args)
    assert code == 1 and message in result["msg"]
    assert node.calls == []


def test_an_unreadable_operation_log_fails_naming_it(capsys, node, tmp_path):
    code, result = run(capsys, operations_log=str(tmp_path), kinds=["operation"])
    assert code == 1 and result["msg"] == "cannot read the operation log %s: Is a directory" % tmp_path
