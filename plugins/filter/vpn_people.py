# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VPN gateway's people, from the user records that orocloud.ops.access_users reads."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.orocloud.ops.plugins.module_utils._access_users import AccessUsersError, load_records


def vpn_people(users, environment):
    """``users`` (the user records) on the gateway of ``environment`` -> ``[{name, state}]``.

    Every record is checked as orocloud.ops.access_users checks it (names, keys, dates, environments), so a
    mistake fails here, on the controller, before anything changes on any host. A person is ``present`` on
    the gateway when their record is present, says ``vpn: true`` and grants access to ``environment``;
    everybody else with a record is ``absent`` (revoked if they were enrolled).
    """
    if users is None:
        users = []
    if not isinstance(users, list) or not all(isinstance(user, dict) for user in users):
        raise AnsibleFilterError("vpn_people: the user records must be a list of dicts (access_users)")
    if not isinstance(environment, str) or not environment:
        raise AnsibleFilterError("vpn_people: the environment must be a name such as 'prod', got %r" % (environment,))
    try:
        records = load_records(users, environment)
    except AccessUsersError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return [
        {"name": record.name, "state": "present" if record.vpn and record.grants(environment) else "absent"}
        for record in records
    ]


class FilterModule:
    def filters(self):
        return {"vpn_people": vpn_people}
