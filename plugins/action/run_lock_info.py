# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of orocloud.ops.run_lock_info: reads the lock on the target, then tells on the controller
whether its holder is alive, stale or cannot be checked from here, and whether this run holds it."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.orocloud.ops.plugins.action.run_lock import controller_processes, identity
from ansible_collections.orocloud.ops.plugins.module_utils._run_lock import holder_state, same_run


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    MODULE = "orocloud.ops.run_lock_info"
    _VALID_ARGS = frozenset(("environment", "path", "directory"))

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super().run(tmp, task_vars)
        del tmp
        try:
            outcome = self._execute_module(
                module_name=self.MODULE, module_args=dict(self._task.args), task_vars=task_vars
            )
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        record = outcome.get("lock")
        if record and not outcome.get("failed"):
            processes = controller_processes()
            me = identity(task_vars, processes)
            if same_run(record, me):
                outcome.update(stale=False, stale_reason="this run holds the lock", held_by_this_run=True)
            else:
                stale, reason = holder_state(record, me["controller_host"], processes)
                outcome.update(stale=stale, stale_reason=reason)
        result.update(outcome)
        return result
