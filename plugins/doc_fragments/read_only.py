# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes of the modules that only read (the _info modules and access_history)."""

from __future__ import annotations


class ModuleDocFragment:
    # Extends ansible.builtin.action_common_attributes, which describes the attributes; list it first.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    details: Reads only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""
