# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the module tests read in a module's result."""

from __future__ import annotations


def warnings(result):
    """The warnings' texts, whichever form ansible-core uses (strings, or 2.19+'s structured events)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
