# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built-in release catalog of OroCommerce LTS lines and their releases: data only.

The rules that use it (support windows, allowed paths, steps) live in ``_lts_plan``. A YAML file given to
``orocloud.ops.lts_plan``'s ``catalog`` option adds releases and lines or overrides these entries, in the
same shape (see docs/upgrades.md). Both tables are validated by ``_lts_plan`` exactly like such a file.

Sources: Oro's documentation banners ("You are browsing documentation for version X of OroCommerce,
supported until ...", doc.oroinc.com/<version>/), the release process page
(doc.oroinc.com/community/release-process/) and the release tags of github.com/oroinc/orocommerce-application.
Where they disagree, the choice made here:

* Month of an LTS line. Oro counts a line's support from its LTS month: 5.1 is "supported until March 2027"
  (48 months from March 2023) although the 5.1.0 tag is dated 4 April 2023, and 5.0's support "ended in
  January 2025" (36 months from January 2022). The oro-operations reference says LTS lines come out in March;
  the lines before 5.1 came out in January or February (4.1.0 tagged 31 January 2020, 4.2.0 6 February 2021).
  ``LINES`` holds the month Oro counts from where Oro states an end date (5.0, 5.1); for 4.1 and 4.2 the
  month of the x.y.0 tag; from 6.0 on the LTS month, March (6.0: "supported until 2028", no month given;
  6.1.0 tagged 1 April 2025, like 5.1; 7.0: "scheduled for release in 2026").
* Length of support. The seed (orocloud-infrastructure) says LTS versions are "supported for 36 months";
  the documentation of 5.1 and later implies 48 months. The policy in ``_lts_plan``: 36 months before 5.1,
  48 months from 5.1 on, plus 24 months of extended coverage for those who have it.
* Release day. A tag's date where it is known; otherwise (5.0.0, 6.0.0, 7.0.0) the last day of the month
  Oro names, marked ``~`` below.

6.1.1 and 6.1.2 are the releases of the lab's demo application (tests/fixtures/demo_app): their
``schema_change`` and ``reindex`` describe the demo's releases (6.1.1 code only, 6.1.2 a migration), not
Oro's own 6.1.1 and 6.1.2, and their dates are placeholders between 6.1.0 and 7.0.0. The x.y.0 releases all
carry migrations and need a full search reindex. Further patch releases are not listed: add those you run
with a catalog file.
"""

from __future__ import annotations

# LTS lines: line, the month its support is counted from (YYYY-MM).
LINES = (
    ("4.1", "2020-01"),
    ("4.2", "2021-02"),
    ("5.0", "2022-01"),
    ("5.1", "2023-03"),
    ("6.0", "2024-03"),
    ("6.1", "2025-03"),
    ("7.0", "2026-03"),
)

# Releases: version, release date (YYYY-MM-DD), schema_change, reindex (required | recommended | none).
RELEASES = (
    ("4.1.0", "2020-01-31", True, "required"),
    ("4.2.0", "2021-02-06", True, "required"),
    ("5.0.0", "2022-01-31", True, "required"),  # ~ day
    ("5.1.0", "2023-04-04", True, "required"),
    ("6.0.0", "2024-03-31", True, "required"),  # ~ day
    ("6.1.0", "2025-04-01", True, "required"),
    ("6.1.1", "2025-05-15", False, "recommended"),  # lab demo: code only, rolling-safe
    ("6.1.2", "2025-07-10", True, "recommended"),  # lab demo: a migration
    ("7.0.0", "2026-03-31", True, "required"),  # ~ day
)
