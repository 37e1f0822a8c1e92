# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.orocloud.ops.plugins.filter.maintenance_window import maintenance_window

NOW = "2026-11-26T10:00:00Z"


@pytest.mark.parametrize(
    "start, duration, state, opens_in, remaining",
    [
        ("2026-11-26T09:30:00Z", 60, "open", 0, 1800),
        ("2026-11-26T10:30:00Z", 60, "not_open", 1800, 3600),
        ("2026-11-26T08:00:00Z", 60, "over", 0, 0),
        ("2026-11-26T11:00:00+01:00", 30, "open", 0, 1800),
        ("", 45, "open", 0, 2700),
    ],
)
def test_window_state(start, duration, state, opens_in, remaining):
    window = maintenance_window(start, duration, now=NOW)
    assert (window["state"], window["opens_in"], window["remaining"]) == (state, opens_in, remaining)


def test_window_bounds_in_utc():
    window = maintenance_window("2026-11-26T23:30:00+01:00", 90, now=NOW)
    assert (window["start"], window["end"]) == ("2026-11-26T22:30:00Z", "2026-11-27T00:00:00Z")


@pytest.mark.parametrize(
    "start, duration, message",
    [
        ("tomorrow", 60, "patch_window_start 'tomorrow' is not an ISO 8601 time"),
        ("2026-11-26T22:00:00", 60, "has no time zone"),
        ("2026-11-26T22:00:00Z", 0, "duration must be a number of minutes > 0"),
        ("2026-11-26T22:00:00Z", "60", "duration must be a number of minutes > 0"),
    ],
)
def test_bad_window(start, duration, message):
    with pytest.raises(AnsibleFilterError) as error:
        maintenance_window(start, duration, now=NOW)
    assert message in str(error.value)
