#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_release_info
short_description: Show which OroCommerce release a node runs, which it ran before and which it keeps
version_added: 0.1.0
description:
  - Reads the release directories of an OroCommerce application under O(app_root), in the layout that
    M(orocloud.ops.app_release) and the C(orocloud.ops.app) role keep (docs/application.md), and returns the
    current release, the previous one (the release a rollback goes back to), the releases kept and when each was
    installed, the record of switches, and what an interrupted install left behind.
  - A release counts as installed when its directory's C(VERSION) file names it, as for
    M(orocloud.ops.app_release); other directories of C(releases/) are listed as RV(incomplete).
  - A C(current) that is not a symlink into C(releases/) fails the task, naming it.
  - Never changes anything.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node, standard library only.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - orocloud.ops.read_only
options:
  app_root:
    description: The application root.
    type: path
    default: /var/www/oro
notes:
  - The layout is readable by every user of the node; C(become) is not needed.
seealso:
  - module: orocloud.ops.app_release
"""

EXAMPLES = r"""
- name: Read the releases of each application node
  orocloud.ops.app_release_info:
  register: oro_releases

- name: Say what a rollback would go back to
  ansible.builtin.debug:
    msg: >-
      {{ inventory_hostname }} runs {{ oro_releases.current }}; a rollback goes back to
      {{ oro_releases.previous | default('nothing', true) }}; kept: {{ oro_releases.releases | join(', ') }}

- name: Refuse to go on while the nodes run different releases
  ansible.builtin.assert:
    that: ansible_play_hosts | map('extract', hostvars, ['oro_releases', 'current']) | unique | length == 1
    fail_msg: The nodes run different releases.
  run_once: true
"""

RETURN = r"""
app_root:
  description: The application root that was read.
  returned: always
  type: str
  sample: /var/www/oro
current:
  description: The release C(current) points to; V(null) when there is no C(current).
  returned: always
  type: str
  sample: 6.1.1
previous:
  description:
    - The release that was current before RV(current), where M(orocloud.ops.app_release) C(state=rolled_back)
      would go back to; V(null) when the record knows none.
  returned: always
  type: str
  sample: 6.1.0
releases:
  description: The installed releases, in version order.
  returned: always
  type: list
  elements: str
  sample: ["6.1.0", "6.1.1", "6.1.2"]
incomplete:
  description:
    - Directories of C(releases/) that are no complete release (their C(VERSION) file is missing or names another
      release).
  returned: always
  type: list
  elements: str
  sample: []
installed:
  description:
    - When each installed release was installed (UTC), from the record of M(orocloud.ops.app_release), else the
      time of its directory.
  returned: always
  type: dict
  sample: {"6.1.0": "2026-01-12T09:00:00Z", "6.1.1": "2026-03-02T10:06:00Z", "6.1.2": "2026-04-07T21:02:00Z"}
history:
  description: The releases in the order they became current, the last one being RV(current).
  returned: always
  type: list
  elements: dict
  contains:
    version:
      description: The release.
      type: str
    at:
      description: When it became current (UTC).
      type: str
  sample: [{"version": "6.1.0", "at": "2026-01-12T09:00:00Z"}, {"version": "6.1.1", "at": "2026-03-02T10:10:00Z"}]
leftovers:
  description: Temporary files and directories an interrupted run left behind (the next install removes them).
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._app_release import ReleaseError, release_info


def main():
    module = AnsibleModule(
        argument_spec=dict(app_root=dict(type="path", default="/var/www/oro")),
        supports_check_mode=True,
    )
    try:
        result = release_info(module.params["app_root"])
    except ReleaseError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
