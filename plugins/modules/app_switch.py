#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_switch
short_description: Switch an OroCommerce node to a release in one call - services, current, php-fpm, cache, health
version_added: 0.1.0
description:
  - Runs the steps a patch takes on one application node, in their order, each with the code of its own module,
    in one module call instead of one task per step - a rolling patch's time per node is then the application's
    own work, not the round trips.
  - V(maintenance_on) - maintenance mode on, with the declared downtime window (O(maintenance_duration),
    O(maintenance_comment), O(maintenance_user)), as M(orocloud.ops.app_maintenance)
    O(orocloud.ops.app_maintenance#module:state=on) does; for a scheduled downtime, not a rolling patch.
  - V(stop) - the running consumers, cron timer and websocket server are captured and stopped, as
    M(orocloud.ops.app_services) O(orocloud.ops.app_services#module:state=stopped) does (a capture left by an
    interrupted run is kept, so the units that ran before the first attempt are the ones restored).
  - V(switch) - C(current) points to O(version), switched by one rename and recorded, as M(orocloud.ops.app_release)
    O(orocloud.ops.app_release#module:state=current) does (O(keep) and O(protect) prune old releases the same way).
  - V(reload) - the units of O(reload_units) are reloaded (php-fpm, whose opcache holds the previous release's code).
  - V(warmup) - the application cache is rebuilt by the release's C(bin/console cache:warmup), as
    M(orocloud.ops.app_console) runs it (as O(user), killed after O(warmup_timeout)).
  - V(restore) - exactly the captured units are started again and checked, and the capture is removed.
  - V(health) - the node's own health endpoint O(health_url) must answer C(200) with C(status) C(ok) and the
    C(version) O(version), and every unit of O(health_units) must be active; asked every 0.25 s until
    O(health_timeout) passes.
  - V(maintenance_off) - maintenance mode off, after the health gate of M(orocloud.ops.app_maintenance)
    (O(health_url) must answer C(ok) with O(version)); needs O(health_url).
  - A scheduled downtime on a node is then two calls around the platform update -
    V(maintenance_on), V(stop), V(switch), then V(reload), V(warmup), V(restore), V(health), V(maintenance_off) -
    and the maintenance mode adds no round trip of its own to the window the clients see.
  - Only the steps of O(steps) run, always in the order above. The first step that fails stops the call; the
    error names the step and the steps done before it. Nothing is undone - switch back with the same module
    (O(version) the previous release, O(steps) without V(stop)).
  - Each call that changes something (not in check mode) is recorded in the node's operation log - operation
    C(release), action C(switch), details the release before and after, the seconds of each step and the downtime
    window V(maintenance_on) declared; a failed call as V(failed).
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node, standard library only.
  - systemd (C(systemctl)); the release layout of M(orocloud.ops.app_release).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - orocloud.ops.operation_log
attributes:
  check_mode:
    support: partial
    details:
      - V(maintenance_on), V(stop), V(switch) and V(restore) report what they would change; V(reload) and V(warmup)
        report that they would run; V(health) is not checked, nor the health gate of V(maintenance_off), which
        reports whether the node is in maintenance.
      - Records nothing in the operation log.
  diff_mode:
    support: full
    details: The release C(current) points to, before and after.
  platform:
    platforms: posix
options:
  version:
    description:
      - The release the node runs after the call, a directory of C(<app_root>/releases) (installed by
        M(orocloud.ops.app_release)); also the version O(health_url) must report.
    type: str
    required: true
  steps:
    description:
      - The steps to run; they run in the order V(maintenance_on), V(stop), V(switch), V(reload), V(warmup),
        V(restore), V(health), V(maintenance_off) whatever the order given.
      - The default is a rolling patch's node - every step but the maintenance mode.
    type: list
    elements: str
    choices: [maintenance_on, stop, switch, reload, warmup, restore, health, maintenance_off]
    default: [stop, switch, reload, warmup, restore, health]
  app_root:
    description: The application's root, holding C(releases/), C(shared/) and the C(current) symlink.
    type: path
    default: /var/www/oro
  keep:
    description:
      - Releases kept after the switch (see M(orocloud.ops.app_release)); the current and the previous are always kept.
    type: int
    default: 3
  protect:
    description: Releases never pruned by this call, for example the release the environment ran before the patch.
    type: list
    elements: str
    default: []
  owner:
    description: Owner of the release layout, as in M(orocloud.ops.app_release).
    type: str
    default: www-data
  group:
    description: Group of the release layout, as in M(orocloud.ops.app_release).
    type: str
    default: www-data
  reload_units:
    description: Units reloaded by V(reload); empty on a node without php-fpm (a consumer-only node).
    type: list
    elements: str
    default: [php8.2-fpm.service]
  php:
    description: The PHP CLI that runs the console for V(warmup) and the maintenance mode.
    type: path
    default: /usr/bin/php8.2
  user:
    description: The account the console runs as; it owns the maintenance flag.
    type: str
    default: www-data
  env:
    description: The Symfony environment of C(cache:warmup) (C(--env)).
    type: str
    default: prod
  warmup_timeout:
    description: Seconds before C(cache:warmup) is killed; V(0) for no limit.
    type: int
    default: 600
  service_patterns:
    description: The units V(stop) captures and stops, by name or shell pattern (see M(orocloud.ops.app_services)).
    type: list
    elements: str
    default: ["oro-consumer-*@*.service", "oro-cron.timer", "oro-websocket.service"]
  services_state_file:
    description: Where V(stop) records the units it stopped and V(restore) reads them.
    type: path
    default: /var/lib/orocloud/services.json
  health_url:
    description:
      - The node's own health endpoint, asked by V(health) (certificates are not verified - it is the node itself).
      - Omit on a node without a web server; then only O(health_units) are checked.
    type: str
  health_units:
    description: Units that must be active for V(health), for example C(nginx.service) and C(php8.2-fpm.service).
    type: list
    elements: str
    default: []
  health_timeout:
    description: Seconds V(health) waits for the node to be healthy before it fails.
    type: int
    default: 60
  maintenance_duration:
    description:
      - Minutes of the declared downtime window recorded by V(maintenance_on) (Oro's monitoring alerts on
        maintenance over an hour without one; a warning says so).
    type: int
  maintenance_comment:
    description: Why the node is in maintenance, recorded by V(maintenance_on).
    type: str
  maintenance_user:
    description: Who declared the downtime, recorded by V(maintenance_on); by default the user running the module.
    type: str
  maintenance_retry_after:
    description: Seconds of the C(Retry-After) header of the maintenance page.
    type: int
    default: 600
seealso:
  - module: orocloud.ops.app_release
  - module: orocloud.ops.app_services
  - module: orocloud.ops.app_console
  - module: orocloud.ops.app_maintenance
"""

EXAMPLES = r"""
- name: Patch a web node (drained in the load balancer first)
  orocloud.ops.app_switch:
    version: 6.1.1
    protect: [6.1.0]
    health_url: http://127.0.0.1/health
    health_units: [nginx.service, php8.2-fpm.service]

- name: Scheduled downtime, before oro:platform:update - maintenance on, services stopped, release switched
  orocloud.ops.app_switch:
    version: 6.1.2
    steps: [maintenance_on, stop, switch]
    maintenance_duration: 30
    maintenance_comment: patch 6.1.1 to 6.1.2
    maintenance_user: alice

- name: After oro:platform:update - php-fpm, cache, services, health, maintenance off
  orocloud.ops.app_switch:
    version: 6.1.2
    steps: [reload, warmup, restore, health, maintenance_off]
    health_url: http://127.0.0.1/health

- name: Switch a node back to the release it ran
  orocloud.ops.app_switch:
    version: 6.1.0
    steps: [switch, reload, warmup, restore]
"""

RETURN = r"""
version:
  description: The release asked for.
  returned: always
  type: str
  sample: 6.1.1
previous:
  description: The release C(current) pointed to before the call (V(null) without C(current)).
  returned: always
  type: str
  sample: 6.1.0
steps:
  description: The steps run, in order, each with whether it changed the node, its seconds and what it did.
  returned: always
  type: list
  elements: dict
  sample:
    - {step: stop, changed: true, seconds: 0.21, msg: "stopped: oro-consumer-oro.default@1.service, oro-cron.timer"}
    - {step: switch, changed: true, seconds: 0.01, msg: "current: 6.1.1"}
    - {step: health, changed: false, seconds: 0.05, msg: "http://127.0.0.1/health answers ok with 6.1.1"}
seconds:
  description: Seconds of the whole call.
  returned: always
  type: float
  sample: 1.42
services:
  description: The units captured and stopped by V(stop), and started by V(restore).
  returned: always
  type: dict
  sample: {captured: ["oro-cron.timer"], stopped: ["oro-cron.timer"], started: ["oro-cron.timer"]}
maintenance:
  description:
    - The downtime window V(maintenance_on) declared (see M(orocloud.ops.app_maintenance)'s C(record)), also in
      the operation log's entry; V(null) when V(maintenance_on) did not run.
  returned: always
  type: dict
  sample: {since: "2026-03-02T10:00:00Z", until: "2026-03-02T10:30:00Z", duration: 30, comment: patch, user: alice}
diff:
  description: The release C(current) points to, before and after (with C(--diff)).
  returned: when diff mode is on
  type: dict
  sample: {before: {current: 6.1.0}, after: {current: 6.1.1}}
log_entry:
  description:
    - The entry written to the operation log, V(null) when nothing was recorded - nothing changed, check mode,
      O(log=false), or the log could not be written (a warning says why).
    - See M(orocloud.ops.operation_log) for its fields.
  returned: always
  type: dict
  sample:
    time: "2026-03-02T10:00:30Z"
    user: alice
    login: alice
    host: acme-prod-web1
    environment: acme-prod
    operation: release
    action: switch
    details:
      from: 6.1.0
      to: 6.1.1
      seconds: 1.12
      steps: {stop: 0.21, switch: 0.01, reload: 0.05, warmup: 0.6, restore: 0.2, health: 0.05}
    result: changed
    run_id: 3f9a0c1e5b7d4a2f8e6c0b1a9d8e7f60
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._app_services import DEFAULT_PATTERNS, DEFAULT_STATE_FILE
from ansible_collections.orocloud.ops.plugins.module_utils._app_switch import (
    ROLLING_STEPS,
    STEPS,
    SwitchError,
    switch_node,
)
from ansible_collections.orocloud.ops.plugins.module_utils._operation_log import LOG_ARGUMENT_SPEC, exit_recorded


def main():
    module = AnsibleModule(
        argument_spec=dict(
            version=dict(type="str", required=True),
            steps=dict(type="list", elements="str", choices=list(STEPS), default=list(ROLLING_STEPS)),
            app_root=dict(type="path", default="/var/www/oro"),
            keep=dict(type="int", default=3),
            protect=dict(type="list", elements="str", default=[]),
            owner=dict(type="str", default="www-data"),
            group=dict(type="str", default="www-data"),
            reload_units=dict(type="list", elements="str", default=["php8.2-fpm.service"]),
            php=dict(type="path", default="/usr/bin/php8.2"),
            user=dict(type="str", default="www-data"),
            env=dict(type="str", default="prod"),
            warmup_timeout=dict(type="int", default=600),
            service_patterns=dict(type="list", elements="str", default=list(DEFAULT_PATTERNS)),
            services_state_file=dict(type="path", default=DEFAULT_STATE_FILE),
            health_url=dict(type="str"),
            health_units=dict(type="list", elements="str", default=[]),
            health_timeout=dict(type="int", default=60),
            maintenance_duration=dict(type="int"),
            maintenance_comment=dict(type="str"),
            maintenance_user=dict(type="str"),
            maintenance_retry_after=dict(type="int", default=600),
            **LOG_ARGUMENT_SPEC,
        ),
        supports_check_mode=True,
    )
    params = module.params

    def run(argv, cwd=None):
        return module.run_command(argv, cwd=cwd)

    try:
        result = switch_node(params, run, check_mode=module.check_mode)
        for warning in result.pop("warnings"):
            module.warn(warning)
        details = {
            "from": result["previous"],
            "to": params["version"],
            "seconds": result["seconds"],
            "steps": {step["step"]: step["seconds"] for step in result["steps"]},
        }
        if result["maintenance"]:
            details["maintenance"] = result["maintenance"]
    except SwitchError as exc:
        changed = exc.changed and not module.check_mode
        outcome = ". The node changed before it stopped." if changed else ". Nothing was changed."
        message = str(exc).rstrip(".") + outcome
        result = dict(failed=True, msg=message, changed=changed, step=exc.step)
        details = {
            "from": exc.previous,
            "to": params["version"],
            "error": message,
            "steps": {step["step"]: step["seconds"] for step in exc.done},
        }
    exit_recorded(module, result, "release", "switch", details)


if __name__ == "__main__":
    main()
