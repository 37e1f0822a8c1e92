#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_console
short_description: Run an OroCommerce console command as the application's user, with a timeout and masked output
version_added: 0.1.0
description:
  - Runs C(<php> <app_root>/current/bin/console <command> --env=<env>) on the node as O(user) (by default
    C(/usr/bin/php8.2 /var/www/oro/current/bin/console ... --env=prod) as C(www-data)), in the release's directory,
    and returns its return code, output and duration.
  - The command is an argv list, never a shell string. C(--env=<env>) is appended unless the command names the
    environment itself.
  - The module switches to O(user) itself, so run the task with C(become) (root) - not with C(become_user). The
    command runs in a process group of its own; at O(timeout) the whole group gets C(SIGTERM), then C(SIGKILL)
    5 seconds later, and the task fails with C(timed out after N s).
  - Output and the returned command line are masked - every value of O(secrets), URL passwords and the values of
    secret-looking C(key=value) pairs become C(********).
  - A command changes the application unless O(read_only=true) says otherwise (C(--dry-run) commands,
    C(oro:platform:version)). In check mode only read-only commands run; the others are reported as changed
    without running.
  - A non-zero return code fails the task.
  - Each command that runs (not in check mode) is recorded in the node's operation log - operation C(console),
    action the command's first word (for example C(oro:platform:update)), details the masked command line, the
    return code and the duration - read-only commands as V(ok), the others as V(changed), or V(failed).
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node, standard library only.
  - PHP and the application on the node (the contract of C(docs/application.md)).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - orocloud.ops.operation_log
attributes:
  check_mode:
    support: full
    details:
      - Runs read-only commands (O(read_only=true)); reports the others as changed without running them.
      - Records nothing in the operation log.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  command:
    description:
      - The console command and its arguments, for example V([oro:platform:update, --force]).
    type: list
    elements: str
    required: true
  app_root:
    description:
      - The application's root, holding C(current) and C(releases/).
    type: path
    default: /var/www/oro
  release:
    description:
      - Run the console of C(<app_root>/releases/<release>) instead of C(current), for example the dry-runs of a
        release that is installed but not switched to yet.
    type: str
  php:
    description:
      - The PHP interpreter.
    type: path
    default: /usr/bin/php8.2
  env:
    description:
      - The Symfony environment, appended as C(--env=<env>) unless the command has C(--env) or C(-e).
        An empty string appends nothing.
    type: str
    default: prod
  user:
    description:
      - The account the command runs as. The module must run as root to switch to it, or already run as it.
    type: str
    default: www-data
  timeout:
    description:
      - Seconds after which the command and every process it started are killed and the task fails. V(0) waits
        without limit.
    type: int
    default: 3600
  read_only:
    description:
      - The command only reads (a C(--dry-run), C(oro:platform:version)) - the task is not changed, and the
        command also runs in check mode.
    type: bool
    default: false
  secrets:
    description:
      - Literal values to mask in the output and the command line, wherever they appear (also URL-encoded).
    type: list
    elements: str
    default: []
notes:
  - Why the module switches user itself - with C(become_user), the command would run under the become wrapper
    (C(sudo)) and a timeout could not kill everything the command started; here the command is the leader of its
    own process group.
  - The command's standard input is C(/dev/null), so a command that asks a question gets no answer.
  - The console commands the collection relies on are listed in C(docs/application.md) in the collection.
"""

EXAMPLES = r"""
- name: Check whether the new release has schema changes (runs in check mode too)
  orocloud.ops.app_console:
    command: [oro:migration:load, --dry-run]
    release: "{{ target_version }}"
    read_only: true
  become: true
  register: pending_migrations

- name: Update the platform once, within 30 minutes
  orocloud.ops.app_console:
    command: [oro:platform:update, --force]
    timeout: 1800
    secrets: ["{{ app_database_password }}"]
  become: true
  run_once: true

- name: Warm the cache up
  orocloud.ops.app_console:
    command: [cache:warmup]
  become: true

- name: Clear the cache, recorded in the operation log under the run's lock
  orocloud.ops.app_console:
    command: [cache:clear]
    log_user: "{{ patch_lock.lock.user }}"
    log_run_id: "{{ patch_lock.lock.id }}"
    log_environment: acme-prod
  become: true
"""

RETURN = r"""
cmd:
  description: The command line that ran (or would run), secrets masked.
  returned: always
  type: list
  elements: str
  sample: [/usr/bin/php8.2, /var/www/oro/current/bin/console, oro:platform:update, --force, --env=prod]
rc:
  description: The return code; negative when a signal ended the command.
  returned: when the command ran
  type: int
  sample: 0
stdout:
  description: The standard output, secrets masked.
  returned: when the command ran
  type: str
  sample: "Migrations applied: 1."
stdout_lines:
  description: RV(stdout) split into lines.
  returned: when the command ran
  type: list
  elements: str
  sample: ["  > 6.1.2/0001_app_row_version", "Migrations applied: 1."]
stderr:
  description: The standard error, secrets masked.
  returned: when the command ran
  type: str
  sample: ""
stderr_lines:
  description: RV(stderr) split into lines.
  returned: when the command ran
  type: list
  elements: str
  sample: []
duration:
  description: How long the command ran, in seconds.
  returned: when the command ran
  type: float
  sample: 12.407
timed_out:
  description: Whether the command was killed at O(timeout).
  returned: when the command ran
  type: bool
  sample: false
user:
  description: The account the command runs as.
  returned: always
  type: str
  sample: www-data
read_only:
  description: The value of O(read_only).
  returned: always
  type: bool
  sample: false
skipped_reason:
  description: Why nothing ran in check mode although the command is read-only (the console is not there yet).
  returned: when the console is missing in check mode
  type: str
  sample: missing console
log_entry:
  description:
    - The entry written to the operation log (secrets masked), V(null) when nothing was recorded - in check mode,
      with O(log=false), or when the log could not be written (a warning says why).
    - See M(orocloud.ops.operation_log) for its fields.
  returned: always
  type: dict
  sample:
    time: "2026-03-02T10:05:00Z"
    user: alice
    login: alice
    host: acme-prod-web1
    environment: acme-prod
    operation: console
    action: oro:platform:update
    details:
      argv: [/usr/bin/php8.2, /var/www/oro/current/bin/console, oro:platform:update, --force, --env=prod]
      rc: 0
      seconds: 12.407
      timed_out: false
    result: changed
    run_id: 3f9a0c1e5b7d4a2f8e6c0b1a9d8e7f60
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._app_console import (
    DEFAULT_APP_ROOT,
    DEFAULT_ENV,
    DEFAULT_PHP,
    DEFAULT_TIMEOUT,
    DEFAULT_USER,
    AppConsoleError,
    run_console,
)
from ansible_collections.orocloud.ops.plugins.module_utils._operation_log import LOG_ARGUMENT_SPEC, record_module_call


def main():
    module = AnsibleModule(
        argument_spec=dict(
            command=dict(type="list", elements="str", required=True),
            app_root=dict(type="path", default=DEFAULT_APP_ROOT),
            release=dict(type="str"),
            php=dict(type="path", default=DEFAULT_PHP),
            env=dict(type="str", default=DEFAULT_ENV),
            user=dict(type="str", default=DEFAULT_USER),
            timeout=dict(type="int", default=DEFAULT_TIMEOUT),
            read_only=dict(type="bool", default=False),
            secrets=dict(type="list", elements="str", default=[], no_log=True),
            **LOG_ARGUMENT_SPEC,
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["timeout"] < 0:
        module.fail_json(msg="timeout must be 0 (no limit) or more seconds, got %d" % params["timeout"], log_entry=None)
    try:
        result = run_console(params, check_mode=module.check_mode)
    except AppConsoleError as exc:
        module.fail_json(msg=str(exc), log_entry=None)
    failed = result.pop("failed", False)
    result["log_entry"] = None
    if "rc" in result:
        result["log_entry"] = record_module_call(
            module,
            "console",
            params["command"][0],
            "failed" if failed else "changed" if result["changed"] else "ok",
            dict(argv=result["cmd"], rc=result["rc"], seconds=result["duration"], timed_out=result["timed_out"]),
            secrets=params["secrets"],
        )
    if failed:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
