# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify orocloud.ops.access_users on the real node of the `access_users` scenario.

prepare gave the node an earlier state (dave with sudo, erin with log access, an old key of alice's, and
frank's account made by hand); converge applied the scenario's records (inventory/group_vars/all/access.yml)
with purge. Accounts, keys, groups and sudo rules are read on the node (testinfra, podman backend); logins are
real SSH logins from the controller with each person's own key. Tests that apply other records put the
scenario's records back before they end.
"""

from __future__ import annotations

import json
import subprocess
import time

from conftest import (
    ACCESS_TASK,
    converge,
    key_path,
    login,
    node_name,
    public_key,
    record,
    records,
)

PEOPLE = ("alice", "bob", "carol")


def key_lines(node, user):
    """The key lines of a user's authorized_keys (comments left out)."""
    text = node.check_output("cat /home/%s/.ssh/authorized_keys" % user)
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def access_state(node):
    """Checksums, modes and owners of everything the module may change, to prove a run changed nothing."""
    return node.check_output(
        "{ sha256sum /etc/passwd /etc/shadow /etc/group /etc/gshadow /var/lib/orocloud/access_users.json; "
        "find /etc/sudoers.d /home /var/lib/orocloud -xdev -printf '%p %m %u:%g %s\\n' | sort; "
        "find /etc/sudoers.d /home -xdev -type f -name 'orocloud-*' -o -type f -name 'authorized_keys*' "
        "| sort | xargs -r sha256sum; }"
    )


# ---------------------------------------------------------------------------------------------- the records


def test_authorized_keys_are_exactly_the_records_keys(node):
    # alice: the current key with its expiry (OpenSSH's option, UTC); the expired key and prepare's old key gone
    assert key_lines(node, "alice") == ['expiry-time="209912310000Z" ' + public_key("alice")]
    assert key_lines(node, "bob") == [public_key("bob")]
    assert key_lines(node, "carol") == [public_key("carol")]
    for user in PEOPLE:
        keys = node.file("/home/%s/.ssh/authorized_keys" % user)
        assert (keys.user, keys.group, keys.mode) == (user, user, 0o600)
        ssh_dir = node.file("/home/%s/.ssh" % user)
        assert (ssh_dir.user, ssh_dir.mode) == (user, 0o700)


def test_expired_and_removed_keys_are_not_on_the_node(node):
    everything = node.check_output("cat /home/*/.ssh/authorized_keys")
    for name in ("alice_expired", "alice_old", "dave", "erin"):
        assert public_key(name).split()[1] not in everything, name


def test_accounts(node):
    for user in PEOPLE:
        account = node.user(user)
        assert account.exists and account.shell == "/bin/bash" and account.home == "/home/" + user
        assert node.file(account.home).is_directory
        assert node.check_output("getent shadow %s" % user).split(":")[1] == "*"  # no password, not locked
    assert node.user("alice").gecos == "Alice Example"
    assert not node.user("greg").exists  # granted on prod only


def test_log_groups_for_log_and_sudo_access(node):
    assert {"adm", "systemd-journal"} <= set(node.user("carol").groups)
    assert {"adm", "systemd-journal"} <= set(node.user("bob").groups)
    assert not {"adm", "systemd-journal"} & set(node.user("alice").groups)
    # and the group works: carol reads the system journal
    assert node.run("runuser -u carol -- journalctl -q -n 1 --no-pager").rc == 0


def test_sudo_rule_is_a_valid_drop_in_for_bob_only(node):
    rule = node.file("/etc/sudoers.d/orocloud-user-bob")
    assert (rule.user, rule.group, rule.mode) == ("root", "root", 0o440)
    assert rule.content_string.splitlines()[-1] == "bob ALL=(ALL:ALL) NOPASSWD: ALL"
    node.run_expect([0], "visudo -c")
    assert "(ALL : ALL) NOPASSWD: ALL" in node.check_output("sudo -l -U bob")
    assert "not allowed to run sudo" in node.check_output("sudo -l -U alice")
    assert node.check_output("ls /etc/sudoers.d").split() == ["README", "orocloud-user-bob"]


def test_absent_and_purged_people_are_locked_without_keys_or_sudo(node):
    for user in ("dave", "erin"):
        assert node.user(user).exists  # kept: what they did stays traceable
        assert node.check_output("passwd -S %s" % user).split()[1] == "L"
        shadow = node.check_output("getent shadow %s" % user).split(":")
        assert shadow[1].startswith("!") and shadow[7] == "1", shadow
        assert "Jan 02, 1970" in node.check_output("chage -l %s" % user)
        assert not node.file("/home/%s/.ssh/authorized_keys" % user).exists
        assert not node.file("/etc/sudoers.d/orocloud-user-%s" % user).exists
        assert not {"adm", "systemd-journal"} & set(node.user(user).groups)


def test_the_account_made_by_hand_is_left_alone(node):
    assert node.check_output("getent shadow frank").split(":")[1] == "*"
    assert node.check_output("cat /home/frank/.ssh/authorized_keys").strip() == public_key("frank")


def test_state_file_lists_the_managed_accounts(node):
    state = node.file("/var/lib/orocloud/access_users.json")
    assert (state.user, state.mode) == ("root", 0o600)
    managed = json.loads(state.content_string)["users"]
    assert sorted(managed) == ["alice", "bob", "carol", "dave", "erin"]
    assert managed["dave"]["keys"] == [] and managed["alice"]["uid"] == node.user("alice").uid


# ---------------------------------------------------------------------------------------------- real logins


def test_people_log_in_with_their_own_keys(address):
    for user in PEOPLE:
        result = login(address, user, user)
        assert result.returncode == 0 and result.stdout.strip() == user, (user, result.stderr)


def test_each_login_is_logged_with_the_key_fingerprint(node, address):
    fingerprint = subprocess.run(["ssh-keygen", "-l", "-f", str(key_path("carol")) + ".pub"], capture_output=True,
                                 text=True, check=True).stdout.split()[1]
    assert login(address, "carol", "carol").returncode == 0
    journal = node.check_output("journalctl -u ssh -q --no-pager -o cat --grep 'Accepted publickey for carol'")
    assert fingerprint in journal.splitlines()[-1]


def test_sudo_works_for_bob_and_not_for_alice(address):
    assert login(address, "bob", "bob", "sudo -n id -un").stdout.strip() == "root"
    refused = login(address, "alice", "alice", "sudo -n id -un")
    assert refused.returncode != 0 and "root" not in refused.stdout


def test_expired_removed_and_offboarded_keys_are_refused(address):
    for user, key in (("alice", "alice_expired"), ("alice", "alice_old"), ("dave", "dave"), ("erin", "erin"),
                      ("greg", "greg")):
        result = login(address, user, key)
        assert result.returncode == 255 and "Permission denied" in result.stderr, (user, key, result.stderr)


def test_sshd_enforces_the_expiry_time_option_the_module_writes(node, address):
    """The option's exact form: a key whose expiry-time passed is refused by sshd itself, before any run."""
    node.run_expect([0], "useradd --create-home --password '*' --shell /bin/bash expiry-probe")
    try:
        lines = ['expiry-time="202001010000Z" ' + public_key("planted"),
                 'expiry-time="209912310000Z" ' + public_key("greg")]
        node.run_expect([0], "install -d -m 0700 -o expiry-probe -g expiry-probe /home/expiry-probe/.ssh")
        node.run_expect([0], "printf '%%s\\n' %s %s > /home/expiry-probe/.ssh/authorized_keys", *lines)
        node.run_expect([0], "chown expiry-probe: /home/expiry-probe/.ssh/authorized_keys")
        assert login(address, "expiry-probe", "greg").returncode == 0
        assert login(address, "expiry-probe", "planted").returncode == 255
    finally:
        node.run_expect([0], "userdel --remove expiry-probe")


# ---------------------------------------------------------------------------------------------- more runs


def test_a_key_planted_by_hand_is_removed_by_the_next_run(node, address):
    node.run_expect([0], "printf '%%s\\n' %s >> /home/alice/.ssh/authorized_keys", public_key("planted"))
    assert login(address, "alice", "planted").returncode == 0  # the planted key worked until the run

    run = converge()

    assert run.rc == 0, run.stderr
    result = run.result(node_name(), ACCESS_TASK)
    assert result["changed"] and result["users"]["alice"]["keys_removed"] == [
        fingerprint_comment("planted")]
    assert key_lines(node, "alice") == ['expiry-time="209912310000Z" ' + public_key("alice")]
    assert login(address, "alice", "planted").returncode == 255


def fingerprint_comment(name):
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(key_path(name)) + ".pub"], capture_output=True, text=True,
                         check=True).stdout.split()
    return "%s %s" % (out[1], out[2])


def test_a_weak_key_fails_the_run_and_nothing_changes(node):
    before = access_state(node)
    users = records()
    record(users, "alice")["state"] = "absent"  # a change that must not happen either
    users.append({"name": "mallory", "environments": ["dev"], "ssh_keys": [{"key": public_key("mallory_weak")}]})

    for check in (True, False):
        run = converge({"access_users": users}, check=check)
        assert run.rc != 0
        result = run.result(node_name(), ACCESS_TASK)
        assert result["failed"] and not result["changed"]
        assert result["errors"] == ["user mallory: ssh_keys[0] (mallory_weak@moacc): RSA key of 2048 bits, at least "
                                    "3072 are required"]
        assert public_key("mallory_weak").split()[1][:40] not in json.dumps(result)
    assert access_state(node) == before


def test_check_mode_shows_an_offboarding_and_changes_nothing(node):
    before = access_state(node)
    users = records()
    record(users, "bob")["state"] = "absent"

    run = converge({"access_users": users}, check=True)

    assert run.rc == 0, run.stderr
    result = run.result(node_name(), ACCESS_TASK)
    assert result["changed"] and result["users"]["bob"]["locked"] and result["totals"]["sudo_revoked"] == 1
    (diff,) = result["diff"]
    assert diff["before_header"] == "user bob" and "account: locked\ngroups: -\nsudo: no" in diff["after"]
    assert access_state(node) == before


def test_offboarding_in_one_run_ends_the_session_and_re_adding_restores_access(node, address):
    session = subprocess.Popen(  # a person still logged in while being offboarded
        ["ssh", "-F", "/dev/null", "-i", str(key_path("carol")), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
         "carol@" + address, "sleep 300"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _attempt in range(50):
            if node.run("pgrep -u carol -x sleep").rc == 0:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("carol's session did not start")
        users = records()
        record(users, "carol")["state"] = "absent"

        run = converge({"access_users": users})

        assert run.rc == 0, run.stderr
        summary = run.result(node_name(), ACCESS_TASK)["users"]["carol"]
        assert summary["locked"] and summary["sessions_ended"] >= 1 and summary["groups_removed"]
        session.wait(timeout=20)  # the connection ended with the session
        assert node.run("pgrep -u carol").rc == 1
        assert login(address, "carol", "carol").returncode == 255
        assert node.check_output("getent shadow carol").split(":")[1].startswith("!")
    finally:
        if session.poll() is None:
            session.kill()

    restored = converge()
    assert restored.rc == 0, restored.stderr
    assert restored.result(node_name(), ACCESS_TASK)["users"]["carol"]["unlocked"]
    assert login(address, "carol", "carol").stdout.strip() == "carol"
    assert {"adm", "systemd-journal"} <= set(node.user("carol").groups)


def test_the_scenario_records_are_in_place_again(node):
    run = converge()
    assert run.rc == 0, run.stderr
    assert run.stats(node_name())["changed"] == 0
