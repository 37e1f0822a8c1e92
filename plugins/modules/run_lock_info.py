#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: run_lock_info
short_description: Show who holds an environment's run lock and whether the holder is stale
version_added: 0.1.0
description:
  - Reads the lock file that M(orocloud.ops.run_lock) keeps on a node of the environment and returns its record.
  - The module's action plugin tells, on the controller, whether the holder is alive, stale (its
    C(ansible-playbook) process is gone from the controller that took the lock, or its PID now belongs to another
    process) or cannot be checked from this controller, and whether this very run holds the lock.
  - Never changes anything.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node, standard library only.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - orocloud.ops.read_only
attributes:
  action:
    support: full
    details: The action plugin checks staleness on the controller.
  async:
    support: none
  bypass_host_loop:
    support: none
options:
  environment:
    description:
      - The environment whose lock is read; names the file C(<directory>/<environment>.lock).
    type: str
    required: true
  path:
    description:
      - The lock file; default C(<directory>/<environment>.lock).
    type: path
  directory:
    description:
      - The directory of the lock files.
    type: path
    default: /var/lib/orocloud/locks
notes:
  - The lock file is readable by every user of the node; C(become) is not needed.
seealso:
  - module: orocloud.ops.run_lock
"""

EXAMPLES = r"""
- name: See who holds the environment's lock
  orocloud.ops.run_lock_info:
    environment: acme-prod
  register: acme_lock

- name: Say whether a stale lock blocks the next run
  ansible.builtin.debug:
    msg: >-
      {{ acme_lock.lock.user }} ({{ acme_lock.lock.command }}) holds the lock since {{ acme_lock.lock.started }};
      stale: {{ acme_lock.stale }} - {{ acme_lock.stale_reason }}
  when: acme_lock.locked
"""

RETURN = r"""
locked:
  description: Whether a lock file exists (a lock file that is not valid counts as locked).
  returned: always
  type: bool
  sample: true
valid:
  description: Whether the lock file holds a valid lock record (V(true) when there is no lock file).
  returned: always
  type: bool
  sample: true
lock:
  description:
    - The lock record (see M(orocloud.ops.run_lock) for its fields), V(null) without a valid lock.
  returned: always
  type: dict
  sample:
    id: 3f9a0c1e5b7d4a2f8e6c0b1a9d8e7f60
    environment: acme-prod
    operation: patch
    command: ansible-playbook -i inventories/acme playbooks/patch.yml
    user: alice
    controller_host: ops-laptop-alice
    controller_pid: 4242
    controller_pid_start: "linux:0e5c4b7a-1f2d-4c3b-9a8e-7d6c5b4a3f21:123456"
    started: "2026-03-02T10:05:00Z"
stale:
  description:
    - V(true) when the holder is proven gone, V(false) when it runs (or there is no lock), V(null) when it cannot
      be checked from this controller.
  returned: always
  type: bool
  sample: false
stale_reason:
  description: Why the holder was found stale or alive; V(null) without a lock.
  returned: always
  type: str
  sample: process 4242 on ops-laptop-alice is still running
held_by_this_run:
  description: Whether the lock was taken by the C(ansible-playbook) process that runs this task.
  returned: always
  type: bool
  sample: false
lock_file:
  description: The lock file.
  returned: always
  type: str
  sample: /var/lib/orocloud/locks/acme-prod.lock
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._run_lock import (
    DEFAULT_DIR,
    LockHeld,
    RunLockError,
    lock_path,
    read_lock,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            environment=dict(type="str", required=True),
            path=dict(type="path"),
            directory=dict(type="path", default=DEFAULT_DIR),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, locked=False, valid=True, lock=None, stale=False, stale_reason=None,
                  held_by_this_run=False, lock_file=None)
    try:
        result["lock_file"] = lock_path(params["environment"], params["path"], params["directory"])
        record = read_lock(result["lock_file"])
    except LockHeld as exc:
        result.update(locked=True, valid=False, stale=None, stale_reason=str(exc))
        module.exit_json(**result)
    except RunLockError as exc:
        module.fail_json(msg=str(exc), **result)
    result.update(locked=record is not None, lock=record)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
