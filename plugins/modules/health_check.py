#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: health_check
short_description: Check an OroCommerce environment's health and classify problems into support priorities
version_added: 0.1.0
description:
  - Runs on a node (or delegated, for example to the load balancer or a client) and checks HTTP(S) endpoints,
    TCP endpoints, TLS certificate expiry, systemd units and message-queue backlogs.
  - Returns one structured result per check and an overall status. Every problem is classified into the support
    priorities of OroCloud (P1 to P4) with its initial-response time, and the overall result carries the highest
    priority found and the time the initial response is due.
  - "A check's O(http[].impact) (and the same option of the other kinds) names the priority of its failure:
    V(outage) P1 (production application unavailable, 4 hours), V(major) P2 (major feature failed or severely
    reduced capacity, 24 hours), V(minor) P3 (partial, non-critical loss, 24 hours), V(cosmetic) P4 (24 hours).
    A warning (certificate expiring within O(tls[].warn_days), backlog above O(queue[].warn_backlog)) and a check
    that cannot tell (a backlog command that fails, a certificate that cannot be read) are P3."
  - P1 and P2 describe the production application and the customer's business; outside production
    (O(environment_type)) a problem is at most P3.
  - Fails the task when a problem of a priority in O(fail_on) is found; the results are returned either way.
  - Never changes anything.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node, standard library only.
  - The C(cryptography) Python library on the node to read the expiry of a certificate that does not verify
    (self-signed, or a private CA without O(tls[].ca_path)); without it the dates come from a verified handshake.
  - C(systemctl) for O(systemd); C(psql) for O(queue[].sql).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Runs the same checks in check mode; a O(queue[].command) must only read.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  environment_type:
    description:
      - The type of the environment checked; outside V(production) no problem is above P3.
      - Roles and playbooks pass the inventory's C(orocloud_environment_type).
    type: str
    choices: [development, testing, staging, production]
    default: production
  fail_on:
    description:
      - Fail the task when a check has a problem of one of these priorities. V([]) never fails.
    type: list
    elements: str
    choices: [P1, P2, P3, P4]
    default: [P1, P2]
  http:
    description:
      - HTTP(S) requests and what their answers must be. Redirects are not followed.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the check in the results (default C(http <url>)).
        type: str
      url:
        description: The URL, C(http://) or C(https://); its host is where the request goes (an address or a name).
        type: str
        required: true
      method:
        description: The request method.
        type: str
        choices: [GET, HEAD]
        default: GET
      status_code:
        description: The status codes that pass.
        type: list
        elements: int
        default: [200]
      body_contains:
        description: A text the body must contain.
        type: str
      json:
        description:
          - "Fields the JSON body must have, as C(dotted.path) to value, for example C({status: ok, version: 6.1.0})."
          - Values compare equal when they are equal or print the same (V(true) and C("true")).
        type: dict
      host_header:
        description:
          - The C(Host) header, for example the site name when O(http[].url) names a node's address.
          - Also the TLS server name (SNI) unless O(http[].server_name) is set.
        type: str
      server_name:
        description: The TLS server name (SNI) and the name the certificate is checked against.
        type: str
      headers:
        description: More request headers. Their values are not logged.
        type: dict
      validate_certs:
        description: Verify the server's certificate (chain and name).
        type: bool
        default: true
      ca_path:
        description: A PEM file of CA certificates to verify against instead of the system's.
        type: path
      timeout:
        description: Seconds to wait for the connection and each read.
        type: float
        default: 10
      impact:
        description: The impact of a failure (see the description); default V(outage), P1 in production.
        type: str
        choices: [outage, major, minor, cosmetic]
  tcp:
    description:
      - TCP endpoints that must accept connections (database, Redis, RabbitMQ).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the check in the results (default C(tcp <host>:<port>)).
        type: str
      host:
        description: Address or name.
        type: str
        required: true
      port:
        description: Port.
        type: int
        required: true
      send:
        description: Text to send once connected, for example C("PING\r\n") to Redis.
        type: str
      expect:
        description: Text the answer must contain, for example C(+PONG).
        type: str
      timeout:
        description: Seconds to wait for the connection (and the answer).
        type: float
        default: 5
      impact:
        description: The impact of a failure; default V(major) (P2 in production).
        type: str
        choices: [outage, major, minor, cosmetic]
  tls:
    description:
      - TLS endpoints whose certificate must not expire soon.
      - The certificate is fetched with the standard library (C(ssl)) without verifying it, then a second, verified
        handshake tells whether the chain and name verify (C(verified) in RV(checks[].details)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the check in the results (default C(tls <host>:<port>)).
        type: str
      host:
        description: Address or name.
        type: str
        required: true
      port:
        description: Port.
        type: int
        default: 443
      server_name:
        description: The TLS server name (SNI) and the name the certificate is checked against; default O(tls[].host).
        type: str
      warn_days:
        description: A warning (P3) when fewer days are left.
        type: int
        default: 30
      critical_days:
        description: A failure with O(tls[].impact) when fewer days are left.
        type: int
        default: 7
      expired_impact:
        description: The impact of an expired certificate (browsers refuse the site).
        type: str
        choices: [outage, major, minor, cosmetic]
        default: outage
      validate_certs:
        description: Fail with O(tls[].impact) when the certificate does not verify.
        type: bool
        default: false
      ca_path:
        description: A PEM file of CA certificates to verify against instead of the system's.
        type: path
      timeout:
        description: Seconds to wait for each handshake.
        type: float
        default: 10
      impact:
        description: The impact of a certificate below O(tls[].critical_days) (or not verifying); default V(major).
        type: str
        choices: [outage, major, minor, cosmetic]
  systemd:
    description:
      - Groups of systemd units that must be active.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the check in the results (default C(systemd <units>)).
        type: str
      units:
        description:
          - Unit names, or shell patterns such as C(oro-consumer-*@*.service) (at least one loaded unit must match).
          - A timer is active while it waits; check C(oro-cron.timer), not the service it starts.
        type: list
        elements: str
        required: true
      impact:
        description: The impact of a unit that is not active; default V(major) (P2 in production).
        type: str
        choices: [outage, major, minor, cosmetic]
  queue:
    description:
      - Message-queue backlogs. A command, or SQL run with C(psql), prints the number of waiting messages.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the check in the results (default C(queue <n>)).
        type: str
      command:
        description:
          - The command (argv, no shell) that prints the backlog, a single number.
          - For example C([rabbitmqctl, -q, list_queues, ...]) piped through nothing; use C(sh -c) for more.
        type: list
        elements: str
      sql:
        description:
          - SQL printing the backlog, run with C(psql -X -A -t -d <database>), for example
            C(SELECT count(*) FROM oro_message_queue) with Oro's database transport.
        type: str
      database:
        description: The C(psql) connection string or URL for O(queue[].sql); not logged.
        type: str
      psql:
        description: The C(psql) program.
        type: str
        default: psql
      max_backlog:
        description: A failure with O(queue[].impact) above this many messages.
        type: int
        required: true
      warn_backlog:
        description: A warning (P3) above this many messages.
        type: int
      impact:
        description: The impact of a backlog above O(queue[].max_backlog); default V(major) (P2 in production).
        type: str
        choices: [outage, major, minor, cosmetic]
notes:
  - Checks run in parallel (at most 8 at a time).
  - The support priorities and initial-response times are those of OroCloud's support process (P1 4 hours,
    P2 to P4 24 hours).
"""

EXAMPLES = r"""
- name: Check the environment through the load balancer and on this node
  orocloud.ops.health_check:
    environment_type: "{{ orocloud_environment_type }}"
    http:
      - name: storefront through the load balancer
        url: https://10.231.1.10/health
        host_header: shop.example.com
        json: {status: ok, version: "{{ orocloud_application_version }}"}
      - name: this web node
        url: http://{{ orocloud_address }}/health
        impact: major
    tcp:
      - {name: database, host: 10.231.1.21, port: 5432, impact: outage}
      - {name: redis, host: 10.231.1.21, port: 6379, send: "PING\r\n", expect: "+PONG"}
    tls:
      - {host: 10.231.1.10, server_name: shop.example.com}
    systemd:
      - {name: consumers, units: ["oro-consumer-*@*.service"]}
      - {name: web server, units: [nginx.service, php8.2-fpm.service], impact: outage}
  register: health

- name: Show the problems
  ansible.builtin.debug:
    var: health.problems

- name: Measure the message backlog without failing the play
  orocloud.ops.health_check:
    queue:
      - name: oro message queue
        sql: SELECT count(*) FROM oro_message_queue
        database: postgresql://oro@localhost/oro
        warn_backlog: 1000
        max_backlog: 10000
    fail_on: []
  register: backlog

- name: Gate a patch run on the health of the environment (fail on P1 or P2)
  orocloud.ops.health_check:
    environment_type: production
    http:
      - url: https://shop.example.com/health
        json: {status: ok}
  delegate_to: localhost
"""

RETURN = r"""
status:
  description: The worst status of all checks.
  returned: always
  type: str
  sample: fail
priority:
  description: The highest support priority among the problems, V(null) when every check is V(ok).
  returned: always
  type: str
  sample: P1
initial_response_hours:
  description: The initial-response time of RV(priority) in hours, V(null) without a problem.
  returned: always
  type: int
  sample: 4
respond_by:
  description: When the initial response to RV(priority) is due (UTC, ISO 8601), V(null) without a problem.
  returned: always
  type: str
  sample: "2026-03-02T14:05:00Z"
checked_at:
  description: When the checks started (UTC, ISO 8601).
  returned: always
  type: str
  sample: "2026-03-02T10:05:00Z"
environment_type:
  description: The environment type the problems were classified for.
  returned: always
  type: str
  sample: production
counts:
  description: How many checks ended in each status.
  returned: always
  type: dict
  sample: {ok: 5, warning: 1, unknown: 0, fail: 1}
problems:
  description: One line per check with a problem, highest priority first.
  returned: always
  type: list
  elements: str
  sample: ["P1 storefront: GET https://10.231.1.10/health: status 503, expected 200"]
checks:
  description: One result per check, in the order http, tcp, tls, systemd, queue.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check's name.
      type: str
      returned: always
      sample: database
    type:
      description: The kind of check.
      type: str
      returned: always
      sample: tcp
    status:
      description: V(ok), V(warning), V(unknown) or V(fail).
      type: str
      returned: always
      sample: ok
    ok:
      description: Whether RV(checks[].status) is V(ok).
      type: bool
      returned: always
      sample: true
    impact:
      description: The impact a failure of this check has.
      type: str
      returned: always
      sample: outage
    priority:
      description: The support priority of the problem, V(null) when V(ok).
      type: str
      returned: always
      sample: P1
    initial_response_hours:
      description: The initial-response time of RV(checks[].priority), V(null) when V(ok).
      type: int
      returned: always
      sample: 4
    message:
      description: What was found.
      type: str
      returned: always
      sample: "10.231.1.21:5432 accepts connections"
    elapsed_ms:
      description: How long the check took.
      type: int
      returned: always
      sample: 3
    details:
      description:
        - What the check measured. http - C(status_code), C(body) (the first 200 characters), C(version) and
          C(json) (the fields compared). tcp - C(reply). tls - C(not_after), C(days_left), C(subject), C(issuer),
          C(verified), C(verify_error). systemd - C(units) (unit to state). queue - C(backlog), C(max_backlog),
          C(warn_backlog).
      type: dict
      returned: always
      sample: {status_code: 200, version: 6.1.0, json: {status: ok, version: 6.1.0}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._health_check import (
    ENVIRONMENT_TYPES,
    IMPACTS,
    PRIORITIES,
    HealthCheckError,
    run_checks,
    should_fail,
)

_IMPACT = dict(type="str", choices=list(IMPACTS))


def _checks(rules=None, **options):
    """A list of checks of one kind: each has a name, its own options and an impact."""
    spec = dict(type="list", elements="dict", default=[],
                options=dict(name=dict(type="str"), impact=_IMPACT, **options))
    spec.update(rules or {})
    return spec


def argument_spec():
    return dict(
        environment_type=dict(type="str", choices=list(ENVIRONMENT_TYPES), default="production"),
        fail_on=dict(type="list", elements="str", choices=list(PRIORITIES), default=["P1", "P2"]),
        http=_checks(
            url=dict(type="str", required=True),
            method=dict(type="str", choices=["GET", "HEAD"], default="GET"),
            status_code=dict(type="list", elements="int", default=[200]),
            body_contains=dict(type="str"),
            json=dict(type="dict"),
            host_header=dict(type="str"),
            server_name=dict(type="str"),
            headers=dict(type="dict", no_log=True),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            timeout=dict(type="float", default=10),
        ),
        tcp=_checks(
            host=dict(type="str", required=True),
            port=dict(type="int", required=True),
            send=dict(type="str"),
            expect=dict(type="str"),
            timeout=dict(type="float", default=5),
        ),
        tls=_checks(
            host=dict(type="str", required=True),
            port=dict(type="int", default=443),
            server_name=dict(type="str"),
            warn_days=dict(type="int", default=30),
            critical_days=dict(type="int", default=7),
            expired_impact=dict(type="str", choices=list(IMPACTS), default="outage"),
            validate_certs=dict(type="bool", default=False),
            ca_path=dict(type="path"),
            timeout=dict(type="float", default=10),
        ),
        systemd=_checks(
            units=dict(type="list", elements="str", required=True),
        ),
        queue=_checks(
            rules=dict(
                mutually_exclusive=[["command", "sql"]],
                required_one_of=[["command", "sql"]],
                required_by={"sql": "database"},
            ),
            command=dict(type="list", elements="str"),
            sql=dict(type="str"),
            database=dict(type="str", no_log=True),
            psql=dict(type="str", default="psql"),
            max_backlog=dict(type="int", required=True),
            warn_backlog=dict(type="int"),
        ),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)

    def run(argv):
        try:
            return module.run_command(argv, handle_exceptions=False)
        except OSError as exc:  # the program is missing or cannot run: the check cannot tell
            return 127, "", "%s: %s" % (argv[0], exc.strerror or exc)

    try:
        result = run_checks(module.params, run)
    except HealthCheckError as exc:
        module.fail_json(msg=str(exc))
    if should_fail(result, module.params["fail_on"]):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
