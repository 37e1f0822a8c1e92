# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _access_users on a fake host (access_fake.FakeHost: a directory tree standing for ``/`` and
useradd/usermod/visudo that edit it the way Debian's do).

Every change-making case runs as the real module does - plan, check, apply - and again, to prove the second
run changes nothing and runs no command."""

from __future__ import annotations

import os
import stat
import time

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils import _access_users
from ansible_collections.orocloud.ops.plugins.module_utils._access_users import (
    AccessUsers,
    AccessUsersError,
    Paths,
    load_records,
)
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.access_fake import (
    DSA,
    ECDSA256,
    ECDSA256_FP,
    ED25519,
    ED25519_B,
    ED25519_B_FP,
    ED25519_C,
    ED25519_C_FP,
    ED25519_FP,
    RSA2048,
    RSA3072,
    RSA3072_FP,
    FakeHost,
)

TODAY = "2026-06-01"


@pytest.fixture(autouse=True)
def _owners(monkeypatch):
    """Record the owners the backend gives files instead of changing them (the tests need not run as root)."""
    owners = {}
    real_fchown = os.fchown

    def fchown(fd, uid, gid):
        owners[os.readlink("/proc/self/fd/%d" % fd)] = (uid, gid)
        if os.geteuid() == 0:
            real_fchown(fd, uid, gid)

    monkeypatch.setattr(os, "fchown", fchown)
    monkeypatch.setattr(os, "chown", lambda path, uid, gid: owners.__setitem__(str(path), (uid, gid)))
    return owners


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path / "root")


def backend(host, users, **options):
    options.setdefault("today", TODAY)
    options.setdefault("environment", "prod")
    return AccessUsers(host, users, paths=Paths(root=str(host.root)), **options)


def converge(host, users, check=False, **options):
    """What the module does: plan, then apply unless in check mode or nothing to do. Returns the backend."""
    access = backend(host, users, **options)
    access.plan()
    if access.changed() and not check:
        access.apply()
    return access


def user(name, *keys, **fields):
    record = {"name": name, "state": "present", "comment": None, "environments": ["*"], "access": "maintenance",
              "vpn": False, "ssh_keys": [k if isinstance(k, dict) else {"key": k, "expires": None} for k in keys]}
    record.update(fields)
    return record


def key_lines(host, name):
    return [line for line in host.keys_file(name).read_text().splitlines() if not line.startswith("#")]


# ---------------------------------------------------------------------------------------------- granting


def test_new_users_get_accounts_keys_groups_and_sudo_and_a_second_run_does_nothing(host, _owners):
    users = [
        user("alice", ED25519, {"key": ECDSA256, "expires": "2099-12-31"}, comment="Alice Example"),
        user("bob", RSA3072, access="sudo"),
        user("carol", ED25519_B, access="logs"),
    ]
    access = converge(host, users)

    programs = [call[0] for call in host.calls]
    assert programs == ["/usr/sbin/visudo", "/usr/sbin/useradd", "/usr/sbin/useradd", "/usr/sbin/useradd"]
    assert host.calls[1] == ["/usr/sbin/useradd", "--create-home", "--user-group", "--shell", "/bin/bash",
                             "--password", "*", "--comment", "Alice Example", "alice"]
    assert host.calls[2][-3:] == ["--groups", "adm,systemd-journal", "bob"]
    # the keys: exactly the record's, the expiring one with OpenSSH's expiry-time option (UTC)
    assert key_lines(host, "alice") == [ED25519, 'expiry-time="209912310000Z" ' + ECDSA256]
    keys_file = host.keys_file("alice")
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys_file.parent.stat().st_mode) == 0o700
    uid = int(host._fields("passwd", "alice")[2])
    # written to a temporary file in ~/.ssh, given to the user, then renamed over authorized_keys
    assert [owner for path, owner in _owners.items() if "/home/alice/.ssh/.authorized_keys." in path] == [(uid, uid)]
    # sudo only for the access level sudo, in a drop-in of its own, mode 0440
    assert host.sudoers("bob").read_text().splitlines()[-1] == "bob ALL=(ALL:ALL) NOPASSWD: ALL"
    assert stat.S_IMODE(host.sudoers("bob").stat().st_mode) == 0o440
    assert not host.sudoers("alice").exists() and not host.sudoers("carol").exists()
    # the log groups for logs and sudo
    assert host.members("adm") == ["bob", "carol"] and host.members("systemd-journal") == ["bob", "carol"]
    assert host.shadow("alice")[1] == "*"

    summary = access.summaries()
    assert summary["alice"]["created"] and summary["alice"]["keys_added"] == [
        ED25519_FP + " sample-ed25519", ECDSA256_FP + " sample-ecdsa256 (expires 2099-12-31)"]
    assert summary["bob"]["sudo"] and summary["bob"]["sudo_changed"]
    assert summary["carol"]["groups_added"] == ["adm", "systemd-journal"]
    assert access.totals() == {"users": 3, "present": 3, "changed": 3, "created": 3, "locked": 0, "unlocked": 0,
                               "keys_added": 4, "keys_removed": 0, "keys_expired": 0, "sudo_granted": 1,
                               "sudo_revoked": 0}
    assert access.message() == "3 users, 3 changed: 3 created, 4 keys added, sudo 1 granted, 0 revoked"

    before = host.snapshot()
    host.calls.clear()
    again = converge(host, users)
    assert not again.changed() and host.calls == [] and host.snapshot() == before
    assert again.message() == "3 users, 0 changed"


def test_check_mode_plans_everything_and_changes_nothing(host):
    before = host.snapshot()
    access = converge(host, [user("alice", ED25519), user("bob", RSA3072, access="sudo")], check=True)

    assert access.changed()
    assert [call[0] for call in host.calls] == ["/usr/sbin/visudo"]  # the sudo rule is checked all the same
    assert host.snapshot() == before
    diffs = access.diffs()
    assert [d["before_header"] for d in diffs] == ["user alice", "user bob"]
    assert diffs[0]["before"] == "account: absent\ngroups: -\nsudo: no\nkeys:\n  -\n"
    assert diffs[1]["after"] == ("account: present\ngroups: adm, systemd-journal\nsudo: yes\nkeys:\n"
                                 "  %s sample-rsa3072\n" % RSA3072_FP)


def test_keys_not_in_the_record_are_removed_and_authorized_keys2_too(host):
    converge(host, [user("alice", ED25519, ED25519_B)])
    keys_file = host.keys_file("alice")
    keys_file.write_text(keys_file.read_text() + ED25519_C + "\n")
    (keys_file.parent / "authorized_keys2").write_text(ED25519_C + "\n")

    access = converge(host, [user("alice", ED25519)])

    assert key_lines(host, "alice") == [ED25519]
    assert not (keys_file.parent / "authorized_keys2").exists()
    assert access.summaries()["alice"]["keys_removed"] == [ED25519_B_FP + " second-ed25519",
                                                           ED25519_C_FP + " third-ed25519"]
    assert access.totals()["keys_removed"] == 2


def test_not_exclusive_keeps_foreign_keys_but_drops_keys_it_wrote_earlier(host):
    converge(host, [user("alice", ED25519, ED25519_B)])
    keys_file = host.keys_file("alice")
    keys_file.write_text(keys_file.read_text() + 'from="10.0.0.1" ' + ED25519_C + "\n")

    access = converge(host, [user("alice", ED25519)], exclusive=False)

    assert key_lines(host, "alice") == [ED25519, 'from="10.0.0.1" ' + ED25519_C]
    assert access.summaries()["alice"]["keys_removed"] == [ED25519_B_FP + " second-ed25519"]
    assert not converge(host, [user("alice", ED25519)], exclusive=False).changed()


def test_a_changed_file_mode_or_expiry_is_rewritten(host):
    converge(host, [user("alice", ED25519)])
    host.keys_file("alice").chmod(0o644)
    assert converge(host, [user("alice", ED25519)]).changed()
    assert stat.S_IMODE(host.keys_file("alice").stat().st_mode) == 0o600

    access = converge(host, [user("alice", {"key": ED25519, "expires": "2030-01-01"})])
    assert access.changed() and access.summaries()["alice"]["keys_added"] == []
    assert key_lines(host, "alice") == ['expiry-time="203001010000Z" ' + ED25519]


# ---------------------------------------------------------------------------------------------- expiry


def test_expired_keys_are_not_written_and_are_removed_on_their_day(host):
    users = [user("alice", ED25519, {"key": ED25519_B, "expires": "2026-06-02"},
                  {"key": ED25519_C, "expires": "2020-01-01"})]
    first = converge(host, users, today="2026-06-01")
    assert key_lines(host, "alice") == [ED25519, 'expiry-time="202606020000Z" ' + ED25519_B]
    assert first.summaries()["alice"]["keys_expired"] == [ED25519_C_FP + " third-ed25519 (expires 2020-01-01)"]

    assert not converge(host, users, today="2026-06-01").changed()
    on_the_day = converge(host, users, today="2026-06-02")
    assert key_lines(host, "alice") == [ED25519]
    assert on_the_day.summaries()["alice"]["keys_removed"] == [ED25519_B_FP + " second-ed25519 (expires 2026-06-02)"]
    assert on_the_day.totals()["keys_expired"] == 2


def test_a_person_whose_every_key_expired_keeps_the_account_but_no_keys_file(host):
    converge(host, [user("alice", {"key": ED25519, "expires": "2026-07-01"})])
    converge(host, [user("alice", {"key": ED25519, "expires": "2026-07-01"})], today="2026-07-01")

    assert not host.keys_file("alice").exists()
    assert host.shadow("alice")[1] == "*"


# ---------------------------------------------------------------------------------------------- revoking


def granted(host):
    users = [user("alice", ED25519, access="sudo"), user("bob", ED25519_B, access="logs")]
    converge(host, users)
    host.calls.clear()
    return users


def test_absent_locks_the_account_and_removes_keys_groups_and_sudo(host):
    users = granted(host)
    users[0]["state"] = "absent"
    access = converge(host, users)

    assert host.calls == [["/usr/sbin/usermod", "--lock", "--expiredate", "1", "--groups", "", "alice"]]
    assert host.shadow("alice")[1] == "!*" and host.shadow("alice")[7] == "1"
    assert not host.keys_file("alice").exists() and not host.sudoers("alice").exists()
    assert host.members("adm") == ["bob"]
    summary = access.summaries()["alice"]
    assert summary["state"] == "locked" and summary["locked"] and summary["sudo_changed"] and not summary["sudo"]
    assert summary["keys_removed"] == [ED25519_FP + " sample-ed25519"]
    assert access.diffs()[0]["after"] == "account: locked\ngroups: -\nsudo: no\nkeys:\n  -\n"
    # the home directory and the account stay: what the person did remains traceable
    assert host.home("alice").is_dir() and "alice" in host.accounts()

    host.calls.clear()
    assert not converge(host, users).changed() and host.calls == []


def test_re_adding_a_locked_person_unlocks_the_account(host):
    users = granted(host)
    users[0]["state"] = "absent"
    converge(host, users)
    users[0]["state"] = "present"
    host.calls.clear()

    access = converge(host, users)

    assert host.calls[0][:4] == ["/usr/sbin/visudo", "-c", "-q", "-f"]
    assert host.calls[1:] == [["/usr/sbin/usermod", "--unlock", "--expiredate", "", "--groups", "adm,systemd-journal",
                               "alice"]]
    assert host.shadow("alice")[1] == "*" and host.shadow("alice")[7] == ""
    assert access.summaries()["alice"]["unlocked"] and key_lines(host, "alice") == [ED25519]
    assert host.sudoers("alice").exists()


def test_an_environment_not_granted_any_more_locks_the_account_there(host):
    users = [user("alice", ED25519, environments=["prod", "stage"])]
    converge(host, users)
    users[0]["environments"] = ["stage"]

    access = converge(host, users, environment="prod")

    assert access.summaries()["alice"]["state"] == "locked"
    assert host.shadow("alice")[1].startswith("!")


def test_records_of_other_environments_create_nothing(host):
    users = [user("alice", ED25519, environments=["stage"]), user("bob", ED25519_B, environments=["acme_*"]),
             user("carol", ED25519_C, environments=["*"])]
    access = converge(host, users, environment="acme_prod")

    assert {n: s["state"] for n, s in access.summaries().items()} == {"alice": "absent", "bob": "present",
                                                                      "carol": "present"}
    assert "alice" not in host.accounts()


def test_without_an_environment_every_present_record_applies(host):
    access = converge(host, [user("alice", ED25519, environments=None)], environment=None)
    assert access.summaries()["alice"]["created"]


def test_purge_locks_managed_accounts_no_longer_listed_and_never_others(host):
    users = granted(host)
    # frank's account was made by hand (uid 1500, keys of his own): not managed, never touched
    frank_keys = host.keys_file("frank").read_text()

    without_purge = converge(host, users[1:])
    assert not without_purge.changed()

    access = converge(host, users[1:], purge=True)
    assert access.summaries()["alice"]["state"] == "locked"
    assert "frank" not in access.summaries()
    assert host.shadow("frank")[1] == "*" and host.keys_file("frank").read_text() == frank_keys
    assert host.calls == [["/usr/sbin/usermod", "--lock", "--expiredate", "1", "--groups", "", "alice"]]


def test_an_absent_record_of_an_account_made_by_hand_is_left_alone_with_a_warning(host):
    access = converge(host, [user("frank", state="absent"), user("root", state="absent")])

    assert not access.changed() and host.calls == []
    assert access.warnings == [
        "user frank has no access here but its account is not managed by orocloud.ops.access_users: left alone",
        "user root has no access here but its account is a system account: left alone",
    ]


def test_a_listed_account_made_by_hand_is_adopted(host):
    access = converge(host, [user("frank", ED25519_C, ED25519)])

    summary = access.summaries()["frank"]
    assert summary["adopted"] and not summary["created"] and summary["keys_added"] == [ED25519_FP + " sample-ed25519"]
    assert host.calls == []
    assert access.diffs()[0]["before"].startswith("account: present (not managed)")
    # managed from now on: purge locks it when it leaves the list
    assert converge(host, [], purge=True).summaries()["frank"]["locked"]


def test_a_stale_state_entry_is_not_trusted(host):
    converge(host, [user("alice", ED25519)])
    state = host.path("/var/lib/orocloud/access_users.json")
    state.write_text(state.read_text().replace('"uid": 1501', '"uid": 4242'))

    access = converge(host, [], purge=True)

    assert access.summaries() == {}  # the uid does not match: not the account the module made
    assert host.shadow("alice")[1] == "*"
    assert '"alice"' not in state.read_text()


def test_processes_of_a_locked_account_are_ended(host, monkeypatch):
    users = granted(host)
    uid = int(host._fields("passwd", "alice")[2])
    for pid in ("4001", "4002", "4003"):
        (host.root / "proc" / pid).mkdir()
    real_stat = os.stat

    def fake_stat(path, *args, **kwargs):
        result = real_stat(path, *args, **kwargs)
        if str(path).startswith(str(host.root / "proc") + "/"):
            owner = uid if str(path).endswith(("4001", "4003")) else 0
            return os.stat_result((result.st_mode, 0, 0, 0, owner, 0, 0, 0, 0, 0))
        return result

    killed = []
    monkeypatch.setattr(os, "stat", fake_stat)
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append((pid, sig)))
    users[0]["state"] = "absent"

    access = converge(host, users)

    assert sorted(killed) == [(4001, 9), (4003, 9)]
    assert access.summaries()["alice"]["sessions_ended"] == 2


# ---------------------------------------------------------------------------------------------- access levels


def test_lowering_the_access_level_takes_sudo_and_groups_away_but_keeps_other_groups(host):
    users = granted(host)
    host._set_member("sudo", "alice", True)  # a group the access levels do not name
    users[0]["access"] = "logs"
    access = converge(host, users)
    assert not host.sudoers("alice").exists() and access.summaries()["alice"]["sudo_changed"]
    assert host.calls == []  # same groups for logs and sudo: no usermod

    users[0]["access"] = "maintenance"
    access = converge(host, users)
    assert host.calls == [["/usr/sbin/usermod", "--groups", "sudo", "alice"]]
    assert access.summaries()["alice"]["groups_removed"] == ["adm", "systemd-journal"]
    assert host.members("sudo") == ["alice"]


def test_access_groups_are_configurable_and_must_exist(host):
    before = host.snapshot()
    with pytest.raises(AccessUsersError, match="group ops-readers of the access levels does not exist"):
        converge(host, [user("alice", ED25519, access="logs")], access_groups={"logs": ["ops-readers"]})
    assert host.snapshot() == before and host.calls == []


def test_sudo_with_a_password(host):
    converge(host, [user("alice", ED25519, access="sudo")], sudo_nopasswd=False)
    assert host.sudoers("alice").read_text().splitlines()[-1] == "alice ALL=(ALL:ALL) ALL"


# ---------------------------------------------------------------------------------------------- refusals


def test_a_weak_key_fails_before_anything_changes_and_names_user_and_key(host):
    users = granted(host)
    before = host.snapshot()
    users[0]["state"] = "absent"  # a change that must not happen either
    users.append(user("carol", ED25519_C, RSA2048.rsplit(" ", 1)[0] + " carol@old-laptop"))
    users.append(user("dave", DSA))

    with pytest.raises(AccessUsersError) as info:
        converge(host, users)

    assert info.value.errors == [
        "user carol: ssh_keys[1] (carol@old-laptop): RSA key of 2048 bits, at least 3072 are required",
        "user dave: ssh_keys[0] (sample-dsa1024): DSA keys are refused (1024 bits only; OpenSSH disabled them in 7.0)",
    ]
    assert str(info.value).startswith("the user records are invalid (2 problems), nothing was changed:")
    assert RSA2048.split()[1][:30] not in str(info.value)
    assert host.calls == [] and host.snapshot() == before


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([user("Alice", ED25519)], "user Alice: the name 'Alice' is not a valid user name"),
        ([user("al.ice", ED25519)], "the name 'al.ice' is not a valid user name"),
        ([user("alice"), user("alice")], "user alice: listed twice (users[0] and users[1])"),
        ([user("alice", ED25519, ED25519)], "user alice: ssh_keys[1] (sample-ed25519): the key %s is listed twice"
         % ED25519_FP),
        ([user("alice", ED25519), user("bob", ED25519)], "user bob: ssh_keys[0] (sample-ed25519): the key %s is also "
         "a key of user alice" % ED25519_FP),
        ([user("alice", {"key": ED25519, "expires": "31.12.2026"})], "expires '31.12.2026' is not a date"),
        ([user("alice", {"key": ED25519, "expires": "2026-02-30"})], "expires '2026-02-30' is not a valid date"),
        ([user("alice", comment="a:b")], "user alice: the comment must not contain ':'"),
        ([user("alice", environments=None)], "user alice: environments is required"),
        ([user("alice", "ssh-rsa " + ED25519.split()[1] + " alice@x")],
         "user alice: ssh_keys[0] (alice@x): the type prefix ssh-rsa does not match the key's inner type ssh-ed25519"),
        ([user("alice", "ssh-ed25519 AAAA%%%% alice@x")], "user alice: ssh_keys[0] (alice@x): the key data is not "
         "valid base64"),
    ],
    ids=["upper-case", "dot", "twice", "key-twice", "shared-key", "date-format", "date-invalid", "comment",
         "no-environments", "prefix-mismatch", "bad-base64"],
)
def test_invalid_records_are_refused(host, records, message):
    with pytest.raises(AccessUsersError) as info:
        backend(host, records)
    assert message in str(info.value)


def test_every_record_is_checked_also_absent_ones_and_other_environments(host):
    records = [user("alice", RSA2048, environments=["stage"]), user("bob", DSA, state="absent")]
    with pytest.raises(AccessUsersError) as info:
        backend(host, records)
    assert [e.split(":")[0] for e in info.value.errors] == ["user alice", "user bob"]


def test_key_types_can_be_restricted(host):
    with pytest.raises(AccessUsersError, match="key type ecdsa-sha2-nistp256 is not allowed here"):
        backend(host, [user("alice", ECDSA256)], key_types=["ssh-ed25519"])


def test_min_rsa_bits_cannot_go_below_the_policy(host):
    with pytest.raises(AccessUsersError, match="min_rsa_bits 2048 is below the key policy's 3072 bits"):
        backend(host, [], min_rsa_bits=2048)


def test_today_must_be_a_date(host):
    with pytest.raises(AccessUsersError, match="today 'tomorrow' is not a date"):
        backend(host, [], today="tomorrow")


def test_a_system_account_cannot_be_given_access(host):
    before = host.snapshot()
    with pytest.raises(AccessUsersError, match=r"user daemon: uid 1 is a system account \(outside 1000-60000"):
        converge(host, [user("alice", ED25519), user("daemon", ED25519_B)])
    assert host.snapshot() == before and host.calls == []


def test_a_group_without_its_user_is_refused(host):
    host._append("group", "gina:x:1600:")
    with pytest.raises(AccessUsersError, match="user gina: a group of that name exists but no user"):
        converge(host, [user("gina", ED25519)])


def test_a_sudo_rule_that_visudo_refuses_changes_nothing(host, monkeypatch):
    monkeypatch.setattr(_access_users.AccessUsers, "sudo_rule", lambda self, name: b"%s ALL=(ALL:ALL NOPASSWD ALL\n"
                        % name.encode())
    before = host.snapshot()
    with pytest.raises(AccessUsersError, match=r"the sudo rules do not pass visudo -c, nothing was changed: .*syntax"):
        converge(host, [user("alice", ED25519, access="sudo")])
    assert host.snapshot() == before


def test_missing_tools_change_nothing(host):
    host.missing = {"useradd"}
    before = host.snapshot()
    with pytest.raises(AccessUsersError, match="useradd not found on this host"):
        converge(host, [user("alice", ED25519)])
    assert host.snapshot() == before


def test_a_failing_command_reports_what_was_done(host):
    host.failures["usermod"] = (1, "usermod: cannot lock /etc/passwd; try again later.")
    users = granted(host)
    users[0]["state"] = "absent"
    users.append(user("carol", ED25519_C))
    with pytest.raises(AccessUsersError) as info:
        converge(host, users)
    assert str(info.value) == ("user alice: usermod failed (rc 1): usermod: cannot lock /etc/passwd; try again "
                               "later.")
    assert set(info.value.users) == {"alice", "bob", "carol"}


def test_shadow_that_cannot_be_read_says_so(host, monkeypatch):
    monkeypatch.setattr(_access_users, "_read_lines", _deny(host.path("/etc/shadow"), _access_users._read_lines))
    with pytest.raises(AccessUsersError, match=r"cannot read .*/etc/shadow: run the module as root"):
        converge(host, [user("alice", ED25519)])


def _deny(path, real):
    def read(name):
        if str(name) == str(path):
            raise PermissionError(13, "Permission denied", str(name))
        return real(name)

    return read


# ---------------------------------------------------------------------------------------------- links


def test_a_link_planted_as_ssh_directory_is_replaced_not_followed(host, tmp_path):
    converge(host, [user("alice", ED25519)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ssh = host.home("alice") / ".ssh"
    for child in ssh.iterdir():
        child.unlink()
    ssh.rmdir()
    ssh.symlink_to(elsewhere)

    assert converge(host, [user("alice", ED25519)]).changed()

    assert not ssh.is_symlink() and ssh.is_dir()
    assert key_lines(host, "alice") == [ED25519]
    assert list(elsewhere.iterdir()) == []


def test_a_link_planted_as_authorized_keys_is_replaced_not_followed(host, tmp_path):
    converge(host, [user("alice", ED25519)])
    target = tmp_path / "target"
    target.write_text("precious\n")
    host.keys_file("alice").unlink()
    host.keys_file("alice").symlink_to(target)

    assert converge(host, [user("alice", ED25519)]).changed()

    assert not host.keys_file("alice").is_symlink() and key_lines(host, "alice") == [ED25519]
    assert target.read_text() == "precious\n"

    host.keys_file("alice").unlink()
    host.keys_file("alice").symlink_to(target)
    converge(host, [user("alice", state="absent")])
    assert not os.path.lexists(host.keys_file("alice")) and target.read_text() == "precious\n"


# ---------------------------------------------------------------------------------------------- scale


def test_five_hundred_unchanged_users_run_no_command(host):
    keys = [(ED25519, ED25519_B)]  # one pair, given to one person only; the others get none
    users = [user("user%03d" % n, *(keys[0] if n == 0 else ()), access=("sudo" if n % 10 == 0 else "logs"))
             for n in range(500)]
    converge(host, users)
    assert len([c for c in host.calls if c[0].endswith("useradd")]) == 500
    assert len([c for c in host.calls if c[0].endswith("visudo")]) == 1  # every sudo rule checked at once
    host.calls.clear()

    start = time.monotonic()
    again = converge(host, users)
    elapsed = time.monotonic() - start

    assert not again.changed() and host.calls == []
    assert elapsed < 2, elapsed


def test_load_records_defaults():
    (record,) = load_records([{"name": "alice"}])
    assert (record.state, record.access, record.keys, record.environments, record.vpn) == (
        "present", "maintenance", [], [], False)
    assert record.grants(None) and not record.grants("prod")
