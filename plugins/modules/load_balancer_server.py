#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: load_balancer_server
short_description: Drain, enable or put into maintenance HAProxy backend servers through the runtime API
version_added: 0.1.0
description:
  - Sets the administrative state of servers of an HAProxy backend through HAProxy's runtime API socket
    (C(set server <backend>/<server> state ready|drain|maint)), on the load balancer itself.
  - With O(wait), waits until a drained server (or one in maintenance) has no sessions and no queued requests
    left, so that the requests in flight have finished, or until a server set V(ready) is UP with a passing
    health check. It polls C(show servers state) and C(show stat) every half second.
  - Setting the state a server already has changes nothing (and still waits, with O(wait)).
  - On the web nodes of an orocloud.ops environment the backend is C(web) (the role variable
    C(load_balancer_backend_name)) and each server is named after the web node's inventory host name.
  - A failure names the server, its sessions and queued requests and its health check, and says in which state
    the server was left; the result's C(changed) says whether a state was set before the failure.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the load balancer, standard library only.
  - HAProxy with C(stats socket <path> level admin), and the privileges to use that socket (root on the
    nodes of the C(load_balancer) role).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the current states and reports what would change; sets nothing and does not wait.
  diff_mode:
    support: full
    details: The administrative state of each server named, before and after.
  platform:
    platforms: posix
options:
  socket:
    description:
      - The runtime API's UNIX socket (C(stats socket) in C(haproxy.cfg)); its level must be C(admin).
    type: path
    default: /run/haproxy/admin.sock
  backend:
    description:
      - The backend of the servers, for example C(web).
    type: str
    required: true
  servers:
    description:
      - The names of the servers, or V(['*']) for every server of O(backend).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(ready) puts the servers into rotation (it clears drain and maintenance).
      - V(drain) gives them no new requests while the running ones finish; health checks go on.
      - V(maint) gives them no new requests and stops their health checks; running requests still finish.
    type: str
    choices: [ready, drain, maint]
    required: true
  wait:
    description:
      - Wait until each server is where O(state) wants it - V(drain) and V(maint), until it has no sessions
        (C(scur)) and no queued requests (C(qcur)); V(ready), until it is UP with a passing health check
        (a server leaving maintenance counts as UP before its first check; this waits for that check).
      - Fail after O(timeout) seconds.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait with O(wait) before failing. The state set stays set.
    type: int
    default: 60
notes:
  - HAProxy keeps the states set here in memory only. On the nodes of the C(orocloud.ops.load_balancer) role they
    survive a reload (the role saves them to its C(server-state-file) just before each reload) but not a restart
    or a reboot, after which every server starts as configured - ready.
  - A server in V(drain) still gets requests of persistent sessions (a C(cookie) or a stick table); the
    C(orocloud.ops.load_balancer) role uses neither.
  - When no server of O(backend) is left ready and up, the module warns - HAProxy then answers the backend's
    requests with 503.
seealso:
  - module: orocloud.ops.load_balancer_server_info
  - name: HAProxy 2.6 management guide, runtime API
    description: The commands used (C(show servers state), C(show stat), C(set server)).
    link: https://docs.haproxy.org/2.6/management.html#9.3
"""

EXAMPLES = r"""
- name: Take this web node out of rotation and wait until its requests have finished
  orocloud.ops.load_balancer_server:
    backend: web
    servers: ["{{ inventory_hostname }}"]
    state: drain
    timeout: 120
  delegate_to: "{{ groups['role_load_balancer'] | intersect(groups[orocloud_environment_group]) | first }}"
  become: true

- name: Put it back once its health check passes
  orocloud.ops.load_balancer_server:
    backend: web
    servers: ["{{ inventory_hostname }}"]
    state: ready
  delegate_to: "{{ groups['role_load_balancer'] | intersect(groups[orocloud_environment_group]) | first }}"
  become: true

- name: Make sure every web node is in rotation (reconcile after an interrupted run)
  orocloud.ops.load_balancer_server:
    backend: web
    servers: ["*"]
    state: ready
  become: true
  register: lb

- name: Stop the health checks of a node that is being rebuilt, without waiting
  orocloud.ops.load_balancer_server:
    backend: web
    servers: [orolab-prod-web2]
    state: maint
    wait: false
  become: true
"""

RETURN = r"""
changed_servers:
  description: The servers whose state was set (in check mode - would be set).
  returned: always
  type: list
  elements: str
  sample: [orolab-prod-web2]
waited:
  description: Seconds spent waiting (O(wait)).
  returned: always
  type: float
  sample: 3.52
servers:
  description:
    - One report per server named, in the order given (every server of the backend for V(*)), read after the
      change and the wait. In check mode - the current state.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The server's name.
      type: str
      returned: always
      sample: orolab-prod-web2
    backend:
      description: Its backend.
      type: str
      returned: always
      sample: web
    address:
      description: Its address and port.
      type: str
      returned: always
      sample: 10.231.1.12:80
    admin_state:
      description: The administrative state, V(ready), V(drain) or V(maint).
      type: str
      returned: always
      sample: drain
    operational_state:
      description: The operational state, V(UP), V(DOWN), V(STARTING) (slow start) or V(STOPPING).
      type: str
      returned: always
      sample: UP
    status:
      description: The status HAProxy's statistics show, for example C(UP), C(UP 1/3), C(DRAIN), C(MAINT), C(DOWN).
      type: str
      returned: always
      sample: DRAIN
    weight:
      description: The current weight.
      type: int
      returned: always
      sample: 1
    initial_weight:
      description: The weight in the configuration.
      type: int
      returned: always
      sample: 1
    check_status:
      description:
        - The status of the last health check (C(L7OK), C(L7STS), C(L4CON), C(L4TOUT), ...), V(null) without one.
      type: str
      returned: always
      sample: L7OK
    check_code:
      description: The HTTP status of the last health check, V(null) without one.
      type: int
      returned: always
      sample: 200
    check_description:
      description: HAProxy's description of RV(servers[].check_status).
      type: str
      returned: always
      sample: Layer7 check passed
    last_check:
      description: The last health check's own text (for example the reason of a failed HTTP check), V(null) if none.
      type: str
      returned: always
      sample: Service Unavailable
    sessions:
      description: Current sessions (C(scur)), that is requests in flight.
      type: int
      returned: always
      sample: 0
    queued:
      description: Requests queued for the server (C(qcur)).
      type: int
      returned: always
      sample: 0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._haproxy_runtime import (
    ADMIN_STATES,
    DEFAULT_SOCKET,
    HAProxyRuntimeError,
    RuntimeAPI,
    set_state,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            socket=dict(type="path", default=DEFAULT_SOCKET),
            backend=dict(type="str", required=True),
            servers=dict(type="list", elements="str", required=True),
            state=dict(type="str", required=True, choices=list(ADMIN_STATES)),
            wait=dict(type="bool", default=True),
            timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    if module.params["timeout"] < 0:
        module.fail_json(msg="timeout must be 0 or more seconds, not %d" % module.params["timeout"])
    try:
        result = set_state(RuntimeAPI(module.params["socket"]), module.params, check_mode=module.check_mode)
    except HAProxyRuntimeError as exc:
        output = {key: value for key, value in exc.result.items() if key not in ("diff", "warnings")}
        output.setdefault("changed", False)
        module.fail_json(msg=str(exc), **output)
    for warning in result.pop("warnings"):
        module.warn(warning)
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
