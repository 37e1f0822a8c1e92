# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.access_users module shell: main() with patched module arguments on the fake
host of the backend tests - the argument spec and its defaults, check mode, diff, apply, and fail_json."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.module_utils._access_users import Paths
from ansible_collections.orocloud.ops.plugins.modules import access_users
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.access_fake import (
    ED25519,
    ED25519_FP,
    RSA2048,
    RSA3072,
    FakeHost,
)


@pytest.fixture
def host(tmp_path, monkeypatch):
    fake = FakeHost(tmp_path / "root")
    monkeypatch.setattr(access_users, "Paths", lambda state_file: Paths(root=str(fake.root), state_file=state_file))
    monkeypatch.setattr(access_users._Runner, "run", lambda self, argv: fake.run(argv))
    monkeypatch.setattr(access_users._Runner, "bin", lambda self, name: fake.bin(name))
    return fake


def run(capsys, **args):
    """Run main() as Ansible would; return (exit code, result dict)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        access_users.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


USERS = [
    {"name": "alice", "environments": ["prod"], "ssh_keys": [{"key": ED25519, "expires": "2099-12-31"}]},
    {"name": "bob", "environments": ["*"], "access": "sudo", "ssh_keys": [{"key": RSA3072}]},
    {"name": "carol", "state": "absent"},
]


def test_check_apply_check_apply(capsys, host):
    """The four runs of every change-making module: check, apply, check again, apply again."""
    before = host.snapshot()
    code, checked = run(capsys, users=USERS, environment="prod", _ansible_check_mode=True, _ansible_diff=True)
    assert code == 0 and checked["changed"] is True
    assert host.snapshot() == before
    assert [d["after_header"] for d in checked["diff"]] == ["user alice", "user bob"]
    assert checked["users"]["alice"]["keys_added"] == [ED25519_FP + " sample-ed25519 (expires 2099-12-31)"]

    code, applied = run(capsys, users=USERS, environment="prod")
    assert code == 0 and applied["changed"] is True
    assert applied["totals"] == checked["totals"]
    assert applied["msg"] == "3 users, 2 changed: 2 created, 2 keys added, sudo 1 granted, 0 revoked"
    assert "diff" not in applied
    assert host.keys_file("alice").read_text().splitlines()[1] == 'expiry-time="209912310000Z" ' + ED25519
    assert host.members("adm") == ["bob"]  # the default access_groups

    code, rechecked = run(capsys, users=USERS, environment="prod", _ansible_check_mode=True, _ansible_diff=True)
    assert code == 0 and rechecked["changed"] is False and rechecked["diff"] == []
    code, again = run(capsys, users=USERS, environment="prod")
    assert code == 0 and again["changed"] is False


def test_a_weak_key_fails_with_every_problem_and_nothing_changes(capsys, host):
    before = host.snapshot()
    users = [*USERS, {"name": "dave", "environments": ["*"], "ssh_keys": [{"key": RSA2048}]}]

    code, result = run(capsys, users=users, environment="prod")

    assert code == 1 and result["failed"] is True
    assert result["errors"] == ["user dave: ssh_keys[0] (sample-rsa2048): RSA key of 2048 bits, at least 3072 are "
                                "required"]
    assert "dave" in result["msg"] and "nothing was changed" in result["msg"]
    assert host.snapshot() == before and host.calls == []


def test_unknown_record_fields_are_refused_by_the_argument_spec(capsys, host):
    code, result = run(capsys, users=[{"name": "alice", "ssh_key": ED25519}])
    assert code == 1 and "ssh_key" in result["msg"]


def test_warnings_for_accounts_left_alone(capsys, host):
    code, result = run(capsys, users=[{"name": "frank", "state": "absent"}])
    assert code == 0 and result["changed"] is False
    assert [w["event"]["msg"] for w in result["warnings"]] == [
        "user frank has no access here but its account is not managed by orocloud.ops.access_users: left alone"]


def test_options_reach_the_backend(capsys, host):
    options = {"today": "2026-01-01", "access_groups": {"logs": ["adm"]}, "shell": "/bin/sh", "purge": True}
    code, result = run(
        capsys,
        users=[{"name": "alice", "access": "logs", "ssh_keys": [{"key": ED25519, "expires": "2026-01-01"}]}],
        **options,
    )
    expired = result["users"]["alice"]["keys_expired"]
    assert code == 0 and expired == [ED25519_FP + " sample-ed25519 (expires 2026-01-01)"]
    assert host.calls[-1] == ["/usr/sbin/useradd", "--create-home", "--user-group", "--shell", "/bin/sh",
                              "--password", "*", "--groups", "adm", "alice"]
    assert not host.keys_file("alice").exists()


def test_key_types_choices_refuse_dsa(capsys, host):
    code, result = run(capsys, users=[], key_types=["ssh-dss"])
    assert code == 1 and "key_types" in result["msg"]
