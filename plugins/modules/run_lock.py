#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: run_lock
short_description: One operation at a time per environment - take, release or take over the run lock
version_added: 0.1.0
description:
  - Takes (O(state=present)) or releases (O(state=absent)) the lock of an environment, a JSON file on a node of the
    environment that the playbook picks (for example the environment's cron node), by default
    C(/var/lib/orocloud/locks/<environment>.lock).
  - The lock records who holds it - a random id, the operation, the C(ansible-playbook) command line (secrets
    masked), the controller user, the controller host, the PID of the C(ansible-playbook) process and that
    process' start time, and when the lock was taken.
  - The module's action plugin fills the controller fields on the controller. When the lock is held by another
    run it checks, on the controller, whether the holder is alive - the holder is B(stale) when its PID does not
    run any more on the controller that took the lock, or runs a process started at another time (a reused PID).
    A lock taken on another controller cannot be proven stale from here (RV(stale) is V(null)).
  - A lock held by another run fails the task with a message naming the holder, its host, PID, command and start
    time, and whether it is stale. A stale lock is taken over only with O(takeover=true); a live holder's lock
    only with O(force=true).
  - The same C(ansible-playbook) process may take the lock again (a later play) and release it without its id.
  - See C(docs/operations.md) in the collection.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node, standard library only.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: The action plugin records the controller process and checks staleness on the controller.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Reports whether the lock would be taken, released or taken over and changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  environment:
    description:
      - The environment the lock is for, for example C(acme-prod) (letters, digits, C(.), C(_) and C(-)).
      - Names the lock file in O(directory) and is recorded in it.
    type: str
    required: true
  state:
    description:
      - V(present) takes the lock (or keeps it when this run holds it already); V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - The lock file; default C(<directory>/<environment>.lock).
    type: path
  directory:
    description:
      - The directory of the lock files, created (mode 0755) when missing.
    type: path
    default: /var/lib/orocloud/locks
  operation:
    description:
      - What the run does, for example V(patch) or V(os_patch); recorded in the lock.
    type: str
  id:
    description:
      - With O(state=present), the id the new lock gets (default a random token).
      - With O(state=absent), the id of the lock to release - needed only when another C(ansible-playbook) process
        took it (for example the RV(lock.id) a previous run saved); a run releases its own lock without it.
    type: str
  takeover:
    description:
      - Take over (O(state=present)) or remove (O(state=absent)) a lock whose holder the action plugin proved
        stale. A live holder's lock, and a lock whose holder cannot be checked from this controller, are left alone.
    type: bool
    default: false
  force:
    description:
      - Take over or remove the lock whoever holds it, alive or not, and an invalid lock file. Use it only when
        you know the holder no longer runs (for example a lock taken on another controller).
    type: bool
    default: false
  user:
    description:
      - The person the lock is taken for. Default the C(awx_user_name) of an AWX job, else the controller user
        that runs C(ansible-playbook).
    type: str
  command:
    description:
      - The command line recorded in the lock. Default the running C(ansible-playbook) command line with the values
        of secret-looking options and C(key=value) pairs masked.
    type: str
  controller_host:
    description:
      - Set by the action plugin - the host name of the controller. A value given in the task is replaced.
    type: str
  controller_pid:
    description:
      - Set by the action plugin - the PID of the C(ansible-playbook) process. A value given in the task is replaced.
    type: int
  controller_pid_start:
    description:
      - Set by the action plugin - the start time of that process as an opaque token (on Linux the boot id and the
        start time in clock ticks). A value given in the task is replaced.
    type: str
  replace_id:
    description:
      - Set by the action plugin - the id of another holder's lock to replace or remove after it was proven stale
        (or with O(force)). The node replaces the lock only if it still has this id, so two runs racing for a stale
        lock cannot both take it.
    type: str
notes:
  - Run it on one node per environment, the same node for the whole run (C(run_once), C(delegate_to)), with
    C(become) (the lock directory belongs to root).
  - Release the lock in an C(always) section so that a failed run does not leave it behind; a run killed with
    SIGKILL leaves it, and the next run finds it stale.
  - Under AWX every job runs in a fresh execution environment whose host name differs, so a lock left by a killed
    job cannot be proven stale by the next job; take it over with O(force=true) after checking the job is gone.
seealso:
  - module: orocloud.ops.run_lock_info
  - module: orocloud.ops.operation_log
"""

EXAMPLES = r"""
- name: Take the environment's lock for the patch run
  orocloud.ops.run_lock:
    environment: "{{ orocloud_project }}-{{ orocloud_environment }}"
    operation: patch
  delegate_to: "{{ groups['role_cron'] | intersect(groups[orocloud_environment_group]) | first }}"
  run_once: true
  become: true
  register: patch_lock

- name: Patch under the lock, and always release it
  block:
    - name: Say who holds the lock
      ansible.builtin.debug:
        msg: "{{ patch_lock.lock.user }} holds {{ patch_lock.lock.environment }} since {{ patch_lock.lock.started }}"
  always:
    - name: Release the environment's lock
      orocloud.ops.run_lock:
        environment: "{{ orocloud_project }}-{{ orocloud_environment }}"
        state: absent
      delegate_to: "{{ groups['role_cron'] | intersect(groups[orocloud_environment_group]) | first }}"
      run_once: true
      become: true

- name: Re-run after the controller was killed - take over the lock only if its holder is proven dead
  orocloud.ops.run_lock:
    environment: acme-prod
    operation: patch
    takeover: true
  become: true

- name: Remove a lock left by an AWX job that is known to be gone
  orocloud.ops.run_lock:
    environment: acme-prod
    state: absent
    force: true
  become: true
"""

RETURN = r"""
lock:
  description:
    - The lock record - the one this run holds (or would hold, in check mode) after O(state=present), the one
      released after O(state=absent), or the other holder's when the lock is held by another run.
    - V(null) when there was no lock to release or the lock file is not valid.
  returned: always
  type: dict
  contains:
    id:
      description: The lock's random id.
      type: str
      returned: success
      sample: 3f9a0c1e5b7d4a2f8e6c0b1a9d8e7f60
    environment:
      description: The environment.
      type: str
      returned: success
      sample: acme-prod
    operation:
      description: The operation.
      type: str
      returned: success
      sample: patch
    command:
      description: The command line of the run that holds the lock, secrets masked.
      type: str
      returned: success
      sample: ansible-playbook -i inventories/acme playbooks/patch.yml -e 'db_password=********'
    user:
      description: Who holds the lock.
      type: str
      returned: success
      sample: alice
    controller_host:
      description: The controller that runs the holder.
      type: str
      returned: success
      sample: ops-laptop-alice
    controller_pid:
      description: The PID of the holder's C(ansible-playbook) process on that controller.
      type: int
      returned: success
      sample: 4242
    controller_pid_start:
      description: The start token of that process.
      type: str
      returned: success
      sample: "linux:0e5c4b7a-1f2d-4c3b-9a8e-7d6c5b4a3f21:123456"
    started:
      description: When the lock was taken (UTC, ISO 8601).
      type: str
      returned: success
      sample: "2026-03-02T10:05:00Z"
acquired:
  description: Whether this run holds the lock now (or would, in check mode).
  returned: always
  type: bool
  sample: true
released:
  description: Whether the lock was released (or would be, in check mode).
  returned: always
  type: bool
  sample: false
stale:
  description:
    - Whether the other holder is proven dead (V(true)), alive (V(false)), or cannot be checked from this
      controller (V(null)). V(false) when there was no other holder.
  returned: always
  type: bool
  sample: false
stale_reason:
  description: Why the holder was found stale or alive, V(null) when there was no other holder.
  returned: always
  type: str
  sample: no process 4242 runs on ops-laptop-alice
previous:
  description: The record of the other holder's lock that was taken over or removed, V(null) if none.
  returned: always
  type: dict
  sample: {id: 0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e, user: bob, controller_host: ops-laptop-alice, controller_pid: 4242}
held:
  description: V(true) when the task failed because another run holds the lock (or the lock file is not valid).
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
    acquire,
    lock_path,
    make_record,
    release,
)


def argument_spec():
    return dict(
        environment=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        path=dict(type="path"),
        directory=dict(type="path", default=DEFAULT_DIR),
        operation=dict(type="str"),
        id=dict(type="str"),
        takeover=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
        user=dict(type="str"),
        command=dict(type="str"),
        controller_host=dict(type="str"),
        controller_pid=dict(type="int"),
        controller_pid_start=dict(type="str"),
        replace_id=dict(type="str"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    result = dict(changed=False, lock=None, acquired=False, released=False, stale=False, stale_reason=None,
                  previous=None, held=False, lock_file=None)
    try:
        path = lock_path(params["environment"], params["path"], params["directory"])
        result["lock_file"] = path
        own = make_record(
            params["environment"],
            operation=params["operation"],
            command=params["command"],
            user=params["user"],
            controller_host=params["controller_host"],
            controller_pid=params["controller_pid"],
            controller_pid_start=params["controller_pid_start"],
            lock_id=params["id"],
        )
        # takeover without a replace_id: nobody proved the holder stale (the action plugin sets it).
        replace_id = params["replace_id"] if (params["takeover"] or params["force"]) else None
        if params["state"] == "present":
            outcome = acquire(path, own, replace_id=replace_id, force=params["force"], check_mode=module.check_mode)
        else:
            if not params["id"]:
                own["id"] = None  # release by controller process only, not by a freshly made id
            outcome = release(path, own, replace_id=replace_id, force=params["force"], check_mode=module.check_mode)
    except LockHeld as exc:
        result.update(held=True, lock=exc.record, stale=None)
        module.fail_json(msg=str(exc), **result)
    except RunLockError as exc:
        module.fail_json(msg=str(exc), **result)
    result.update(outcome)
    if result["previous"] is not None and replace_id is not None and not params["force"]:
        result["stale"] = True
    module.exit_json(**result)


if __name__ == "__main__":
    main()
