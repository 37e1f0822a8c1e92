#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: operation_log
short_description: Append who did what, when and with which result to a node's operation log
version_added: 0.1.0
description:
  - Appends one entry to the node's operation log, an append-only file with one JSON object per line, by default
    C(/var/log/orocloud/operations.log) - the time (UTC), the person, the account that ran the task on the node,
    the host, the environment, the operation and its step, details, the result and the run id.
  - Secrets are masked before anything is written - the values of keys that look secret (C(password), C(passwd),
    C(secret), C(token), C(key), C(totp), C(seed), C(passphrase) and the like), the password of URLs with
    C(user:password@), and every value listed in O(secrets), wherever it appears.
  - Ordinary users cannot alter the log - run with C(become) and the module keeps the directory (0750) and the
    file (0640) owned by root and readable by the O(group) only, restoring owner and mode when they were changed
    (RV(repaired)). A symbolic link in the file's place is refused.
  - Each entry also goes to syslog (facility C(authpriv), the journal), at C(warning) for failed steps.
  - M(orocloud.ops.operation_log_info) lists the entries, for example one person's actions.
  - See C(docs/operations.md) in the collection.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node, standard library only.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Returns the entry that would be written and writes nothing.
  diff_mode:
    support: full
    details: The diff is the line appended.
  platform:
    platforms: posix
options:
  operation:
    description:
      - The operation, for example V(patch), V(os_patch), V(access), V(backup).
    type: str
    required: true
  action:
    description:
      - The step of the operation, for example V(switch_release), V(maintenance_on), V(grant).
    type: str
    required: true
  result:
    description:
      - How the step ended.
    type: str
    choices: [ok, changed, failed, skipped]
    default: ok
  details:
    description:
      - "What the step did, for example C({from: 6.1.0, to: 6.1.1}). Secrets are masked."
    type: dict
    default: {}
  user:
    description:
      - The person who runs the operation, for example the RV(orocloud.ops.run_lock#module:lock.user) of the run's
        lock (the controller user or the AWX user).
      - Default the account that ran the task on the node before C(become) (RV(entry.login)).
    type: str
  environment:
    description:
      - The environment, for example C(acme-prod).
    type: str
  host:
    description:
      - The host recorded; default the node's host name. Playbooks pass C(inventory_hostname).
    type: str
  run_id:
    description:
      - An id shared by every entry of one run, for example the RV(orocloud.ops.run_lock#module:lock.id) of its lock.
    type: str
  secrets:
    description:
      - Literal values to mask wherever they appear in the entry (also URL-encoded or JSON-escaped).
    type: list
    elements: str
    default: []
  path:
    description:
      - The log file. Its directory is created when missing.
    type: path
    default: /var/log/orocloud/operations.log
  group:
    description:
      - The group that may read the log (when the module runs as root). Debian's C(adm) reads the system's logs.
    type: str
    default: adm
  syslog:
    description:
      - Also send the entry to syslog.
    type: bool
    default: true
notes:
  - Entries are appended with one C(write()) to a file opened with C(O_APPEND), so concurrent runs never mix
    their lines; the file is synced to disk before the module returns.
  - Root can still alter the file; the copy in the journal (O(syslog)) is the one to forward off the node.
seealso:
  - module: orocloud.ops.operation_log_info
  - module: orocloud.ops.run_lock
"""

EXAMPLES = r"""
- name: Record the release switch on each web node
  orocloud.ops.operation_log:
    operation: patch
    action: switch_release
    result: "{{ 'changed' if switch is changed else 'ok' }}"
    details:
      from: "{{ switch.previous_version | default(omit) }}"
      to: "{{ orocloud_application_version }}"
    user: "{{ patch_lock.lock.user }}"
    run_id: "{{ patch_lock.lock.id }}"
    environment: "{{ orocloud_project }}-{{ orocloud_environment }}"
    host: "{{ inventory_hostname }}"
  become: true

- name: Record a failed step with the database URL, its password masked
  orocloud.ops.operation_log:
    operation: restore
    action: load_dump
    result: failed
    details:
      database: "postgresql://oro:{{ database_password }}@10.231.1.21/oro"
      error: "{{ restore_error | default('') }}"
    secrets: ["{{ database_password }}"]
  become: true
"""

RETURN = r"""
entry:
  description: The entry written (or that would be written, in check mode), secrets masked.
  returned: success
  type: dict
  contains:
    time:
      description: When the entry was made (UTC, ISO 8601).
      type: str
      returned: success
      sample: "2026-03-02T10:05:00Z"
    user:
      description: The person (O(user), else RV(entry.login)).
      type: str
      returned: success
      sample: alice
    login:
      description: The account that ran the task on the node before C(become) (sudo's C(SUDO_USER)).
      type: str
      returned: success
      sample: alice
    host:
      description: The host.
      type: str
      returned: success
      sample: acme-prod-web1
    environment:
      description: The environment, V(null) when not given.
      type: str
      returned: success
      sample: acme-prod
    operation:
      description: The operation.
      type: str
      returned: success
      sample: patch
    action:
      description: The step.
      type: str
      returned: success
      sample: switch_release
    details:
      description: The details, secrets masked.
      type: dict
      returned: success
      sample: {from: 6.1.0, to: 6.1.1}
    result:
      description: How the step ended.
      type: str
      returned: success
      sample: changed
    run_id:
      description: The run id, V(null) when not given.
      type: str
      returned: success
      sample: 3f9a0c1e5b7d4a2f8e6c0b1a9d8e7f60
log_file:
  description: The log file.
  returned: always
  type: str
  sample: /var/log/orocloud/operations.log
created:
  description: Whether the log file was created (or would be, in check mode) by this entry.
  returned: success
  type: bool
  sample: false
repaired:
  description: The directory or file whose owner or mode had been changed and was restored.
  returned: success
  type: list
  elements: str
  sample: ["/var/log/orocloud/operations.log had mode 0666"]
"""

import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._operation_log import (
    DEFAULT_GROUP,
    DEFAULT_PATH,
    RESULTS,
    OperationLogError,
    append,
    build_entry,
    encode,
    node_login,
    to_syslog,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            operation=dict(type="str", required=True),
            action=dict(type="str", required=True),
            result=dict(type="str", choices=list(RESULTS), default="ok"),
            details=dict(type="dict", default={}),
            user=dict(type="str"),
            environment=dict(type="str"),
            host=dict(type="str"),
            run_id=dict(type="str"),
            secrets=dict(type="list", elements="str", default=[], no_log=True),
            path=dict(type="path", default=DEFAULT_PATH),
            group=dict(type="str", default=DEFAULT_GROUP),
            syslog=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        entry = build_entry(
            params["operation"],
            params["action"],
            result=params["result"],
            user=params["user"],
            login=node_login(),
            host=params["host"] or socket.gethostname(),
            environment=params["environment"],
            details=params["details"],
            run_id=params["run_id"],
            secrets=params["secrets"],
        )
        outcome = append(params["path"], entry, group=params["group"], check_mode=module.check_mode)
    except OperationLogError as exc:
        module.fail_json(msg=str(exc), log_file=params["path"])
    if params["syslog"] and not module.check_mode:
        try:
            to_syslog(entry)
        except OSError as exc:  # pragma: no cover - libc syslog does not raise; a broken module might
            module.warn("the entry was written to %s but not to syslog: %s" % (params["path"], exc))
    for repaired in outcome["repaired"]:
        module.warn("%s; owner and mode restored" % repaired)
    result = dict(changed=True, entry=entry, log_file=params["path"], **outcome)
    if module._diff:
        result["diff"] = dict(before="", after=encode(entry).decode("utf-8"), after_header=params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
