#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_users
short_description: Manage people's accounts, SSH keys, log access and sudo rights on a host from their user records
version_added: 0.1.0
description:
  - Takes the whole list of user records (one per person, see C(docs/access.md) in the collection) and makes this
    host match it in one call - not a loop of tasks.
  - "For each person with access here (O(users[].state=present) and O(environment) among O(users[].environments)):
    creates the account (home directory, shell O(shell), no password), unlocks it if it was locked, writes
    C(~/.ssh/authorized_keys) with exactly the keys of the record (mode 0600, owned by the user, replaced
    atomically), gives the groups of the access level (O(access_groups)) and, for the access level V(sudo), a sudo
    rule in C(/etc/sudoers.d/orocloud-user-<name>) checked with C(visudo -cf) before it is installed."
  - "For each person without access here (O(users[].state=absent), a record whose O(users[].environments) does not
    include O(environment), or with O(purge=true) an account this module manages that is no longer listed): locks
    the account (C(usermod --lock --expiredate 1): neither a password nor a key logs in), ends the person's
    processes (O(kill_sessions)), and removes their keys, the groups of the access levels and their sudo rule."
  - "Keys with O(users[].ssh_keys[].expires) get the OpenSSH option C(expiry-time=\"YYYYMMDD0000Z\"): sshd refuses
    them from that day on (00:00 UTC) even before the next run, and the first run on or after that day removes them."
  - "Every key is checked before anything changes on the host: DSA, RSA below O(min_rsa_bits), unknown types, key
    types not in O(key_types), bad base64, a type prefix that does not match the key data, a malformed key data
    or an ECDSA point that is not on its curve fail the task with nothing changed. The message names the user and
    the key (its index and comment, never the key data)."
  - Only accounts created or adopted by this module are ever locked; they are listed with their uid in
    O(state_file). A listed person whose account exists but was made by hand is adopted. System accounts (uid
    outside C(UID_MIN)-C(UID_MAX) of C(/etc/login.defs)) are never touched.
  - "Fast on hundreds of users: C(/etc/passwd), C(/etc/shadow) and C(/etc/group) are read once, C(useradd) and
    C(usermod) run only for users that need a change, one C(visudo) run checks every new sudo rule, and nothing
    runs for a user that is already right."
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - C(useradd), C(usermod) (Debian package C(passwd)); C(visudo) (package C(sudo)) for the access level V(sudo).
  - Root on the host.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Plans every change, checks the keys and the sudo rules, changes nothing.
  diff_mode:
    support: full
    details: One entry per user that changes - account state, groups, sudo, keys (fingerprint, comment, expiry).
  platform:
    platforms: posix
options:
  users:
    description:
      - The user records, usually the inventory variable C(access_users).
      - Each name may be listed once. Every record is checked, also the ones that do not apply to this host.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The account name. Lower case letters, digits, C(_) and C(-), at most 32 characters, not starting with a
            digit or C(-) (no dots - sudo ignores drop-ins whose name has one).
        type: str
        required: true
      state:
        description:
          - V(present) gives access (on the hosts of O(users[].environments)), V(absent) takes it away everywhere.
        type: str
        choices: [present, absent]
        default: present
      comment:
        description: The account's full name (GECOS field); left as it is when not set.
        type: str
      ssh_keys:
        description: The person's public keys; the keys of the account are exactly these.
        type: list
        elements: dict
        default: []
        suboptions:
          key:
            description:
              - One public key as in C(id_ed25519.pub), C(<type> <base64> [comment]), without options.
            type: str
            required: true
          expires:
            description:
              - The day the key stops working, C(YYYY-MM-DD) (UTC). From this day on sshd refuses it and the
                module removes it.
            type: str
      environments:
        description:
          - The environments where the person has access. Environment names as in the inventory
            (C(orocloud_environment)), shell-style patterns such as C(acme_*), or C(*) for every environment.
          - Required for V(present) when O(environment) is set.
        type: list
        elements: str
      access:
        description:
          - V(maintenance) - log in to the node and use the maintenance tools.
          - V(logs) - V(maintenance) and read the system and application logs (the groups of
            O(access_groups.logs)).
          - V(sudo) - V(logs) (the groups of O(access_groups.sudo)) and run any command as root through sudo.
        type: str
        choices: [maintenance, logs, sudo]
        default: maintenance
      vpn:
        description:
          - Whether the person may use the VPN. Not used on the nodes; the VPN gateway reads it from the same record.
        type: bool
        default: false
  environment:
    description:
      - The environment this host belongs to, normally C(orocloud_environment); records apply when it matches one
        of their O(users[].environments).
      - Not set, every record with O(users[].state=present) applies.
    type: str
  purge:
    description:
      - Also lock the accounts this module manages (O(state_file)) that are not in O(users) any more.
    type: bool
    default: false
  exclusive:
    description:
      - V(true) removes every key of C(authorized_keys) (and the whole C(authorized_keys2)) that is not in the record.
      - V(false) keeps the keys this module did not write; the keys it wrote earlier and that left the record are
        removed all the same.
    type: bool
    default: true
  today:
    description:
      - The day to compare key expiry dates with, C(YYYY-MM-DD); default the current day in UTC.
      - For reproducible tests and to see in check mode what a later run would remove.
    type: str
  key_types:
    description:
      - The key types accepted. DSA (C(ssh-dss)) cannot be accepted.
    type: list
    elements: str
    choices:
      - ssh-ed25519
      - sk-ssh-ed25519@openssh.com
      - ecdsa-sha2-nistp256
      - ecdsa-sha2-nistp384
      - ecdsa-sha2-nistp521
      - sk-ecdsa-sha2-nistp256@openssh.com
      - ssh-rsa
    default:
      - ssh-ed25519
      - sk-ssh-ed25519@openssh.com
      - ecdsa-sha2-nistp256
      - ecdsa-sha2-nistp384
      - ecdsa-sha2-nistp521
      - sk-ecdsa-sha2-nistp256@openssh.com
      - ssh-rsa
  min_rsa_bits:
    description:
      - The smallest RSA modulus accepted, in bits; at least 3072.
    type: int
    default: 3072
  access_groups:
    description:
      - The groups of each access level. A person is a member of the groups of their level and of no other group
        named here; groups not named here are left as they are.
    type: dict
    suboptions:
      maintenance:
        description: Groups of the access level V(maintenance).
        type: list
        elements: str
        default: []
      logs:
        description: Groups of the access level V(logs); C(adm) reads C(/var/log), C(systemd-journal) the journal.
        type: list
        elements: str
        default: [adm, systemd-journal]
      sudo:
        description: Groups of the access level V(sudo).
        type: list
        elements: str
        default: [adm, systemd-journal]
  sudo_nopasswd:
    description:
      - Whether the sudo rule lets the person in without a password (the accounts have none; people log in with keys).
    type: bool
    default: true
  kill_sessions:
    description:
      - End every process of an account when it is locked (and of a locked account, if any is left).
    type: bool
    default: true
  shell:
    description: The login shell of new accounts.
    type: str
    default: /bin/bash
  state_file:
    description: The list of accounts this module manages (JSON, root only).
    type: path
    default: /var/lib/orocloud/access_users.json
notes:
  - The accounts get no password (C(*)); people log in with their keys. C(passwd -S) shows V(L) for such an account
    too - a locked account is one whose password field starts with C(!) and that expired (C(chage -l)).
  - Locking keeps the account, its home directory and its files, so that what the person did stays traceable;
    re-adding the person unlocks it.
  - Key policy - Ed25519 and ECDSA on P-256, P-384 and P-521 (also as FIDO security keys) are accepted; hardware
    tokens and secure enclaves often offer only P-256. RSA needs 3072 bits or more; DSA is refused.
seealso:
  - name: OpenSSH authorized_keys format
    description: The C(expiry-time) option and the key format.
    link: https://man.openbsd.org/sshd.8#AUTHORIZED_KEYS_FILE_FORMAT
"""

EXAMPLES = r"""
- name: Give people access to this node (one call for the whole list)
  orocloud.ops.access_users:
    users: "{{ access_users }}"
    environment: "{{ orocloud_environment }}"
    purge: true
  register: access

- name: Show what changed per person
  ansible.builtin.debug:
    msg: "{{ access.totals }}"

- name: Records given inline
  orocloud.ops.access_users:
    environment: prod
    users:
      - name: alice
        comment: Alice Example
        environments: [prod, stage]
        access: sudo
        vpn: true
        ssh_keys:
          - key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJs9sukLeM8m6SNcuejpUGWhe86U4PeR8nE3V9qZzqZS alice@laptop
          - key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICahx212IfJXLGPL3hYR24jZJCMMVhnsIt/2KcrEr6Nh alice@contractor
            expires: "2026-12-31"
      - name: bob
        state: absent

- name: Show in check mode which keys a run next January would remove
  orocloud.ops.access_users:
    users: "{{ access_users }}"
    environment: "{{ orocloud_environment }}"
    today: "2027-01-01"
  check_mode: true
  diff: true
"""

RETURN = r"""
users:
  description: One summary per user record (and per purged account), by name.
  returned: always
  type: dict
  sample:
    alice: {state: present, changed: true, created: true, adopted: false, locked: false, unlocked: false,
            keys_added: ["SHA256:XDR9+E3VOSYeTWjGPMfmO8Tny2KPNEI9Vq5DveYgw0s alice@laptop"], keys_removed: [],
            keys_expired: [], sudo: true, sudo_changed: true, groups_added: [adm, systemd-journal],
            groups_removed: [], sessions_ended: 0}
  contains:
    state:
      description: V(present) (access here), V(locked), V(absent) (no account here) or V(unmanaged) (an account this
        module does not manage, left alone).
      type: str
      returned: always
      sample: present
    changed:
      description: Whether anything changed for this user.
      type: bool
      returned: always
      sample: true
    created:
      description: The account was created.
      type: bool
      returned: always
      sample: true
    adopted:
      description: The account existed and is managed from now on.
      type: bool
      returned: always
      sample: false
    locked:
      description: The account was locked in this run.
      type: bool
      returned: always
      sample: false
    unlocked:
      description: The account was unlocked (or its expiry date cleared) in this run.
      type: bool
      returned: always
      sample: false
    keys_added:
      description: The keys added, as fingerprint and comment.
      type: list
      elements: str
      returned: always
      sample: ["SHA256:XDR9+E3VOSYeTWjGPMfmO8Tny2KPNEI9Vq5DveYgw0s alice@laptop"]
    keys_removed:
      description: The keys removed, as fingerprint and comment.
      type: list
      elements: str
      returned: always
      sample: []
    keys_expired:
      description: The record's keys past their expiry date (not written, removed if they were there).
      type: list
      elements: str
      returned: always
      sample: ["SHA256:b5gBwwp4S5yu6hwvLYZFXngqeEirCOlUlX4r2h8YvAk alice@old (expires 2024-06-30)"]
    sudo:
      description: Whether the user has the sudo rule after the run.
      type: bool
      returned: always
      sample: true
    sudo_changed:
      description: Whether the sudo rule was installed, rewritten or removed.
      type: bool
      returned: always
      sample: true
    groups_added:
      description: Groups of the access levels the user was added to.
      type: list
      elements: str
      returned: always
      sample: [adm, systemd-journal]
    groups_removed:
      description: Groups of the access levels the user was removed from.
      type: list
      elements: str
      returned: always
      sample: []
    sessions_ended:
      description: Processes of a locked account that were ended.
      type: int
      returned: always
      sample: 0
totals:
  description: Counts over all users.
  returned: always
  type: dict
  sample: {users: 3, present: 2, changed: 2, created: 1, locked: 1, unlocked: 0, keys_added: 2, keys_removed: 1,
           keys_expired: 0, sudo_granted: 1, sudo_revoked: 1}
errors:
  description: Every problem found in the records or on the host; nothing was changed when the records were invalid.
  returned: failure
  type: list
  elements: str
  sample: ["user carol: ssh_keys[0] (carol@old): RSA key of 2048 bits, at least 3072 are required"]
msg:
  description: One line saying what changed.
  returned: always
  type: str
  sample: "3 users, 2 changed: 1 created, 1 locked, 2 keys added, 1 removed, sudo 1 granted, 1 revoked"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._access_users import (
    ACCESS_LEVELS,
    DEFAULT_ACCESS_GROUPS,
    DEFAULT_SHELL,
    STATE_FILE,
    AccessUsers,
    AccessUsersError,
    Paths,
)
from ansible_collections.orocloud.ops.plugins.module_utils._ssh_keys import KEY_TYPES, MIN_RSA_BITS


def argument_spec():
    key = dict(
        key=dict(type="str", required=True, no_log=False),
        expires=dict(type="str"),
    )
    user = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        comment=dict(type="str"),
        ssh_keys=dict(type="list", elements="dict", default=[], no_log=False, options=key),
        environments=dict(type="list", elements="str"),
        access=dict(type="str", choices=list(ACCESS_LEVELS), default="maintenance"),
        vpn=dict(type="bool", default=False),
    )
    groups = {level: dict(type="list", elements="str", default=list(DEFAULT_ACCESS_GROUPS[level]))
              for level in ACCESS_LEVELS}
    return dict(
        users=dict(type="list", elements="dict", required=True, options=user),
        environment=dict(type="str"),
        purge=dict(type="bool", default=False),
        exclusive=dict(type="bool", default=True),
        today=dict(type="str"),
        key_types=dict(type="list", elements="str", choices=list(KEY_TYPES), default=list(KEY_TYPES)),
        min_rsa_bits=dict(type="int", default=MIN_RSA_BITS),
        access_groups=dict(type="dict", options=groups, apply_defaults=True),
        sudo_nopasswd=dict(type="bool", default=True),
        kill_sessions=dict(type="bool", default=True),
        shell=dict(type="str", default=DEFAULT_SHELL),
        state_file=dict(type="path", default=STATE_FILE),
    )


class _Runner:
    """Commands for the backend: argv lists, C locale, tools looked up in the sbin directories as well."""

    def __init__(self, module):
        self.module = module

    def run(self, argv):
        return self.module.run_command(argv, environ_update={"LC_ALL": "C"})

    def bin(self, name):
        return self.module.get_bin_path(name, opt_dirs=["/usr/sbin", "/sbin"])


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        backend = AccessUsers(
            _Runner(module),
            params["users"],
            environment=params["environment"],
            purge=params["purge"],
            exclusive=params["exclusive"],
            today=params["today"],
            key_types=params["key_types"],
            min_rsa_bits=params["min_rsa_bits"],
            access_groups=params["access_groups"],
            sudo_nopasswd=params["sudo_nopasswd"],
            kill_sessions=params["kill_sessions"],
            shell=params["shell"],
            paths=Paths(state_file=params["state_file"]),
        )
        backend.plan()
        changed = backend.changed()
        if changed and not module.check_mode:
            backend.apply()
    except AccessUsersError as exc:
        module.fail_json(msg=str(exc), errors=exc.errors, users=exc.users)

    for warning in backend.warnings:
        module.warn(warning)
    result = dict(changed=changed, users=backend.summaries(), totals=backend.totals(), msg=backend.message())
    if module._diff:
        result["diff"] = backend.diffs()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
