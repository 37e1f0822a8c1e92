# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of orocloud.ops.run_lock: the controller's part of the run lock.

1. Records who runs: the ``ansible-playbook`` process is the parent of this worker (Ansible forks its workers
   from the main process), its PID start token, this controller's host name, the controller user (or the AWX
   user) and the command line of the run with secrets masked (``sys.argv`` of a forked worker is the
   main process' command line).
2. Runs the module on the target (it takes, releases or replaces the lock file there).
3. When another run holds the lock and took it on this controller, tells whether that run is alive (its PID
   runs and started at the recorded time) or stale; with ``takeover`` and a proven stale holder, runs the module
   again to replace (or remove) exactly that lock (by its id).
"""

from __future__ import annotations

import getpass
import multiprocessing
import os
import socket
import subprocess
import sys

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.orocloud.ops.plugins.module_utils._run_lock import (
    LocalProcesses,
    controller_identity,
    held_message,
    holder_state,
    same_run,
)

display = Display()

CONTROLLER_FIELDS = ("controller_host", "controller_pid", "controller_pid_start")


def run_ps(argv):
    """Run ``ps`` on the controller (where there is no /proc): (rc, stdout)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return 1, ""
    return done.returncode, done.stdout


def controller_processes():
    """This controller's process table."""
    return LocalProcesses(run=run_ps)


def playbook_pid():
    """The PID of the ansible-playbook process: the parent of this worker process."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None and parent.pid else os.getppid()


def controller_user(task_vars):
    """The person: the AWX user of a job template run, else the account that runs ansible-playbook."""
    for name in ("awx_user_name", "tower_user_name"):
        value = (task_vars or {}).get(name)
        if isinstance(value, str) and value:
            return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER/LOGNAME (a bare container)
        return str(os.getuid())


def identity(task_vars, processes=None):
    """The controller fields for a lock record of this run."""
    return controller_identity(
        sys.argv,
        playbook_pid(),
        socket.gethostname(),
        controller_user(task_vars),
        processes or controller_processes(),
    )


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    MODULE = "orocloud.ops.run_lock"
    _VALID_ARGS = frozenset(
        (
            "environment",
            "state",
            "path",
            "directory",
            "operation",
            "id",
            "takeover",
            "force",
            "user",
            "command",
            "controller_host",
            "controller_pid",
            "controller_pid_start",
            "replace_id",
        )
    )

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super().run(tmp, task_vars)
        del tmp
        processes = controller_processes()
        me = identity(task_vars, processes)
        args = dict(self._task.args)
        args.pop("replace_id", None)
        args.update((field, me[field]) for field in CONTROLLER_FIELDS)
        for field in ("user", "command"):
            if not args.get(field):
                args[field] = me[field]
        try:
            outcome = self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
            if outcome.get("held"):
                outcome = self._held(outcome, args, me, processes, task_vars)
            elif outcome.get("previous"):  # taken over or removed with force: say whose it was
                stale, reason = holder_state(outcome["previous"], me["controller_host"], processes)
                outcome.update(stale=stale, stale_reason=reason)
                if stale is not True and not self._task.check_mode:
                    display.warning("%s: %s" % (outcome.get("msg"), "the holder is ALIVE" if stale is False else
                                                "the holder could not be checked: %s" % reason))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        result.update(outcome)
        return result

    def _held(self, outcome, args, me, processes, task_vars):
        """Another run holds the lock: stale or alive? Take it over when asked and proven stale."""
        holder = outcome.get("lock")
        stale, reason = holder_state(holder, me["controller_host"], processes)
        if holder and same_run(holder, me):  # pragma: no cover - the module already treats it as ours
            stale, reason = False, "this run holds it"
        if stale is True and args.get("takeover") and holder:
            args["replace_id"] = holder["id"]
            again = self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
            again.update(stale=True, stale_reason=reason)
            if not again.get("failed"):
                again["msg"] = "%s (STALE: %s)" % (again.get("msg"), reason)
            return again
        outcome.pop("exception", None)  # the module's error summary carries its message; ours replaces it
        outcome.update(
            stale=stale,
            stale_reason=reason,
            msg=held_message(outcome.get("lock_file"), holder, stale, reason, args.get("state") or "present"),
        )
        return outcome
