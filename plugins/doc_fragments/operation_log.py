# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of the maintenance modules that record each of their calls in the operation log."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  log:
    description:
      - Record this call in the node's operation log, as M(orocloud.ops.operation_log) does - one entry with the
        time, the person (O(log_user)), the account that ran the task, the host, the operation and its action,
        details and the result (V(ok), V(changed) or V(failed)), secrets masked; a copy goes to syslog.
      - Nothing is recorded in check mode, nor when nothing ran or changed.
      - When the entry cannot be written the task does not fail (what it did is done) - it warns, naming the log
        file and the problem, and returns RV(log_entry) V(null).
    type: bool
    default: true
  log_path:
    description:
      - The operation log. Run the task with C(become) (root) so that it can be written.
    type: path
    default: /var/log/orocloud/operations.log
  log_user:
    description:
      - The person named in the entry, for example the RV(orocloud.ops.run_lock#module:lock.user) of the run's lock.
      - Default the account that ran the task on the node before C(become) (sudo's C(SUDO_USER)).
    type: str
  log_environment:
    description:
      - The environment named in the entry, for example C(acme-prod).
    type: str
  log_run_id:
    description:
      - The run id named in the entry, for example the RV(orocloud.ops.run_lock#module:lock.id) of the run's lock.
    type: str
"""
