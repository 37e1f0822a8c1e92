# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sshd role on a real node: the hardened settings sshd actually uses, which logins it accepts, and
the lock-out guard — invalid options and lock-outs refused before anything changes, a change that cuts
new connections reverted by the node itself — after which Ansible still gets in."""

from __future__ import annotations

import pytest
from conftest import SCENARIO, converge, node_name, playbook, ssh

DROPIN = "/etc/ssh/sshd_config.d/10-orocloud.conf"
GUARD_STATE = "/run/orocloud-sshd-guard"

HARDENED = {
    "pubkeyauthentication": "yes",
    "passwordauthentication": "no",
    "kbdinteractiveauthentication": "no",
    "permitemptypasswords": "no",
    "authenticationmethods": "publickey",
    "permitrootlogin": "without-password",  # how sshd -T prints prohibit-password
    "loglevel": "VERBOSE",
    "maxauthtries": "3",
    "logingracetime": "30",
    "x11forwarding": "no",
    "kexalgorithms": "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
    "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256",
    "ciphers": "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,"
    "aes256-ctr,aes192-ctr,aes128-ctr",
    "macs": "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com",
}


def effective(node):
    """``sshd -T``: the settings sshd uses, keyword -> value (last line wins for repeated keywords)."""
    out = node.check_output("sshd -T")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def fingerprint(node):
    """What must not change when a change is refused: the drop-in, sshd's process, the guard's state."""
    return {
        "dropin": node.check_output("sha256sum %s", DROPIN),
        "sshd": node.check_output("systemctl show -p MainPID --value ssh.service"),
        "files": node.check_output("ls -A /etc/ssh/sshd_config.d"),
    }


def assert_clean(node):
    """No leftovers of the guard: no timer, no recorded previous drop-in, no backup next to the drop-in."""
    assert node.run("systemctl is-active orocloud-sshd-rollback.timer").stdout.strip() != "active"
    assert node.check_output("ls -A %s", GUARD_STATE).split() in ([], ["lock"])
    assert node.check_output("ls -A /etc/ssh/sshd_config.d").split() == ["10-orocloud.conf"]
    assert node.run("sshd -t").rc == 0


# ------------------------------------------------------------------------------------ hardening


def test_sshd_uses_the_hardened_settings(node):
    settings = effective(node)

    assert {key: settings.get(key) for key in HARDENED} == HARDENED


def test_dropin_is_in_place_and_the_guard_left_nothing(node):
    dropin = node.file(DROPIN)

    assert dropin.user == "root" and dropin.group == "root" and dropin.mode == 0o644
    assert "PasswordAuthentication no" in dropin.content_string
    assert node.service("ssh").is_running and node.service("ssh").is_enabled
    assert_clean(node)


@pytest.mark.parametrize("method", ["password", "keyboard-interactive"])
def test_password_logins_are_refused(address, method):
    proc = ssh(address, "-o", "PreferredAuthentications=" + method, "-o", "PubkeyAuthentication=no")

    assert proc.returncode == 255
    assert "Permission denied (publickey)" in proc.stderr  # the only method sshd offers


def test_key_login_works_and_is_logged_with_its_fingerprint(node, address):
    proc = ssh(address, command="echo logged-in")

    assert proc.returncode == 0 and proc.stdout.strip() == "logged-in"
    assert "Accepted key ED25519 SHA256:" in node.check_output("journalctl -u ssh --no-pager -n 50")


@pytest.mark.parametrize(
    "options, refused",
    [
        (["Ciphers=aes128-cbc"], "no matching cipher"),
        (["Ciphers=aes128-ctr", "MACs=hmac-sha1"], "no matching MAC"),  # an AEAD cipher needs no MAC
        (["KexAlgorithms=diffie-hellman-group14-sha1"], "no matching key exchange method"),
    ],
    ids=["cbc", "sha1-mac", "sha1-kex"],
)
def test_weak_algorithms_are_refused(address, options, refused):
    proc = ssh(address, *[arg for option in options for arg in ("-o", option)])

    assert proc.returncode == 255 and refused in proc.stderr


# ------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "extra_vars, message",
    [
        ({"sshd_options": {"MaxSessions": "lots"}}, "MaxSessions integer value invalid"),
        ({"sshd_options": {"PasswordAuthentication": True}}, "passwordauthentication is set by the role"),
        ({"sshd_options": {"Match": "User nobody"}}, "match is not allowed in a drop-in"),
        ({"sshd_options": {"Banner": "/etc/issue\nMatch all"}}, "holds a line break"),
        ({"sshd_allowed_sources": ["10.0.0.0/8", "bastion"]}, '"bastion" is not an address or network'),
    ],
    ids=["bad-value", "managed-keyword", "match-block", "line-break", "bad-source"],
)
def test_invalid_options_are_rejected_before_reload(node, address, extra_vars, message):
    before = fingerprint(node)

    run = converge(extra_vars)

    failure = run.failure_message(node_name())
    assert run.rc != 0
    assert message in failure
    assert (
        "was not changed and sshd was not reloaded" in failure
        or "sshd_options refused, nothing was changed" in failure
        or "sshd_allowed_sources refused, nothing was changed" in failure
    )
    assert fingerprint(node) == before, "the drop-in and sshd's process must stay as they were"
    assert ssh(address).returncode == 0
    assert_clean(node)


def test_unknown_keyword_is_rejected_naming_the_real_file(node, address):
    before = fingerprint(node)

    run = converge({"sshd_options": {"NoSuchOption": "yes"}})

    failure = run.failure_message(node_name())
    assert run.rc != 0
    assert "sshd -t rejects the configuration with the candidate %s: %s: line " % (DROPIN, DROPIN) in failure
    assert "Bad configuration option: NoSuchOption; %s: terminating" % DROPIN in failure
    assert "/orocloud-sshd-" not in failure, "sshd's message names the real file, not the temporary copy"
    assert "was not changed and sshd was not reloaded" in failure
    assert [name for name, _r in run.failures(node_name())][-1].endswith("Report a refused drop-in")
    assert fingerprint(node) == before, "the drop-in and sshd's process must stay as they were"
    assert ssh(address).returncode == 0
    assert_clean(node)


def test_dropin_shadowed_by_an_earlier_one_is_refused(node, address):
    """sshd keeps the first value it reads: a drop-in sorted before 10-orocloud.conf would win."""
    node.check_output("printf 'X11Forwarding yes\\n' > /etc/ssh/sshd_config.d/05-shadow.conf")
    try:
        before = fingerprint(node)
        run = converge({"sshd_options": {"ClientAliveInterval": 300}})
        after = fingerprint(node)
    finally:
        node.run("rm -f /etc/ssh/sshd_config.d/05-shadow.conf")

    failure = run.failure_message(node_name())
    assert run.rc != 0
    assert "the candidate %s would not take effect" % DROPIN in failure
    assert "x11forwarding is yes, the drop-in says no" in failure
    assert after == before
    assert ssh(address).returncode == 0
    assert_clean(node)


# ------------------------------------------------------------------------------------ lock-out guard


@pytest.mark.parametrize(
    "extra_vars, message",
    [
        ({"sshd_allowed_sources": ["192.0.2.7"]}, "AllowUsers *@192.0.2.7 does not match root@"),
        ({"sshd_options": {"DenyUsers": "root@10.232.4.0/24"}}, "DenyUsers root@10.232.4.0/24 matches root@"),
        ({"sshd_allow_groups": ["ops"]}, "AllowGroups ops matches no group of root (root)"),
        ({"sshd_permit_root_login": "no"}, "PermitRootLogin no refuses root"),
        ({"sshd_options": {"Port": 2222}}, "sshd would no longer listen on 10.232.4.10 port 22"),
        ({"sshd_options": {"ForceCommand": "/bin/false"}}, "ForceCommand /bin/false leaves Ansible no shell"),
    ],
    ids=["allow-users", "deny-users", "allow-groups", "root-login", "port", "force-command"],
)
def test_lockout_is_refused_before_anything_changes(node, address, extra_vars, message):
    before = fingerprint(node)

    run = converge(extra_vars)

    failure = run.failure_message(node_name())
    assert run.rc != 0
    assert "would lock out the running connection (root from " in failure
    assert message in failure
    assert fingerprint(node) == before
    assert ssh(address).returncode == 0, "a new key login still works"
    assert_clean(node)


def test_change_that_cuts_new_connections_is_reverted_by_the_node(node, address):
    """AuthorizedKeysFile pointing nowhere passes every static check, but no key login works after the
    reload: Ansible cannot reconnect, the rollback timer on the node restores the previous drop-in."""
    before = fingerprint(node)["dropin"]

    run = converge({"sshd_options": {"AuthorizedKeysFile": "/nonexistent"}, "sshd_guard_timeout": 8})

    failure = run.failure_message(node_name())
    assert run.rc != 0
    assert "the new %s was reverted" % DROPIN in failure
    assert '"Open a new SSH connection under the new configuration" failed' in failure
    assert "Permission denied (publickey)" in failure
    assert "restored the previous %s" % DROPIN in failure
    assert run.stats(node_name())["rescued"] == 1
    # the reload happened, then the rollback: the same drop-in, sshd reads the default keys file again
    assert fingerprint(node)["dropin"] == before
    assert effective(node)["authorizedkeysfile"] == ".ssh/authorized_keys .ssh/authorized_keys2"
    journal = node.check_output("journalctl --no-pager -n 200")
    assert "restored the previous %s and reloaded ssh" % DROPIN in journal
    assert playbook(SCENARIO / "playbooks" / "ping.yml").rc == 0, "Ansible connects again"
    assert ssh(address).returncode == 0
    assert_clean(node)


def test_guard_checks_a_candidate_by_hand(node):
    """The guard as an operator would run it: a candidate for another connection (user, address, port)."""
    node.check_output("printf 'AllowUsers root@10.232.4.0/24\\n' > /tmp/candidate.conf")
    base = "python3 /usr/local/lib/orocloud-ops/sshd_guard.py check --dropin %s /tmp/candidate.conf" % DROPIN

    allowed = node.run(base + " --user root --addr 10.232.4.1 --laddr 10.232.4.10")
    refused = node.run(base + " --user root --addr 192.0.2.7 --laddr 10.232.4.10")
    node.run("rm -f /tmp/candidate.conf")

    assert allowed.rc == 0 and "root from 10.232.4.1 to 10.232.4.10 port 22 keeps key access" in allowed.stdout
    assert refused.rc == 1
    assert "AllowUsers root@10.232.4.0/24 does not match root@192.0.2.7" in refused.stderr
    assert node.run(base.replace("/tmp/candidate.conf", DROPIN) + " --no-connection").rc == 0  # noqa: S108
    assert_clean(node)


def test_converge_is_still_a_no_op_after_the_refusals(node):
    run = converge()

    assert run.rc == 0
    assert run.stats(node_name())["changed"] == 0
    assert_clean(node)
