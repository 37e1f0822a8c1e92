#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_history
short_description: A node's per-person history - SSH logins and refusals, and the operations of the operation log
version_added: 0.1.0
description:
  - Returns what each person did on this node, oldest first (newest last) - one list for the logins and the operations.
  - "Logins come from sshd's messages in the systemd journal (C(journalctl --output=json), C(SYSLOG_IDENTIFIER=sshd)
    and C(sshd-session)). sshd runs with C(LogLevel VERBOSE) on the nodes (role C(orocloud.ops.sshd)), so every
    accepted or refused key is logged with its type and SHA-256 fingerprint. Recorded are accepted logins
    (RV(entries[].result=accepted)) and refusals (RV(entries[].result=refused)) - a key that was not accepted, an
    invalid user, a user not allowed (C(AllowUsers), a locked account...), an expired certificate. Everything else
    sshd logs is ignored."
  - "Each key is named by its comment: from the person's C(~/.ssh/authorized_keys) and, with O(users), from the user
    records of M(orocloud.ops.access_users), so that keys removed since are still named. Only the key's type,
    fingerprint and comment are returned, never the key."
  - Operations come from the operation log that M(orocloud.ops.operation_log) appends to, as
    M(orocloud.ops.operation_log_info) reads it; their details are masked again.
  - Lines that are neither journal entries nor log entries are counted in RV(malformed) and skipped.
  - Never changes anything.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node, standard library only.
  - C(journalctl) (systemd) for the logins.
  - Root on the node (C(become)) - the journal, the operation log and every C(authorized_keys) are read.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - orocloud.ops.read_only
options:
  user:
    description:
      - Only the entries of these people (account names for logins, RV(orocloud.ops.operation_log#module:entry.user)
        for operations). Default everyone.
    type: list
    elements: str
  since:
    description:
      - Only entries at or after this time - ISO 8601 (V(2026-03-02), V(2026-03-02T10:05:00Z); without an offset it
        is UTC, a date alone is its midnight) or a duration back from now (V(30m), V(24h), V(7d), V(2w)).
    type: str
  until:
    description:
      - Only entries before this time (same forms as O(since)).
    type: str
  kinds:
    description:
      - What to read - V(login) (the journal) and V(operation) (the operation log).
    type: list
    elements: str
    choices: [login, operation]
    default: [login, operation]
  operations_log:
    description:
      - The operation log. A missing file has no entries.
    type: path
    default: /var/log/orocloud/operations.log
  users:
    description:
      - The user records of M(orocloud.ops.access_users), usually the inventory variable C(access_users), to name
        keys by their comment also when they are no longer in an C(authorized_keys).
      - Only O(orocloud.ops.access_users#module:users[].name),
        O(orocloud.ops.access_users#module:users[].ssh_keys[].key) and
        O(orocloud.ops.access_users#module:users[].ssh_keys[].expires) are read; the other fields are ignored, so
        the list given to M(orocloud.ops.access_users) can be passed as is.
      - A key of a person's own record names the key first; a key of any record names it when it is not in the
        account's C(authorized_keys) nor in its record (a shared account used with a person's key).
    type: list
    elements: dict
  limit:
    description:
      - Return only the newest this many entries. V(0) returns none (only RV(people) and the counts).
    type: int
    default: 1000
notes:
  - The journal keeps what its size and retention settings allow (C(journald.conf)); older logins are gone.
  - A client that offers several keys gets a refused entry with the reason V(key not accepted) for every key that
    is not in C(authorized_keys), before the accepted one.
  - An expired key (the C(expiry-time) option that M(orocloud.ops.access_users) writes) is logged by sshd only as
    not accepted; the reason is V(key expired) when C(authorized_keys) or the user records date its expiry before
    the attempt.
  - The host of a login is this node's host name; the host of an operation is the one recorded in the log
    (playbooks record C(inventory_hostname)).
seealso:
  - module: orocloud.ops.operation_log_info
  - module: orocloud.ops.access_users
"""

EXAMPLES = r"""
- name: What alice did in the last week on every node of the environment
  orocloud.ops.access_history:
    user: [alice]
    since: 7d
    users: "{{ access_users }}"
  become: true
  register: alice_history

- name: Show how often alice logged in, was refused and ran an operation step
  ansible.builtin.debug:
    msg: "{{ alice_history.people.alice | default('nothing here') }}"

- name: Show the steps she ran
  ansible.builtin.debug:
    msg: "{{ alice_history.entries | selectattr('kind', 'equalto', 'operation') | map(attribute='action') | list }}"

- name: Refused logins of the last day
  orocloud.ops.access_history:
    kinds: [login]
    since: 24h
  become: true
  register: logins

- name: Show who was refused and why
  ansible.builtin.debug:
    msg: "{{ logins.entries | selectattr('result', 'equalto', 'refused') | map(attribute='reason') | list }}"

- name: Per-person totals only, between two dates
  orocloud.ops.access_history:
    since: "2026-03-01"
    until: "2026-04-01"
    limit: 0
  become: true
  register: march
"""

RETURN = r"""
entries:
  description:
    - The matching entries, oldest first; at the same second a login comes before an operation. With O(limit), the
      newest O(limit) of them.
    - Logins have RV(entries[].method), RV(entries[].from), RV(entries[].key) and RV(entries[].reason); operations
      have RV(entries[].login), RV(entries[].operation), RV(entries[].action), RV(entries[].environment),
      RV(entries[].run_id) and RV(entries[].details).
  returned: always
  type: list
  elements: dict
  sample:
    - time: "2026-03-02T10:04:58Z"
      host: acme-prod-web1
      kind: login
      user: alice
      result: accepted
      method: publickey
      from: 10.231.1.30
      key: {type: ED25519, fingerprint: "SHA256:XDR9+E3VOSYeTWjGPMfmO8Tny2KPNEI9Vq5DveYgw0s", comment: alice@laptop}
      reason: null
    - time: "2026-03-02T10:05:00Z"
      host: acme-prod-web1
      kind: operation
      user: alice
      result: changed
      login: alice
      operation: patch
      action: switch_release
      environment: acme-prod
      run_id: 3f9a0c1e5b7d4a2f8e6c0b1a9d8e7f60
      details: {from: 6.1.0, to: 6.1.1}
  contains:
    time:
      description: When, ISO 8601 in UTC, to the second.
      type: str
      returned: always
      sample: "2026-03-02T10:05:00Z"
    host:
      description: The node - its host name for logins, the host recorded in the log for operations.
      type: str
      returned: always
      sample: acme-prod-web1
    kind:
      description: V(login) or V(operation).
      type: str
      returned: always
      sample: login
    user:
      description: The account (logins) or the person the playbook named (operations).
      type: str
      returned: always
      sample: alice
    result:
      description: V(accepted) or V(refused) for logins; V(ok), V(changed), V(failed) or V(skipped) for operations.
      type: str
      returned: always
      sample: accepted
    method:
      description: The authentication method, V(publickey) on the nodes; null for a refusal before any method.
      type: str
      returned: for logins
      sample: publickey
    from:
      description: The client's address; null when sshd did not log it.
      type: str
      returned: for logins
      sample: 10.231.1.30
    key:
      description: The key used, as sshd logged it, and its comment (null when no C(authorized_keys) and no record
        knows it); null when the message names no key.
      type: dict
      returned: for logins
      sample: {type: ED25519, fingerprint: "SHA256:XDR9+E3VOSYeTWjGPMfmO8Tny2KPNEI9Vq5DveYgw0s", comment: alice@laptop}
    reason:
      description:
        - "Why a login was refused - V(key not accepted), V(key expired), V(invalid user), V(certificate expired),
          V(certificate invalid: ...), or sshd's words after C(not allowed because), for example
          V(not listed in AllowUsers) or V(account is locked). Null for accepted logins."
      type: str
      returned: for logins
      sample: not listed in AllowUsers
    login:
      description: The account that ran the operation on the node before C(become).
      type: str
      returned: for operations
      sample: alice
    operation:
      description: The operation.
      type: str
      returned: for operations
      sample: patch
    action:
      description: The step of the operation.
      type: str
      returned: for operations
      sample: switch_release
    environment:
      description: The environment.
      type: str
      returned: for operations
      sample: acme-prod
    run_id:
      description: The run the operation belonged to.
      type: str
      returned: for operations
      sample: 3f9a0c1e5b7d4a2f8e6c0b1a9d8e7f60
    details:
      description: The details of the step, secrets masked.
      type: dict
      returned: for operations
      sample: {from: 6.1.0, to: 6.1.1}
people:
  description: Per person, over every matching entry (also those beyond O(limit)).
  returned: always
  type: dict
  sample:
    alice: {logins: 3, refused: 1, operations: 12, first: "2026-03-02T10:04:58Z", last: "2026-03-02T11:40:13Z"}
  contains:
    logins:
      description: Accepted logins.
      type: int
      returned: always
      sample: 3
    refused:
      description: Refused logins.
      type: int
      returned: always
      sample: 1
    operations:
      description: Operation steps.
      type: int
      returned: always
      sample: 12
    first:
      description: The time of the person's first entry.
      type: str
      returned: always
      sample: "2026-03-02T10:04:58Z"
    last:
      description: The time of the person's last entry.
      type: str
      returned: always
      sample: "2026-03-02T11:40:13Z"
count:
  description: How many entries matched (before O(limit)).
  returned: always
  type: int
  sample: 16
malformed:
  description: How many lines of the journal's output and of the operation log were not entries (or log entries
    without a time or a person).
  returned: always
  type: int
  sample: 0
msg:
  description: One line saying what was found.
  returned: always
  type: str
  sample: "16 entries of 1 person: 3 logins, 1 refused, 12 operations"
"""

import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._access_history import (
    DEFAULT_LIMIT,
    KINDS,
    OPERATIONS_LOG,
    AccessHistoryError,
    history,
)


def argument_spec():
    return dict(
        user=dict(type="list", elements="str"),
        since=dict(type="str"),
        until=dict(type="str"),
        kinds=dict(type="list", elements="str", choices=list(KINDS), default=list(KINDS)),
        operations_log=dict(type="path", default=OPERATIONS_LOG),
        users=dict(type="list", elements="dict", no_log=False),
        limit=dict(type="int", default=DEFAULT_LIMIT),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params

    def run(argv):
        return module.run_command(argv, environ_update={"LC_ALL": "C"})

    journalctl = module.get_bin_path("journalctl") if "login" in params["kinds"] else None
    try:
        found = history(
            run,
            journalctl=journalctl,
            host=socket.gethostname(),
            user=params["user"],
            since=params["since"],
            until=params["until"],
            kinds=params["kinds"],
            operations_log=params["operations_log"],
            users=params["users"],
            limit=params["limit"],
        )
    except AccessHistoryError as exc:
        module.fail_json(msg=str(exc))
    for warning in found["warnings"]:
        module.warn(warning)
    module.exit_json(
        changed=False,
        entries=found["entries"],
        people=found["people"],
        count=found["count"],
        malformed=found["malformed"],
        msg=found["msg"],
    )


if __name__ == "__main__":
    main()
