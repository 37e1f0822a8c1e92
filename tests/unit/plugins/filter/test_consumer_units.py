# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.orocloud.ops.plugins.filter.consumer_units import consumer_templates, consumer_units


def test_one_unit_per_consumer_queue_by_queue():
    consumers = [
        {"queue": "oro.default", "consumers": 2},
        {"queue": "oro.index"},
        {"queue": "oro.system", "consumers": 0},
    ]
    assert consumer_units(consumers) == [
        "oro-consumer-oro.default@1.service",
        "oro-consumer-oro.default@2.service",
        "oro-consumer-oro.index@1.service",
    ]
    assert consumer_templates(consumers) == [
        "oro-consumer-oro.default@.service",
        "oro-consumer-oro.index@.service",
        "oro-consumer-oro.system@.service",
    ]


def test_no_consumers():
    assert consumer_units([]) == []


@pytest.mark.parametrize(
    "consumers, message",
    [
        ({"queue": "oro.default"}, "app_consumers must be a list"),
        (["oro.default"], "app_consumers[0]: expected {queue: NAME, consumers: N}"),
        ([{"queue": "oro default"}], "app_consumers[0]: queue name 'oro default' may hold only"),
        ([{"queue": "a-b"}], "queue name 'a-b'"),
        ([{"queue": "q"}, {"queue": "q"}], "app_consumers[1]: queue q is listed twice"),
        ([{"queue": "q", "consumers": -1}], "app_consumers[0]: consumers of q must be a whole number >= 0"),
        ([{"queue": "q", "consumers": "2"}], "must be a whole number"),
        ([{"queue": "q", "consumers": True}], "must be a whole number"),
    ],
)
def test_bad_input_names_the_entry(consumers, message):
    with pytest.raises(AnsibleFilterError) as error:
        consumer_units(consumers)
    assert message in str(error.value)
