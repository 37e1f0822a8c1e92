#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_release
short_description: Install an OroCommerce release tarball, switch C(current) atomically, keep N releases, roll back
version_added: 0.1.0
description:
  - Manages the release directories of an OroCommerce application under O(app_root), in the layout of the
    C(orocloud.ops.app) role (docs/application.md) - C(releases/<version>/) unpacked once, root-owned, with
    C(var), C(public/media) and C(.env-app.local) linked to C(shared/); C(current) a symlink to
    C(<app_root>/releases/<version>); C(shared/) C(root:<group>) 1775 with C(var/), C(public/) and
    C(public/media/) belonging to O(owner).
  - The tarball's sha256 is verified and its C(VERSION) file read before anything is unpacked, in check mode
    too; a tarball of another version is refused, naming the artifact and both versions.
  - A release is unpacked into a temporary directory inside C(releases/) and renamed into place, so that an
    interrupted run never leaves half a release under a release's name (temporary names start with a dot and
    are removed by the next run). Members with absolute names, C(..), devices, FIFOs, duplicates, or a path
    through a link are refused; unpacked files belong to the user the module runs as and lose setuid, setgid
    and group/other write bits.
  - C(current) is switched atomically - a new symlink renamed over the old one - so that every request is
    served by one release or the other. Reloading php-fpm (opcache) afterwards is the caller's job.
  - C(releases/.history.json) records the releases in the order they became current; a rollback goes back
    to the release that was current before. A switch made without this module (such as the app role's first
    installation) is taken into the record from the C(current) symlink itself.
  - At most O(keep) releases are kept; the oldest installed go first. The current release, the previous one,
    the release O(version) and those in O(protect) are never removed.
  - Each call that changes something (not in check mode) is recorded in the node's operation log - operation
    C(release), action C(rollback), C(switch), C(install) (the release unpacked or its layout and links put
    right) or C(cleanup) (only old releases or leftovers removed), details the version, the current release before
    and after and the releases removed; a run that stopped half way as V(failed).
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later on the node, standard library only.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - orocloud.ops.operation_log
attributes:
  check_mode:
    support: full
    details:
      - Verifies the artifact (sha256, version) and reports every change it would make, without writing.
      - Records nothing in the operation log.
  diff_mode:
    support: full
    details: The current release and the list of releases, before and after.
  platform:
    platforms: posix
options:
  app_root:
    description: The application root.
    type: path
    default: /var/www/oro
  version:
    description:
      - The release, for example V(6.1.1). It is the name of its directory in C(releases/) and the content of
        the tarball's C(VERSION) file.
      - With O(state=rolled_back), the release to roll back from.
    type: str
    required: true
  state:
    description:
      - V(present) - the release is unpacked in C(releases/<version>) with its shared links; C(current) is left
        alone.
      - V(current) - V(present), and C(current) points to it.
      - V(rolled_back) - O(version) is not current. When it is, C(current) goes back to the release that was
        current before it (from C(releases/.history.json)); the task fails when none is recorded or its directory
        is gone or incomplete. When O(version) is not current nothing changes, so that a recovery step can run
        whether or not the switch happened.
    type: str
    choices: [present, current, rolled_back]
    default: current
  artifact:
    description:
      - The release tarball B(on the node) (copy it there first, for example with M(ansible.builtin.copy)), for
        example C(/var/tmp/orocommerce-demo-6.1.1.tar.gz). Any compression C(tar) reads (gzip, bzip2, xz).
      - Required while the release is not installed; not read once it is.
      - It must unpack to one top directory (see O(strip_components)) holding a C(VERSION) file.
    type: path
  checksum:
    description:
      - The tarball's sha256 (64 hexadecimal digits, optionally prefixed C(sha256:)).
      - Default - the first word of C(<artifact>.sha256) beside the tarball (C(sha256sum) format).
    type: str
  keep:
    description:
      - How many releases to keep; older ones are removed, the oldest installed first. V(0) keeps all.
      - The current and previous releases, O(version) and O(protect) are kept even when that makes more.
    type: int
    default: 3
  protect:
    description: Releases never removed by O(keep).
    type: list
    elements: str
    default: []
  owner:
    description: The application's user, owner of C(shared/var), C(shared/public) and C(shared/public/media).
    type: str
    default: www-data
  group:
    description: The application's group, group of C(shared/) and the directories in it.
    type: str
    default: www-data
  strip_components:
    description: Leading path components removed from the tarball's members (its top directory).
    type: int
    default: 1
notes:
  - Run it with become (root). Release directories, C(current) and C(releases/.history.json) belong to the user
    the module runs as.
  - Use M(orocloud.ops.run_lock) so that only one operation at a time changes an environment.
seealso:
  - module: orocloud.ops.app_maintenance
  - module: orocloud.ops.app_services
"""

EXAMPLES = r"""
- name: Copy the release tarball and its checksum to the node
  ansible.builtin.copy:
    src: "{{ item }}"
    dest: /var/tmp/
    mode: "0644"
  loop:
    - releases/orocommerce-6.1.1.tar.gz
    - releases/orocommerce-6.1.1.tar.gz.sha256

- name: Unpack release 6.1.1 without switching to it
  orocloud.ops.app_release:
    version: "6.1.1"
    artifact: /var/tmp/orocommerce-6.1.1.tar.gz
    state: present
  become: true

- name: Switch to release 6.1.1, keeping three releases
  orocloud.ops.app_release:
    version: "6.1.1"
    state: current
    keep: 3
  become: true
  register: release

- name: Reload php-fpm when the code changed (opcache)
  ansible.builtin.systemd_service:
    name: php8.2-fpm
    state: reloaded
  become: true
  when: release.switched

- name: Go back to the release that ran before 6.1.1 (nothing happens when 6.1.1 is not current)
  orocloud.ops.app_release:
    version: "6.1.1"
    state: rolled_back
  become: true

- name: Install with a checksum given and keep the last LTS release whatever happens
  orocloud.ops.app_release:
    app_root: /srv/oro
    version: "7.0.1"
    artifact: /var/tmp/orocommerce-7.0.1.tar.gz
    checksum: "sha256:8f2b0c6f7a3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789ab"
    protect: ["6.1.4"]
  become: true
"""

RETURN = r"""
version:
  description: The release asked for.
  returned: always
  type: str
  sample: 6.1.1
release_dir:
  description: The release's directory.
  returned: always
  type: str
  sample: /var/www/oro/releases/6.1.1
current:
  description: The release C(current) points to after the run, V(null) without C(current).
  returned: always
  type: str
  sample: 6.1.1
previous:
  description:
    - The release that was current before RV(current) (where a rollback would go), V(null) when none is recorded.
  returned: always
  type: str
  sample: 6.1.0
releases:
  description: The releases in C(releases/) after the run, in version order.
  returned: always
  type: list
  elements: str
  sample: ["6.1.0", "6.1.1"]
removed:
  description: The releases removed (or, in check mode, to be removed) to keep O(keep).
  returned: always
  type: list
  elements: str
  sample: ["6.0.9"]
installed:
  description: Whether the release was unpacked (or would be, in check mode).
  returned: always
  type: bool
  sample: true
switched:
  description: Whether C(current) was switched (or would be, in check mode).
  returned: always
  type: bool
  sample: true
rolled_back:
  description: V({from, to}) when this run rolled back, else V(null).
  returned: always
  type: dict
  sample: {from: 6.1.1, to: 6.1.0}
changes:
  description: What the run changed (or would change, in check mode), one line each.
  returned: always
  type: list
  elements: str
  sample:
    - unpack /var/tmp/orocommerce-6.1.1.tar.gz into /var/www/oro/releases/6.1.1
    - switch /var/www/oro/current from 6.1.0 to 6.1.1
diff:
  description: The current release and the releases before and after the run.
  returned: when diff mode is on
  type: dict
  sample: {before: {current: 6.1.0, releases: ["6.1.0"]}, after: {current: 6.1.1, releases: ["6.1.0", "6.1.1"]}}
log_entry:
  description:
    - The entry written to the operation log, V(null) when nothing was recorded - nothing changed, check mode,
      O(log=false), or the log could not be written (a warning says why).
    - See M(orocloud.ops.operation_log) for its fields.
  returned: always
  type: dict
  sample:
    time: "2026-03-02T10:10:00Z"
    user: alice
    login: alice
    host: acme-prod-web1
    environment: acme-prod
    operation: release
    action: switch
    details: {version: 6.1.1, state: current, from: 6.1.0, to: 6.1.1, installed: false, removed: ["6.0.9"]}
    result: changed
    run_id: 3f9a0c1e5b7d4a2f8e6c0b1a9d8e7f60
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._app_release import STATES, ReleaseError, ensure_release
from ansible_collections.orocloud.ops.plugins.module_utils._operation_log import LOG_ARGUMENT_SPEC, exit_recorded

# The action a run that stopped half way was taking.
_ACTIONS = {"present": "install", "current": "switch", "rolled_back": "rollback"}


def _log_action(params, result):
    """What the run did, for the operation log: rollback, switch, install, or cleanup (only removals)."""
    if result.get("failed"):
        return _ACTIONS[params["state"]]
    if result["rolled_back"]:
        return "rollback"
    if result["switched"]:
        return "switch"
    if all(change.startswith("remove ") for change in result["changes"]):
        return "cleanup"
    return "install"


def _log_details(params, result):
    details = dict(version=params["version"], state=params["state"])
    if result.get("failed"):
        details["error"] = result["msg"]
    else:
        details["from"] = result["diff"]["before"]["current"]
        details.update(to=result["current"], installed=result["installed"], removed=result["removed"])
    return details


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app_root=dict(type="path", default="/var/www/oro"),
            version=dict(type="str", required=True),
            state=dict(type="str", choices=list(STATES), default="current"),
            artifact=dict(type="path"),
            checksum=dict(type="str"),
            keep=dict(type="int", default=3),
            protect=dict(type="list", elements="str", default=[]),
            owner=dict(type="str", default="www-data"),
            group=dict(type="str", default="www-data"),
            strip_components=dict(type="int", default=1),
            **LOG_ARGUMENT_SPEC,
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = ensure_release(params, check_mode=module.check_mode)
    except ReleaseError as exc:
        if exc.changed:
            message = "%s. The run stopped half way; run it again." % str(exc).rstrip(".")
        else:
            message = "%s. Nothing was changed." % str(exc).rstrip(".")
        result = dict(failed=True, msg=message, changed=exc.changed)
    exit_recorded(module, result, "release", _log_action(params, result), _log_details(params, result))


if __name__ == "__main__":
    main()
