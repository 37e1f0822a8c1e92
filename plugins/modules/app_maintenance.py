#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_maintenance
short_description: Switch an OroCommerce node's maintenance mode, with a declared downtime window and a health gate
version_added: 0.1.0
description:
  - Switches the maintenance flag (C(<app_root>/shared/maintenance.flag)) that nginx obeys - while it exists,
    every request gets a 503 page with C(Retry-After), except requests from loopback, which reach the
    application.
  - With O(method=console) the application's own C(bin/console oro:maintenance:lock --retry-after=N) and
    C(oro:maintenance:unlock) run as O(app_user); with O(method=file) the module writes the flag (its content
    is O(retry_after)) owned by O(app_user) - so that the application's own C(unlock) can remove it from the
    sticky C(shared/) directory - and removes it. O(method=auto) uses the console when C(current/bin/console)
    and O(php) are there.
  - Records the maintenance in O(state_file) - C(mode), C(since), C(duration) (minutes), C(until), C(comment),
    C(user) and C(retry_after). C(since) and C(user) are kept while maintenance goes on; a new O(duration)
    moves C(until). Without O(duration) the module warns that Oro's monitoring alerts after an hour.
  - O(state=emergency) switches only the web maintenance page; the record says that services keep running.
    O(state=on) is planned downtime, during which the caller stops the services (M(orocloud.ops.app_services)).
    Neither state starts or stops a service.
  - Leaving maintenance (O(state=off)) runs a health gate first - C(GET) O(health_url) must answer 200 with a
    JSON C(status) of C(ok) (and C(version) O(expect_version) when given). When it does not, the task fails and
    the flag stays, unless O(force=true). The gate runs in check mode too.
  - Each call that changes something (not in check mode) is recorded in the node's operation log - operation
    C(maintenance), action the O(state) (V(on), V(off), V(emergency)), details the window (C(duration),
    C(until)) and O(comment), or for V(off) the health gate's answer; a run that stopped half way as V(failed).
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node.
  - C(runuser) (util-linux) for O(method=console) when the module runs as root.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - orocloud.ops.operation_log
attributes:
  check_mode:
    support: full
    details:
      - Changes nothing; the health gate of O(state=off) runs (a C(GET)) and can fail the task.
      - Records nothing in the operation log.
  diff_mode:
    support: full
    details: Whether the node is in maintenance and the record, before and after.
  platform:
    platforms: posix
options:
  state:
    description:
      - V(on) - maintenance (planned downtime).
      - V(emergency) - maintenance page only, services keep running.
      - V(off) - out of maintenance, after the health gate.
    type: str
    choices: ["on", "off", emergency]
    required: true
  app_root:
    description: The application root.
    type: path
    default: /var/www/oro
  flag:
    description:
      - The maintenance flag (the application's C(ORO_MAINTENANCE_FLAG)).
      - Default C(<app_root>/shared/maintenance.flag).
    type: path
  state_file:
    description: The record of the maintenance (JSON); default C(maintenance.json) beside O(flag).
    type: path
  duration:
    description: The declared downtime window in minutes, from the start of the maintenance (C(until) in the record).
    type: int
  comment:
    description: Why the node is in maintenance (recorded).
    type: str
  user:
    description:
      - Who puts the node in maintenance (recorded); default the user C(sudo) came from, else the login name.
      - Also the person named in the operation log, unless O(log_user) is given.
    type: str
  retry_after:
    description: The retry delay in seconds that the flag suggests to clients.
    type: int
    default: 600
  method:
    description: How the flag is switched (see the description).
    type: str
    choices: [auto, console, file]
    default: auto
  console:
    description: The application's console; default C(<app_root>/current/bin/console).
    type: path
  php:
    description: The PHP binary that runs O(console).
    type: path
    default: /usr/bin/php8.2
  app_user:
    description: The application's user - runs O(console), owns the flag written with O(method=file).
    type: str
    default: www-data
  app_group:
    description: The application's group (of the flag written with O(method=file)).
    type: str
    default: www-data
  health_url:
    description: The health endpoint asked before leaving maintenance; nginx lets loopback through in maintenance.
    type: str
    default: http://127.0.0.1/health
  expect_version:
    description: The version the health endpoint must report, for example the release just installed.
    type: str
  health_timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 10
  health_attempts:
    description: How many times the endpoint is asked before the gate fails.
    type: int
    default: 3
  health_delay:
    description: Seconds between two attempts.
    type: float
    default: 5
  validate_certs:
    description: Verify the certificate of an C(https://) O(health_url).
    type: bool
    default: true
  force:
    description: Leave maintenance even when the health gate fails (with a warning).
    type: bool
    default: false
notes:
  - Run it with become (root), once per web node.
seealso:
  - module: orocloud.ops.app_services
  - module: orocloud.ops.app_release
"""

EXAMPLES = r"""
- name: Maintenance on for a declared window of 30 minutes
  orocloud.ops.app_maintenance:
    state: "on"
    duration: 30
    comment: "LTS patch 6.1.2 (change CHG-1234)"
  become: true

- name: Emergency - maintenance page only, consumers and cron keep running
  orocloud.ops.app_maintenance:
    state: emergency
    duration: 15
    comment: storefront incident INC-42
  become: true

- name: Leave maintenance once the node reports healthy on the new release
  orocloud.ops.app_maintenance:
    state: "off"
    expect_version: "6.1.2"
  become: true
  register: maintenance

- name: Show the health gate's answer
  ansible.builtin.debug:
    var: maintenance.health

- name: Leave maintenance whatever the health endpoint says (recovery)
  orocloud.ops.app_maintenance:
    state: "off"
    force: true
  become: true
"""

RETURN = r"""
state:
  description: The state asked for.
  returned: always
  type: str
  sample: "on"
maintenance:
  description: Whether the node is in maintenance after the run (the flag exists).
  returned: always
  type: bool
  sample: true
record:
  description: The record of the maintenance after the run, V(null) out of maintenance.
  returned: always
  type: dict
  sample:
    mode: "on"
    since: "2026-03-02T10:00:00Z"
    duration: 30
    until: "2026-03-02T10:30:00Z"
    comment: LTS patch 6.1.2
    user: alice
    retry_after: 600
flag:
  description: The maintenance flag.
  returned: always
  type: str
  sample: /var/www/oro/shared/maintenance.flag
state_file:
  description: The record's file.
  returned: always
  type: str
  sample: /var/www/oro/shared/maintenance.json
method:
  description: How the flag is switched on this node, V(console) or V(file).
  returned: always
  type: str
  sample: console
health:
  description: The health gate's last answer when the node left (or was asked to leave) maintenance, else V(null).
  returned: always
  type: dict
  contains:
    ok:
      description: Whether the gate passed.
      type: bool
      returned: always
      sample: true
    url:
      description: The URL asked.
      type: str
      returned: always
      sample: http://127.0.0.1/health
    status_code:
      description: The HTTP status, V(null) without an answer.
      type: int
      returned: always
      sample: 200
    status:
      description: The JSON C(status) field.
      type: str
      returned: always
      sample: ok
    version:
      description: The JSON C(version) field.
      type: str
      returned: always
      sample: 6.1.2
    body:
      description: The start of the answer.
      type: str
      returned: always
      sample: '{"status":"ok","version":"6.1.2"}'
    message:
      description: What was found.
      type: str
      returned: always
      sample: "GET http://127.0.0.1/health: status 200, ok, version 6.1.2"
    attempts:
      description: How many requests were made.
      type: int
      returned: always
      sample: 1
diff:
  description: Whether the node is in maintenance and the record, before and after.
  returned: when diff mode is on
  type: dict
  sample: {before: {maintenance: false, record: null}, after: {maintenance: true, record: {mode: "on"}}}
log_entry:
  description:
    - The entry written to the operation log (secrets masked), V(null) when nothing was recorded - nothing changed,
      check mode, O(log=false), or the log could not be written (a warning says why).
    - See M(orocloud.ops.operation_log) for its fields.
  returned: always
  type: dict
  sample:
    time: "2026-03-02T10:00:00Z"
    user: alice
    login: alice
    host: acme-prod-web1
    environment: acme-prod
    operation: maintenance
    action: "on"
    details: {duration: 30, until: "2026-03-02T10:30:00Z", comment: LTS patch 6.1.2, method: console}
    result: changed
    run_id: 3f9a0c1e5b7d4a2f8e6c0b1a9d8e7f60
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._app_maintenance import (
    METHODS,
    STATES,
    MaintenanceError,
    ensure_maintenance,
)
from ansible_collections.orocloud.ops.plugins.module_utils._operation_log import LOG_ARGUMENT_SPEC, exit_recorded


def _log_details(params, result):
    """What the operation log keeps of the call: the window and the comment, or the health gate's answer."""
    if params["state"] == "off":
        health = result.get("health") or {}
        details = dict(health=health.get("message"), forced=bool(health) and not health.get("ok"))
    else:
        record = result.get("record") or {}
        details = dict(duration=params["duration"], until=record.get("until"), comment=params["comment"])
    if result.get("method"):
        details["method"] = result["method"]
    if result.get("failed"):
        details["error"] = result["msg"]
    return details


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=list(STATES), required=True),
            app_root=dict(type="path", default="/var/www/oro"),
            flag=dict(type="path"),
            state_file=dict(type="path"),
            duration=dict(type="int"),
            comment=dict(type="str"),
            user=dict(type="str"),
            retry_after=dict(type="int", default=600),
            method=dict(type="str", choices=list(METHODS), default="auto"),
            console=dict(type="path"),
            php=dict(type="path", default="/usr/bin/php8.2"),
            app_user=dict(type="str", default="www-data"),
            app_group=dict(type="str", default="www-data"),
            health_url=dict(type="str", default="http://127.0.0.1/health"),
            expect_version=dict(type="str"),
            health_timeout=dict(type="float", default=10),
            health_attempts=dict(type="int", default=3),
            health_delay=dict(type="float", default=5),
            validate_certs=dict(type="bool", default=True),
            force=dict(type="bool", default=False),
            **LOG_ARGUMENT_SPEC,
        ),
        supports_check_mode=True,
    )
    params = module.params

    def run(argv, cwd=None):
        return module.run_command(argv, cwd=cwd)

    try:
        result = ensure_maintenance(params, run, check_mode=module.check_mode)
    except MaintenanceError as exc:
        message = str(exc).rstrip(".") + ("; force: true leaves it anyway" if exc.health else "")
        message += ". The run stopped half way." if exc.changed else ". Nothing was changed."
        result = dict(failed=True, msg=message, health=exc.health, changed=exc.changed, warnings=[])
    for warning in result.pop("warnings"):
        module.warn(warning)
    exit_recorded(module, result, "maintenance", params["state"], _log_details(params, result), user=params["user"])


if __name__ == "__main__":
    main()
