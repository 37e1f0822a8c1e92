#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: load_balancer_server_info
short_description: Report the state of HAProxy backend servers from the runtime API
version_added: 0.1.0
description:
  - Reads C(show servers state) and C(show stat) on HAProxy's runtime API socket, on the load balancer itself, and
    returns one report per server - administrative state (ready, drain, maint), operational state, health check,
    sessions and queued requests.
  - Never changes anything.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the load balancer, standard library only.
  - HAProxy with a C(stats socket), and the privileges to use it (root on the nodes of the C(load_balancer) role).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads in check mode as well.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  socket:
    description:
      - The runtime API's UNIX socket (C(stats socket) in C(haproxy.cfg)).
    type: path
    default: /run/haproxy/admin.sock
  backend:
    description:
      - The backend whose servers are reported, for example C(web). Without it, the servers of every backend.
    type: str
  servers:
    description:
      - The names of the servers to report, or V(['*']) for every server of O(backend).
      - Names other than V(*) need O(backend).
    type: list
    elements: str
    default: ["*"]
seealso:
  - module: orocloud.ops.load_balancer_server
"""

EXAMPLES = r"""
- name: Read the state of the web nodes on the load balancer
  orocloud.ops.load_balancer_server_info:
    backend: web
  become: true
  register: lb

- name: Fail when a web node is not in rotation
  ansible.builtin.assert:
    that: lb.servers | rejectattr('admin_state', 'eq', 'ready') | list | length == 0
    fail_msg: >-
      not in rotation: {{ lb.servers | rejectattr('admin_state', 'eq', 'ready') | map(attribute='name') | join(', ') }}

- name: Read one web node's state
  orocloud.ops.load_balancer_server_info:
    backend: web
    servers: [orolab-prod-web2]
  become: true
"""

RETURN = r"""
servers:
  description:
    - One report per server, in the order given (every server of the backend for V(*), in HAProxy's order).
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
      sample: ready
    operational_state:
      description: The operational state, V(UP), V(DOWN), V(STARTING) (slow start) or V(STOPPING).
      type: str
      returned: always
      sample: UP
    status:
      description: The status HAProxy's statistics show, for example C(UP), C(UP 1/3), C(DRAIN), C(MAINT), C(DOWN).
      type: str
      returned: always
      sample: UP
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
      sample: L7STS
    check_code:
      description: The HTTP status of the last health check, V(null) without one.
      type: int
      returned: always
      sample: 503
    check_description:
      description: HAProxy's description of RV(servers[].check_status).
      type: str
      returned: always
      sample: Layer7 wrong status
    last_check:
      description: The last health check's own text (for example the reason of a failed HTTP check), V(null) if none.
      type: str
      returned: always
      sample: Service Unavailable
    sessions:
      description: Current sessions (C(scur)), that is requests in flight.
      type: int
      returned: always
      sample: 2
    queued:
      description: Requests queued for the server (C(qcur)).
      type: int
      returned: always
      sample: 0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._haproxy_runtime import (
    DEFAULT_SOCKET,
    HAProxyRuntimeError,
    RuntimeAPI,
    info,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            socket=dict(type="path", default=DEFAULT_SOCKET),
            backend=dict(type="str"),
            servers=dict(type="list", elements="str", default=["*"]),
        ),
        supports_check_mode=True,
    )
    try:
        servers = info(RuntimeAPI(module.params["socket"]), module.params["backend"], module.params["servers"])
    except HAProxyRuntimeError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, servers=servers)


if __name__ == "__main__":
    main()
