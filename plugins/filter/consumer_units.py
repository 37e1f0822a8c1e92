# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systemd units of an application node's message consumers, from the app role's ``app_consumers``."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

# A queue name becomes part of a unit name: keep to what systemd and a shell pattern read unambiguously.
_QUEUE = re.compile(r"^[A-Za-z0-9_.]+$")


def _queues(consumers):
    if not isinstance(consumers, list):
        kind = type(consumers).__name__
        raise AnsibleFilterError("app_consumers must be a list of {queue, consumers}, got %s" % kind)
    seen = set()
    for index, entry in enumerate(consumers):
        where = "app_consumers[%d]" % index
        if not isinstance(entry, dict) or "queue" not in entry:
            raise AnsibleFilterError("%s: expected {queue: NAME, consumers: N}, got %r" % (where, entry))
        queue, count = str(entry["queue"]), entry.get("consumers", 1)
        if not _QUEUE.match(queue):
            raise AnsibleFilterError("%s: queue name %r may hold only letters, digits, '_' and '.'" % (where, queue))
        if queue in seen:
            raise AnsibleFilterError("%s: queue %s is listed twice" % (where, queue))
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise AnsibleFilterError("%s: consumers of %s must be a whole number >= 0, got %r" % (where, queue, count))
        seen.add(queue)
        yield queue, count


def consumer_templates(consumers):
    """Unit templates, one per queue: ``oro-consumer-<queue>@.service``."""
    return ["oro-consumer-%s@.service" % queue for queue, _count in _queues(consumers)]


def consumer_units(consumers):
    """Unit instances: ``oro-consumer-<queue>@<n>.service``, n = 1 … consumers of the queue."""
    return [
        "oro-consumer-%s@%d.service" % (queue, n) for queue, count in _queues(consumers) for n in range(1, count + 1)
    ]


class FilterModule:
    def filters(self):
        return {"consumer_templates": consumer_templates, "consumer_units": consumer_units}
