#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_services
short_description: Capture which OroCommerce consumers, cron and websocket units run, stop them, restore exactly that
version_added: 0.1.0
description:
  - Before an upgrade with downtime, records which application units run on the node, stops them, and after
    the upgrade starts exactly those again - only the consumers that ran before an upgrade run after it.
  - O(state=captured) writes the running units that match O(patterns) to O(state_file) and stops nothing.
  - O(state=stopped) captures first - unless a capture exists, so that a re-run after a failure does not capture
    the already-stopped state (O(recapture=true) overrides) - then stops every running unit that matches
    O(patterns) or is in the capture. One C(systemctl stop) stops them in parallel and waits, each unit up to its
    C(TimeoutStopSec), so a consumer finishes the message it is processing.
  - O(state=restored) starts the captured units that are not running, checks that they run, and removes the
    capture. Without a capture there is nothing to restore and nothing changes.
  - A unit runs when systemd reports it C(active), C(reloading) or C(activating) - a consumer waiting to be
    restarted after its time limit (C(activating), C(auto-restart)) counts; a timer is C(active) while it waits.
    The units are listed with C(systemctl list-units --type=service,timer --state=active,reloading,activating
    --plain --no-legend --full <patterns>).
  - Units are not enabled or disabled; what starts at boot stays as it was.
  - Each call that changes something (not in check mode) is recorded in the node's operation log - operation
    C(services), action C(capture), C(stop) or C(restore), details the units captured, stopped and started; a
    run that stopped half way as V(failed).
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node, standard library only.
  - systemd (C(systemctl)).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - orocloud.ops.operation_log
attributes:
  check_mode:
    support: full
    details:
      - Lists the running units (read only) and reports what it would capture, stop or start.
      - Records nothing in the operation log.
  diff_mode:
    support: full
    details: The captured units and the running units, before and after.
  platform:
    platforms: posix
options:
  state:
    description:
      - V(captured) - the running units are recorded in O(state_file).
      - V(stopped) - recorded (unless already), and stopped.
      - V(restored) - the recorded units run again, and the record is removed.
    type: str
    choices: [captured, stopped, restored]
    required: true
  patterns:
    description:
      - The units, by name or shell pattern (C(*), C(?), C([...])), for example C(oro-consumer-oro.index@*.service).
      - The default covers the app role's units - consumers C(oro-consumer-<queue>@<n>.service), the cron timer
        and the websocket server.
      - Add C(oro-cron.service) to stop a running C(oro:cron) job as well; stopping the timer only keeps new jobs
        from starting.
    type: list
    elements: str
    default: ["oro-consumer-*@*.service", "oro-cron.timer", "oro-websocket.service"]
  state_file:
    description: The capture (JSON - C(units), C(captured_at), C(patterns)).
    type: path
    default: /var/lib/orocloud/services.json
  recapture:
    description: Replace an existing capture with the units running now (O(state=captured) and O(state=stopped)).
    type: bool
    default: false
notes:
  - Run it with become (root).
seealso:
  - module: orocloud.ops.app_maintenance
  - module: orocloud.ops.app_release
"""

EXAMPLES = r"""
- name: Stop consumers, cron and the websocket server for the upgrade, remembering which ran
  orocloud.ops.app_services:
    state: stopped
  become: true
  register: services

- name: Show what was stopped
  ansible.builtin.debug:
    msg: "stopped {{ services.stopped | join(', ') }}"

- name: Start exactly the units that ran before the upgrade
  orocloud.ops.app_services:
    state: restored
  become: true

- name: Record the consumers of one queue only, in a capture of its own
  orocloud.ops.app_services:
    state: captured
    patterns: ["oro-consumer-oro.index@*.service"]
    state_file: /var/lib/orocloud/services-index.json
  become: true
"""

RETURN = r"""
units:
  description: The units in the capture (after the run; for O(state=restored), the units that were restored).
  returned: always
  type: list
  elements: str
  sample: ["oro-consumer-oro.default@1.service", "oro-cron.timer", "oro-websocket.service"]
captured_at:
  description: When the capture was taken (UTC, ISO 8601), V(null) without a capture.
  returned: always
  type: str
  sample: "2026-03-02T10:00:00Z"
captured:
  description: The units this run captured (empty when an existing capture was kept).
  returned: always
  type: list
  elements: str
  sample: ["oro-consumer-oro.default@1.service", "oro-cron.timer"]
stopped:
  description: The units this run stopped (or would stop, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["oro-consumer-oro.default@1.service", "oro-cron.timer"]
started:
  description: The units this run started (or would start, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["oro-consumer-oro.default@1.service", "oro-cron.timer"]
running:
  description: The matching units that run after the run.
  returned: always
  type: list
  elements: str
  sample: []
state_file:
  description: The capture's file.
  returned: always
  type: str
  sample: /var/lib/orocloud/services.json
diff:
  description: The captured units and the running units, before and after.
  returned: when diff mode is on
  type: dict
  sample: {before: {capture: null, running: ["oro-cron.timer"]}, after: {capture: ["oro-cron.timer"], running: []}}
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
    operation: services
    action: stop
    details:
      captured: ["oro-consumer-oro.default@1.service", "oro-cron.timer"]
      stopped: ["oro-consumer-oro.default@1.service", "oro-cron.timer"]
      started: []
    result: changed
    run_id: 3f9a0c1e5b7d4a2f8e6c0b1a9d8e7f60
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._app_services import (
    DEFAULT_PATTERNS,
    DEFAULT_STATE_FILE,
    STATES,
    ServicesError,
    ensure_services,
)
from ansible_collections.orocloud.ops.plugins.module_utils._operation_log import LOG_ARGUMENT_SPEC, exit_recorded

_ACTIONS = {"captured": "capture", "stopped": "stop", "restored": "restore"}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=list(STATES), required=True),
            patterns=dict(type="list", elements="str", default=list(DEFAULT_PATTERNS)),
            state_file=dict(type="path", default=DEFAULT_STATE_FILE),
            recapture=dict(type="bool", default=False),
            **LOG_ARGUMENT_SPEC,
        ),
        supports_check_mode=True,
    )
    params = module.params

    def run(argv):
        return module.run_command(argv)

    try:
        result = ensure_services(params, run, check_mode=module.check_mode)
        details = {key: result[key] for key in ("captured", "stopped", "started")}
    except ServicesError as exc:
        message = str(exc).rstrip(".") + (". The run stopped half way." if exc.changed else ". Nothing was changed.")
        result = dict(failed=True, msg=message, changed=exc.changed)
        details = dict(error=message)
    exit_recorded(module, result, "services", _ACTIONS[params["state"]], details)


if __name__ == "__main__":
    main()
