# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a declared maintenance (downtime) window stands: not open yet, open, or over."""

from __future__ import annotations

import datetime

from ansible.errors import AnsibleFilterError


def _parse(value, name):
    text = str(value).strip()
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AnsibleFilterError(
            "%s %r is not an ISO 8601 time such as 2026-11-26T22:00:00Z" % (name, text)
        ) from None
    if moment.tzinfo is None:
        raise AnsibleFilterError("%s %r has no time zone: add Z (UTC) or an offset such as +01:00" % (name, text))
    return moment.astimezone(datetime.timezone.utc)


def maintenance_window(start, duration, now=None, name="patch_window_start"):
    """``start`` (ISO 8601 with zone; empty = now) and ``duration`` (minutes) → the window's state at ``now``."""
    current = _parse(now, "now") if now else datetime.datetime.now(datetime.timezone.utc)
    begin = _parse(start, name) if start else current
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration <= 0:
        raise AnsibleFilterError("the window's duration must be a number of minutes > 0, got %r" % (duration,))
    end = begin + datetime.timedelta(minutes=duration)
    if current < begin:
        state = "not_open"
    elif current >= end:
        state = "over"
    else:
        state = "open"
    return {
        "start": begin.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": duration,
        "state": state,
        "opens_in": max(0, round((begin - current).total_seconds())),
        "remaining": max(0, round((end - max(current, begin)).total_seconds())),
    }


class FilterModule:
    def filters(self):
        return {"maintenance_window": maintenance_window}
