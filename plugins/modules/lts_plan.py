#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lts_plan
short_description: Plan an OroCommerce upgrade along the LTS release policy
version_added: 0.1.0
description:
  - Computes the ordered steps that take an OroCommerce application from O(current) to O(target) the way Oro's
    release policy allows, and says for each step whether it can run as a rolling upgrade or needs downtime.
  - Versions are C(MAJOR.MINOR.PATCH); an LTS line is C(MAJOR.MINOR) (one a year) and gets patch releases while it
    is supported. The release catalog built into the collection lists the LTS lines and releases;
    O(catalog) adds or overrides releases.
  - "Support: 36 months from the line's release month for lines before 5.1, 48 months from 5.1 on; extended
    coverage adds 24 months."
  - "Paths: within a line, one V(patch) step straight to the target patch. To the next LTS line: first a V(patch)
    step to the latest patch of the current line (unless already there), then one V(lts) step. Jumping over an LTS
    line is refused, except from a line older than 5.1 straight to 6.1 (one V(lts) step from any patch).
    Downgrades, unknown versions, malformed versions and targets not released yet on O(today) are refused; the
    same version gives an empty plan."
  - A step is rolling-safe when it is a V(patch) step and no release it brings changes the schema (one migration
    in the range makes the whole step a V(downtime) step). V(lts) steps always need downtime and a full search
    reindex.
  - A target whose line is no longer covered on O(today) is refused (covered means within support, or within
    extended coverage when O(extended_coverage) is set). A current line past its support, or any line whose
    coverage ends within O(warn_days), gives a warning.
  - Never changes anything. See C(docs/upgrades.md) in the collection for the policy and the catalog format.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - PyYAML on the host running the module, only to read O(catalog).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode gives the same plan.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  current:
    description:
      - The version the application runs, for example the inventory's C(orocloud_application_version).
    type: str
    required: true
  target:
    description:
      - The version to reach, C(MAJOR.MINOR.PATCH).
      - V(latest) is the latest patch released on O(today) of the LTS line of O(current).
      - V(next_lts) is the latest patch released on O(today) of the LTS line O(current) upgrades to - the next line,
        or 6.1 from a line older than 5.1.
    type: str
    default: latest
  today:
    description:
      - The date the plan is made for, C(YYYY-MM-DD); default the current date on the host running the module.
      - Set it for reproducible plans. Releases dated after it are not out yet.
    type: str
  extended_coverage:
    description:
      - The environment has Oro's extended coverage, which covers a line 24 months beyond its support.
    type: bool
    default: false
  warn_days:
    description:
      - Warn when the coverage of the current or target line ends within this many days.
    type: int
    default: 90
  catalog:
    description:
      - A YAML file on the host running the module that adds LTS lines and releases to the built-in catalog or
        overrides its entries (same line or version).
      - "It holds C(lines) (entries with C(line) as a quoted string such as C(\"7.0\"), C(released) as the month
        C(YYYY-MM) support is counted from, optional C(support_months)) and/or C(releases) (entries with
        C(version), C(released) as C(YYYY-MM-DD), C(schema_change) true or false, C(reindex) one of C(required),
        C(recommended), C(none))."
      - The file is validated strictly; every problem is reported with the file and the entry, for example
        C(releases[2]) and its version.
    type: path
notes:
  - The built-in catalog lists each LTS line's first release and the demo application's 6.1.1 (code only) and 6.1.2
    (a migration); add the patch releases you run with O(catalog).
seealso:
  - name: Oro release process
    description: LTS versions, patch releases and the support cycle.
    link: https://doc.oroinc.com/community/release-process/
"""

EXAMPLES = r"""
- name: Plan the upgrade to the latest patch of the environment's LTS line
  orocloud.ops.lts_plan:
    current: "{{ orocloud_application_version }}"
  register: plan
  delegate_to: localhost
  run_once: true

- name: Show the steps and the recommended strategy
  ansible.builtin.debug:
    msg: "{{ plan.msg }}"
  run_once: true

- name: Plan the upgrade to the next LTS line, with the project's own patch releases and extended coverage
  orocloud.ops.lts_plan:
    current: 6.1.0
    target: next_lts
    catalog: "{{ playbook_dir }}/files/oro-releases.yml"
    extended_coverage: true
    warn_days: 180
  register: plan
  delegate_to: localhost

- name: Refuse a rolling patch the plan does not allow
  ansible.builtin.assert:
    that: plan.rolling_safe
    fail_msg: "{{ plan.current }} to {{ plan.target }} changes the schema: use the downtime strategy"

- name: Reproduce a plan made on a given day
  orocloud.ops.lts_plan:
    current: 6.1.0
    target: 6.1.1
    today: "2026-11-26"
"""

RETURN = r"""
current:
  description: The current version (O(current)).
  returned: success
  type: str
  sample: 6.1.0
target:
  description: The target version O(target) resolved to.
  returned: success
  type: str
  sample: 6.1.2
today:
  description: The date the plan was made for.
  returned: success
  type: str
  sample: "2026-11-26"
steps:
  description: The upgrade steps in the order to run them; empty when O(current) is already the target.
  returned: success
  type: list
  elements: dict
  contains:
    from:
      description: The version the step starts from.
      type: str
      returned: always
      sample: 6.1.0
    to:
      description: The version the step ends on.
      type: str
      returned: always
      sample: 6.1.2
    kind:
      description: V(patch) within an LTS line, V(lts) to another line.
      type: str
      returned: always
      sample: patch
    releases:
      description: The catalog's releases the step brings, after RV(steps[].from) up to RV(steps[].to) included.
      type: list
      elements: str
      returned: always
      sample: [6.1.1, 6.1.2]
    schema_change:
      description: Whether a release the step brings changes the database schema.
      type: bool
      returned: always
      sample: true
    rolling_safe:
      description: Whether old and new code can run side by side during the step (a patch step without schema change).
      type: bool
      returned: always
      sample: false
    reindex:
      description: The search reindex the step needs - V(required), V(recommended) or V(none).
      type: str
      returned: always
      sample: recommended
    strategy:
      description: The recommended strategy for the step, V(rolling) when rolling-safe, else V(downtime).
      type: str
      returned: always
      sample: downtime
rolling_safe:
  description: Whether every step is rolling-safe (V(true) for an empty plan).
  returned: success
  type: bool
  sample: false
strategy:
  description:
    - The recommended strategy for the whole plan, V(rolling) when every step is rolling-safe, else V(downtime).
  returned: success
  type: str
  sample: downtime
reindex:
  description: The strongest reindex need of the steps, V(none) for an empty plan.
  returned: success
  type: str
  sample: recommended
support:
  description: The support of the current and the target LTS lines on RV(today).
  returned: success
  type: dict
  contains:
    current:
      description: The current version's line.
      type: dict
      returned: always
      sample:
        line: "6.1"
        released: "2025-03"
        support_months: 48
        ends: "2029-03-31"
        extended_ends: "2031-03-31"
        status: supported
        covered: true
        covered_until: "2029-03-31"
        days_left: 856
        latest: 6.1.2
    target:
      description:
        - The target version's line, with the same keys - C(line), C(released) (the month support is counted from),
          C(support_months), C(ends) (last day of support), C(extended_ends) (last day of extended coverage),
          C(status) (V(supported), V(extended) within the extended-coverage window, V(ended)), C(covered) (covered
          on RV(today) given O(extended_coverage)), C(covered_until), C(days_left) (to C(covered_until), negative once
          past) and C(latest) (the line's latest release on RV(today)).
      type: dict
      returned: always
      sample:
        line: "6.1"
        released: "2025-03"
        support_months: 48
        ends: "2029-03-31"
        extended_ends: "2031-03-31"
        status: supported
        covered: true
        covered_until: "2029-03-31"
        days_left: 856
        latest: 6.1.2
warnings:
  description:
    - Support warnings - a current line past its end of life or needing extended coverage, a line whose coverage ends
      within O(warn_days). Shown as task warnings too.
  returned: when there are warnings
  type: list
  elements: str
  sample:
    - "LTS 5.0 (current 5.0.0): support ended on 2025-01-31; extended coverage is needed
      (it covers the line until 2027-01-31)"
msg:
  description: The plan in one line, or C(already at <version>).
  returned: always
  type: str
  sample: "upgrade 6.1.0 to 6.1.2 in 1 step: 6.1.0 -> 6.1.2 (patch, downtime); strategy downtime"
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._lts_plan import (
    DEFAULT_WARN_DAYS,
    LtsPlanError,
    default_catalog,
    load_catalog_file,
    parse_date,
    plan,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            current=dict(type="str", required=True),
            target=dict(type="str", default="latest"),
            today=dict(type="str"),
            extended_coverage=dict(type="bool", default=False),
            warn_days=dict(type="int", default=DEFAULT_WARN_DAYS),
            catalog=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        today = parse_date(params["today"]) if params["today"] else datetime.date.today()
        catalog = default_catalog()
        if params["catalog"]:
            catalog = load_catalog_file(params["catalog"], catalog)
        result = plan(
            catalog,
            params["current"],
            params["target"],
            today=today,
            extended_coverage=params["extended_coverage"],
            warn_days=params["warn_days"],
        )
    except LtsPlanError as exc:
        module.fail_json(msg=str(exc), changed=False)

    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
