#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: operation_log_info
short_description: List a node's operation log - one person's actions, one run, one operation
version_added: 0.1.0
description:
  - Reads the operation log that M(orocloud.ops.operation_log) appends to and returns the entries that match
    every filter given, oldest first (newest last).
  - This is the per-user action history - filter by O(user) (and O(since)) on every node of an environment.
  - Lines that are not log entries are counted in RV(malformed) and skipped.
  - Never changes anything.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node, standard library only.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - orocloud.ops.read_only
options:
  path:
    description:
      - The log file. A missing file has no entries.
    type: path
    default: /var/log/orocloud/operations.log
  user:
    description: Only the entries of this person (RV(orocloud.ops.operation_log#module:entry.user)).
    type: str
  operation:
    description: Only this operation, for example V(patch).
    type: str
  action:
    description: Only this step, for example V(switch_release).
    type: str
  environment:
    description: Only this environment.
    type: str
  run_id:
    description: Only the entries of this run.
    type: str
  result:
    description: Only entries with one of these results.
    type: list
    elements: str
    choices: [ok, changed, failed, skipped]
  since:
    description:
      - Only entries made at or after this time - ISO 8601 (V(2026-03-02), V(2026-03-02T10:05:00Z); without an
        offset it is UTC, a date alone is its midnight) or a duration back from now (V(30m), V(12h), V(7d), V(2w)).
    type: str
  until:
    description:
      - Only entries made before this time (same forms as O(since)).
    type: str
  limit:
    description:
      - Return only the newest this many matching entries. V(0) returns none (only the counts).
    type: int
notes:
  - The log is readable by root and its group (C(adm) by default); run with C(become) or as a member of that group.
seealso:
  - module: orocloud.ops.operation_log
"""

EXAMPLES = r"""
- name: What alice did in the last week on every node of the environment
  orocloud.ops.operation_log_info:
    user: alice
    since: 7d
  become: true
  register: alice_history

- name: Show when alice did what
  ansible.builtin.debug:
    msg: "{{ alice_history.entries | map(attribute='action') | list }}"

- name: The failed steps of one patch run
  orocloud.ops.operation_log_info:
    operation: patch
    run_id: "{{ patch_lock.lock.id }}"
    result: [failed]
  become: true
"""

RETURN = r"""
entries:
  description: The matching entries, oldest first; see M(orocloud.ops.operation_log) for their fields.
  returned: always
  type: list
  elements: dict
  sample:
    - time: "2026-03-02T10:05:00Z"
      user: alice
      login: alice
      host: acme-prod-web1
      environment: acme-prod
      operation: patch
      action: switch_release
      details: {from: 6.1.0, to: 6.1.1}
      result: changed
      run_id: 3f9a0c1e5b7d4a2f8e6c0b1a9d8e7f60
count:
  description: How many entries matched (before O(limit)).
  returned: always
  type: int
  sample: 12
total:
  description: How many entries the log holds.
  returned: always
  type: int
  sample: 340
malformed:
  description: How many lines were not log entries.
  returned: always
  type: int
  sample: 0
exists:
  description: Whether the log file exists.
  returned: always
  type: bool
  sample: true
log_file:
  description: The log file.
  returned: always
  type: str
  sample: /var/log/orocloud/operations.log
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._operation_log import (
    DEFAULT_PATH,
    RESULTS,
    OperationLogError,
    read_entries,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default=DEFAULT_PATH),
            user=dict(type="str"),
            operation=dict(type="str"),
            action=dict(type="str"),
            environment=dict(type="str"),
            run_id=dict(type="str"),
            result=dict(type="list", elements="str", choices=list(RESULTS)),
            since=dict(type="str"),
            until=dict(type="str"),
            limit=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        found = read_entries(
            params["path"],
            user=params["user"],
            operation=params["operation"],
            action=params["action"],
            environment=params["environment"],
            run_id=params["run_id"],
            results=params["result"],
            since=params["since"],
            until=params["until"],
            limit=params["limit"],
        )
    except OperationLogError as exc:
        module.fail_json(msg=str(exc), log_file=params["path"])
    module.exit_json(
        changed=False,
        entries=found["entries"],
        count=found["count"],
        total=found["total"],
        malformed=found["malformed"],
        exists=found["exists"],
        log_file=params["path"],
    )


if __name__ == "__main__":
    main()
