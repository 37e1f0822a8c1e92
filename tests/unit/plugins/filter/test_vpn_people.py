# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.orocloud.ops.plugins.filter.vpn_people import vpn_people

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJs9sukLeM8m6SNcuejpUGWhe86U4PeR8nE3V9qZzqZS alice@laptop"


def test_present_only_with_vpn_and_the_environment():
    users = [
        {"name": "alice", "environments": ["prod"], "vpn": True, "ssh_keys": [{"key": ED25519}]},
        {"name": "bob", "environments": ["prod"]},
        {"name": "carol", "environments": ["stage"], "vpn": True},
        {"name": "dave", "environments": ["pr*"], "vpn": True},
        {"name": "erin", "environments": ["*"], "vpn": True},
        {"name": "frank", "state": "absent", "vpn": True},
    ]
    assert vpn_people(users, "prod") == [
        {"name": "alice", "state": "present"},
        {"name": "bob", "state": "absent"},
        {"name": "carol", "state": "absent"},
        {"name": "dave", "state": "present"},
        {"name": "erin", "state": "present"},
        {"name": "frank", "state": "absent"},
    ]


def test_no_records():
    assert vpn_people(None, "prod") == []
    assert vpn_people([], "prod") == []


@pytest.mark.parametrize(
    "users, message",
    [
        ([{"name": "alice", "environments": ["prod"], "ssh_keys": [{"key": "ssh-dss AAAAB3NzaC1kc3M= old"}]}],
         "user alice: ssh_keys[0] (old)"),
        ([{"name": "Alice", "environments": ["prod"]}], "the name 'Alice' is not a valid user name"),
        ([{"name": "alice"}], "user alice: environments is required"),
        ([{"name": "alice", "environments": ["prod"]}, {"name": "alice", "environments": ["prod"]}], "listed twice"),
    ],
)
def test_a_bad_record_fails_naming_the_person(users, message):
    with pytest.raises(AnsibleFilterError) as failure:
        vpn_people(users, "prod")
    assert message in str(failure.value)
    assert "nothing was changed" in str(failure.value)


@pytest.mark.parametrize("users, environment", [("alice", "prod"), ([["alice"]], "prod"), ([], ""), ([], None)])
def test_bad_arguments(users, environment):
    with pytest.raises(AnsibleFilterError):
        vpn_people(users, environment)
