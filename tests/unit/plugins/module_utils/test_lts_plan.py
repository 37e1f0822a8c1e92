# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the LTS release policy: the built-in catalog, support windows, upgrade paths, refusals,
warnings and catalog files, all on a fixed ``today``."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils import _lts_catalog
from ansible_collections.orocloud.ops.plugins.module_utils import _lts_plan as lp

TODAY = datetime.date(2026, 11, 26)


def day(text):
    return datetime.date.fromisoformat(text)


@pytest.fixture(scope="module")
def catalog():
    return lp.default_catalog()


def extended(*releases, lines=()):
    """The built-in catalog plus releases given as (version, date, schema_change, reindex)."""
    document = {"releases": [
        {"version": v, "released": d, "schema_change": s, "reindex": r} for v, d, s, r in releases
    ]}
    if lines:
        document["lines"] = list(lines)
    return lp.build_catalog(document, "test.yml", lp.default_catalog())


def summary(result):
    return [(s["from"], s["to"], s["kind"], s["strategy"]) for s in result["steps"]]


# ---------------------------------------------------------------------------------------- the catalog


def test_builtin_catalog_holds_the_lab_releases_with_their_properties(catalog):
    def release(text):
        return catalog.releases[lp.parse_version(text)]

    assert release("6.1.0").schema_change is True
    assert (release("6.1.1").schema_change, release("6.1.1").reindex) == (False, "recommended")
    assert (release("6.1.2").schema_change, release("6.1.2").reindex) == (True, "recommended")
    assert (release("7.0.0").schema_change, release("7.0.0").reindex) == (True, "required")
    assert [lp.format_version(k) for k in catalog.line_keys()] == ["4.1", "4.2", "5.0", "5.1", "6.0", "6.1", "7.0"]
    assert catalog.sources == (lp.BUILTIN_SOURCE,)


def test_builtin_tables_are_plain_sorted_and_every_line_has_its_first_release():
    versions = [lp.parse_version(row[0]) for row in _lts_catalog.RELEASES]
    assert versions == sorted(versions)
    lines = [row[0] for row in _lts_catalog.LINES]
    assert lines == sorted(lines, key=lambda text: tuple(int(p) for p in text.split(".")))
    assert {line + ".0" for line in lines} <= {row[0] for row in _lts_catalog.RELEASES}
    dates = [row[1] for row in _lts_catalog.RELEASES]
    assert dates == sorted(dates)


@pytest.mark.parametrize(
    "line, ends, extended_ends, months",
    [
        ("4.1", "2023-01-31", "2025-01-31", 36),
        ("4.2", "2024-02-29", "2026-02-28", 36),
        ("5.0", "2025-01-31", "2027-01-31", 36),  # Oro: "Support of this version ended in January 2025"
        ("5.1", "2027-03-31", "2029-03-31", 48),  # Oro: "supported until March 2027"
        ("6.0", "2028-03-31", "2030-03-31", 48),  # Oro: "supported until 2028"
        ("6.1", "2029-03-31", "2031-03-31", 48),
        ("7.0", "2030-03-31", "2032-03-31", 48),
    ],
)
def test_support_windows_match_the_policy_and_oros_published_dates(catalog, line, ends, extended_ends, months):
    info = lp.support(catalog, tuple(int(p) for p in line.split(".")), TODAY)

    assert (info["ends"], info["extended_ends"], info["support_months"]) == (ends, extended_ends, months)


@pytest.mark.parametrize(
    "today, extended_coverage, expected",
    [
        # today, extended coverage -> status, covered, covered_until, days_left
        ("2029-03-31", False, ("supported", True, "2029-03-31", 0)),  # the last day of March is still supported
        ("2029-04-01", False, ("extended", False, "2029-03-31", -1)),
        ("2029-04-01", True, ("extended", True, "2031-03-31", 729)),
        ("2031-03-31", True, ("extended", True, "2031-03-31", 0)),
        ("2031-04-01", True, ("ended", False, "2031-03-31", -1)),
        ("2026-11-26", False, ("supported", True, "2029-03-31", 856)),
    ],
)
def test_support_status_at_the_boundaries(catalog, today, extended_coverage, expected):
    info = lp.support(catalog, (6, 1), day(today), extended_coverage)

    assert (info["status"], info["covered"], info["covered_until"], info["days_left"]) == expected
    assert info["latest"] == "6.1.2"


def test_latest_of_a_line_ignores_releases_not_out_yet(catalog):
    assert lp.support(catalog, (6, 1), day("2025-06-01"))["latest"] == "6.1.1"
    assert lp.support(catalog, (7, 0), day("2026-01-01"))["latest"] is None


# ------------------------------------------------------------------------------------------- paths

PATHS = [
    # current, target, resolved target, [(from, to, kind, strategy)]
    ("6.1.0", "6.1.1", "6.1.1", [("6.1.0", "6.1.1", "patch", "rolling")]),
    ("6.1.1", "6.1.2", "6.1.2", [("6.1.1", "6.1.2", "patch", "downtime")]),
    # one step over several releases: not rolling-safe because 6.1.2 in (6.1.0, 6.1.2] has a migration
    ("6.1.0", "6.1.2", "6.1.2", [("6.1.0", "6.1.2", "patch", "downtime")]),
    ("6.1.0", "latest", "6.1.2", [("6.1.0", "6.1.2", "patch", "downtime")]),
    # LTS -> next LTS from the latest patch of the current line
    ("6.1.0", "7.0.0", "7.0.0", [("6.1.0", "6.1.2", "patch", "downtime"), ("6.1.2", "7.0.0", "lts", "downtime")]),
    ("6.1.1", "next_lts", "7.0.0", [("6.1.1", "6.1.2", "patch", "downtime"), ("6.1.2", "7.0.0", "lts", "downtime")]),
    ("6.1.2", "next_lts", "7.0.0", [("6.1.2", "7.0.0", "lts", "downtime")]),
    ("5.1.0", "6.0.0", "6.0.0", [("5.1.0", "6.0.0", "lts", "downtime")]),
    ("6.0.0", "6.1.0", "6.1.0", [("6.0.0", "6.1.0", "lts", "downtime")]),
    ("5.0.0", "5.1.0", "5.1.0", [("5.0.0", "5.1.0", "lts", "downtime")]),
    # older than 5.1: straight to 6.1 in one step
    ("4.1.0", "6.1.0", "6.1.0", [("4.1.0", "6.1.0", "lts", "downtime")]),
    ("4.2.0", "next_lts", "6.1.2", [("4.2.0", "6.1.2", "lts", "downtime")]),
    ("5.0.0", "6.1.1", "6.1.1", [("5.0.0", "6.1.1", "lts", "downtime")]),
    ("5.0.0", "next_lts", "6.1.2", [("5.0.0", "6.1.2", "lts", "downtime")]),
    # nothing to do
    ("6.1.2", "latest", "6.1.2", []),
    ("6.1.2", "6.1.2", "6.1.2", []),
    ("7.0.0", "latest", "7.0.0", []),
]


@pytest.mark.parametrize("current, target, resolved, steps", PATHS, ids=["%s-%s" % (c, t) for c, t, _r, _s in PATHS])
def test_paths(catalog, current, target, resolved, steps):
    result = lp.plan(catalog, current, target, TODAY, extended_coverage=True)

    assert result["current"] == current and result["target"] == resolved
    assert summary(result) == steps
    assert result["rolling_safe"] is all(s[3] == "rolling" for s in steps)
    assert result["strategy"] == ("rolling" if result["rolling_safe"] else "downtime")
    if not steps:
        assert result["msg"] == "already at %s" % current
    else:
        assert result["msg"].startswith("upgrade %s to %s in %d step" % (current, resolved, len(steps)))


def test_patch_step_properties(catalog):
    rolling = lp.plan(catalog, "6.1.0", "6.1.1", TODAY)["steps"][0]
    downtime = lp.plan(catalog, "6.1.0", "6.1.2", TODAY)["steps"][0]

    assert rolling == {
        "from": "6.1.0", "to": "6.1.1", "kind": "patch", "rolling_safe": True, "schema_change": False,
        "reindex": "recommended", "strategy": "rolling", "releases": ["6.1.1"],
    }
    assert downtime["releases"] == ["6.1.1", "6.1.2"]
    assert (downtime["schema_change"], downtime["rolling_safe"], downtime["strategy"]) == (True, False, "downtime")


def test_lts_step_needs_downtime_and_a_reindex_even_without_schema_change():
    cat = extended(("7.0.0", "2026-03-31", False, "none"))
    step = lp.plan(cat, "6.1.2", "7.0.0", TODAY)["steps"][0]

    assert (step["kind"], step["rolling_safe"], step["strategy"]) == ("lts", False, "downtime")
    assert step["reindex"] == "required"


@pytest.mark.parametrize(
    "current, target, steps, reindex",
    [
        # every release in the range is code only: one rolling step, reindex the strongest need
        ("7.0.0", "7.0.2", [("7.0.0", "7.0.2", "patch", "rolling")], "recommended"),
        # 7.0.3 changes the schema: the whole step 7.0.1 -> 7.0.4 is a downtime step
        ("7.0.1", "7.0.4", [("7.0.1", "7.0.4", "patch", "downtime")], "recommended"),
        ("7.0.3", "7.0.4", [("7.0.3", "7.0.4", "patch", "rolling")], "none"),
        # 6.0 -> 6.1 goes through the latest patch of 6.0 first
        ("6.0.0", "6.1.2", [("6.0.0", "6.0.2", "patch", "rolling"), ("6.0.2", "6.1.2", "lts", "downtime")], "required"),
        ("6.0.2", "next_lts", [("6.0.2", "6.1.2", "lts", "downtime")], "required"),
        ("6.1.2", "next_lts", [("6.1.2", "7.0.4", "lts", "downtime")], "required"),
    ],
)
def test_paths_over_a_catalog_with_more_patches(current, target, steps, reindex):
    cat = extended(
        ("6.0.1", "2024-05-01", False, "none"),
        ("6.0.2", "2024-06-01", False, "recommended"),
        ("7.0.1", "2026-05-01", False, "none"),
        ("7.0.2", "2026-06-01", False, "recommended"),
        ("7.0.3", "2026-07-01", True, "recommended"),
        ("7.0.4", "2026-08-01", False, "none"),
        ("7.0.5", "2027-01-15", True, "recommended"),  # not out on TODAY
    )
    result = lp.plan(cat, current, target, TODAY)

    assert summary(result) == steps
    assert result["reindex"] == reindex


def test_latest_and_next_lts_follow_today(catalog):
    assert lp.plan(catalog, "6.1.0", "latest", day("2025-06-01"))["target"] == "6.1.1"
    assert lp.plan(catalog, "6.1.0", "latest", day("2025-04-01"))["steps"] == []
    # the patch step before an LTS jump goes to the latest patch out on that day
    assert summary(lp.plan(catalog, "6.0.0", "next_lts", day("2025-06-01"))) == [("6.0.0", "6.1.1", "lts", "downtime")]


def test_empty_plan_is_rolling_safe_with_nothing_to_reindex(catalog):
    result = lp.plan(catalog, "6.1.2", "latest", TODAY)

    assert (result["steps"], result["rolling_safe"]) == ([], True)
    assert (result["strategy"], result["reindex"]) == ("rolling", "none")
    assert result["support"]["current"] == result["support"]["target"]


# ------------------------------------------------------------------------------------------ refusals

EXT = {"extended_coverage": True}
REFUSALS = [
    # current, target, options (default: TODAY, no extended coverage), message fragment
    ("6.1", "latest", {}, "current '6.1' is not a version (MAJOR.MINOR.PATCH"),
    ("6.1.0", "7", {}, "target '7' is not a version (MAJOR.MINOR.PATCH, e.g. 6.1.2), latest or next_lts"),
    ("6.1.0", "v7.0.0", {}, "target 'v7.0.0' is not a version"),
    ("6.1.0", "6.01.2", {}, "target '6.01.2' is not a version"),
    ("6.1.9", "latest", {},
     "current 6.1.9 is not in the release catalog (built-in catalog); known releases of 6.1: 6.1.0, 6.1.1, 6.1.2"),
    ("6.1.0", "8.0.0", {},
     "target 8.0.0 is not in the release catalog (built-in catalog); "
     "known LTS lines: 4.1, 4.2, 5.0, 5.1, 6.0, 6.1, 7.0"),
    ("6.1.2", "6.1.1", {}, "6.1.1 is older than 6.1.2 and downgrades are not supported"),
    ("7.0.0", "6.1.2", {}, "6.1.2 is older than 7.0.0 and downgrades are not supported"),
    ("4.1.0", "5.1.0", EXT,
     "it jumps over LTS 4.2, 5.0; upgrade one LTS line at a time (4.1 -> 4.2 first), "
     "or from a line older than 5.1 straight to 6.1"),
    ("5.1.0", "6.1.0", EXT, "it jumps over LTS 6.0; upgrade one LTS line at a time (5.1 -> 6.0 first)"),
    ("5.0.0", "7.0.0", EXT, "it jumps over LTS 5.1, 6.0, 6.1"),
    ("6.0.0", "7.0.0", EXT, "it jumps over LTS 6.1;"),
    ("6.1.2", "7.0.0", {"today": day("2026-01-01")},
     "target 7.0.0 is not out yet: it is released on 2026-03-31, after today (2026-01-01)"),
    ("7.0.0", "next_lts", {}, "LTS 7.0 is the newest line in the release catalog"),
    ("6.1.2", "next_lts", {"today": day("2026-01-01")}, "the next LTS, 7.0, has no release out on 2026-01-01"),
    # the target line's support: 4.2 is past even extended coverage; 5.0 needs extended coverage
    ("4.1.0", "4.2.0", EXT,
     "LTS 4.2 is past its end of life: support ended on 2024-02-29, extended coverage on 2026-02-28; "
     "upgrade to a supported LTS (target next_lts)"),
    ("4.2.0", "5.0.0", {},
     "LTS 5.0's support ended on 2025-01-31; it is covered only with extended coverage (until 2027-01-31): "
     "set extended_coverage"),
    ("5.1.0", "6.0.0", {"today": day("2028-04-01")}, "LTS 6.0's support ended on 2028-03-31"),
]


@pytest.mark.parametrize("current, target, options, message", REFUSALS, ids=["%s-%s" % r[:2] for r in REFUSALS])
def test_refusals_name_both_versions_and_the_reason(catalog, current, target, options, message):
    options = {"today": TODAY, **options}
    with pytest.raises(lp.LtsPlanError) as error:
        lp.plan(catalog, current, target, options.pop("today"), **options)

    text = str(error.value)
    assert text.startswith("cannot plan the upgrade from %s to " % current)
    assert message in text
    # the target is named as given, or as the version it resolved to
    assert target in text or target in ("latest", "next_lts")


def test_patch_within_a_line_under_extended_coverage():
    cat = extended(("5.0.1", "2022-06-01", False, "recommended"))

    with pytest.raises(lp.LtsPlanError, match=r"from 5\.0\.0 to 5\.0\.1: LTS 5\.0's support ended on 2025-01-31"):
        lp.plan(cat, "5.0.0", "latest", TODAY)
    result = lp.plan(cat, "5.0.0", "latest", TODAY, extended_coverage=True)
    assert summary(result) == [("5.0.0", "5.0.1", "patch", "rolling")]
    assert result["warnings"] == [
        "LTS 5.0 (current 5.0.0, target 5.0.1): standard support ended on 2025-01-31; "
        "extended coverage applies until 2027-01-31, in 66 days"
    ]


def test_an_ended_line_may_stay_where_it_is_with_a_warning(catalog):
    result = lp.plan(catalog, "4.2.0", "latest", TODAY)

    assert result["steps"] == [] and result["msg"] == "already at 4.2.0"
    assert result["warnings"] == [
        "LTS 4.2 (current 4.2.0) is past its end of life: support ended on 2024-02-29, extended coverage on 2026-02-28"
    ]


# ------------------------------------------------------------------------------------------ warnings

WARNINGS = [
    # current, target, options (default: TODAY, no extended coverage, warn_days 90), warnings
    ("6.1.0", "6.1.2", {}, []),
    ("6.1.0", "6.1.1", {"today": day("2029-01-15")},
     ["LTS 6.1 (current 6.1.0, target 6.1.1): support ends on 2029-03-31, in 75 days"]),
    ("6.1.0", "6.1.1", {"today": day("2029-01-15"), "warn_days": 30}, []),
    ("6.1.0", "6.1.1", {"today": day("2029-03-30"), "warn_days": 0}, []),
    ("6.1.0", "6.1.1", {"today": day("2029-03-30"), "warn_days": 1},
     ["LTS 6.1 (current 6.1.0, target 6.1.1): support ends on 2029-03-31, in 1 day"]),
    ("5.0.0", "next_lts", {},
     ["LTS 5.0 (current 5.0.0): support ended on 2025-01-31; extended coverage is needed "
      "(it covers the line until 2027-01-31)"]),
    ("5.0.0", "next_lts", {"extended_coverage": True, "warn_days": 30},
     ["LTS 5.0 (current 5.0.0): standard support ended on 2025-01-31; extended coverage applies until 2027-01-31"]),
    ("4.2.0", "next_lts", EXT,
     ["LTS 4.2 (current 4.2.0) is past its end of life: support ended on 2024-02-29, extended coverage on 2026-02-28"]),
    # both lines: the current one needs extended coverage, the target one ends soon
    ("5.1.0", "6.0.0", {"today": day("2028-02-01")}, [
        "LTS 5.1 (current 5.1.0): support ended on 2027-03-31; extended coverage is needed "
        "(it covers the line until 2029-03-31)",
        "LTS 6.0 (target 6.0.0): support ends on 2028-03-31, in 59 days",
    ]),
    # with extended coverage the target's coverage runs two more years: nothing ends soon
    ("5.1.0", "6.0.0", {"today": day("2028-02-01"), "extended_coverage": True}, [
        "LTS 5.1 (current 5.1.0): standard support ended on 2027-03-31; extended coverage applies until 2029-03-31",
    ]),
]


@pytest.mark.parametrize("current, target, options, warnings", WARNINGS, ids=[str(i) for i in range(len(WARNINGS))])
def test_warnings(catalog, current, target, options, warnings):
    options = {"today": TODAY, **options}
    result = lp.plan(catalog, current, target, options.pop("today"), **options)

    assert result["warnings"] == warnings


# ------------------------------------------------------------------------------------------ catalog files


def write(tmp_path, text, name="oro-releases.yml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_catalog_file_adds_lines_and_releases_and_overrides_entries(tmp_path, catalog):
    path = write(tmp_path, """
lines:
  - {line: "7.1", released: 2027-03, support_months: 60}
releases:
  - {version: 7.0.1, released: 2026-05-20, schema_change: false, reindex: none}
  - {version: 7.1.0, released: "2027-03-31", schema_change: true, reindex: required}
  # the demo's 6.1.1 redefined: with a migration
  - {version: 6.1.1, released: 2025-05-15, schema_change: true, reindex: recommended}
""")
    cat = lp.load_catalog_file(path, catalog)

    assert cat.sources == (lp.BUILTIN_SOURCE, path)
    assert summary(lp.plan(cat, "7.0.0", "latest", TODAY)) == [("7.0.0", "7.0.1", "patch", "rolling")]
    assert summary(lp.plan(cat, "6.1.0", "6.1.1", TODAY)) == [("6.1.0", "6.1.1", "patch", "downtime")]
    later = day("2027-06-01")
    assert summary(lp.plan(cat, "7.0.0", "next_lts", later)) == [
        ("7.0.0", "7.0.1", "patch", "rolling"), ("7.0.1", "7.1.0", "lts", "downtime")]
    assert lp.support(cat, (7, 1), later)["ends"] == "2032-03-31"
    # the base catalog is left as it was
    assert catalog.releases[(6, 1, 1)].schema_change is False and (7, 1) not in catalog.lines


def test_catalog_file_names_the_file_in_refusals(tmp_path, catalog):
    cat = lp.load_catalog_file(write(tmp_path, "releases: []\n"), catalog)

    with pytest.raises(lp.LtsPlanError, match=r"not in the release catalog \(built-in catalog \+ .*oro-releases.yml\)"):
        lp.plan(cat, "6.1.0", "6.1.7", TODAY)


BAD_FILES = [
    ("- 7.0.1\n", "expected a mapping with lines and/or releases, found a list"),
    ("", "expected a mapping with lines and/or releases, found nothing"),
    ("{}\n", "expected a mapping with lines and/or releases, found a mapping"),
    ("release: []\n", "unknown top-level key release; allowed: lines, releases"),
    ("releases: {version: 7.0.1}\n", "releases: expected a list, found a mapping"),
    ("releases: [7.0.1]\n", "releases[0]: expected a mapping, found '7.0.1'"),
    ("releases:\n  - {version: 7.0.1, released: 2026-05-01, schema_change: false, reindex: none, rolling_safe: true}\n",
     "releases[0] (7.0.1): unknown key rolling_safe; allowed: version, released, schema_change, reindex"),
    ("releases:\n  - {version: 7.0.1, released: 2026-05-01}\n", "releases[0] (7.0.1): missing schema_change, reindex"),
    ("releases:\n  - {version: '7.0', released: 2026-05-01, schema_change: false, reindex: none}\n",
     "releases[0] (7.0): version must be a string MAJOR.MINOR.PATCH such as 6.1.2, found '7.0'"),
    ("releases:\n  - {version: 7.0.1, released: 2026-02-30, schema_change: false, reindex: none}\n",
     "releases[0] (7.0.1): released: '2026-02-30' is not a date (YYYY-MM-DD"),
    ("releases:\n  - {version: 7.0.1, released: 2026-05-01 10:00:00, schema_change: false, reindex: none}\n",
     "releases[0] (7.0.1): released: '2026-05-01 10:00:00' is not a date"),
    ("releases:\n  - {version: 7.0.1, released: 2026-05-01, schema_change: 1, reindex: none}\n",
     "releases[0] (7.0.1): schema_change must be true or false, found a number (1)"),
    ("releases:\n  - {version: 7.0.1, released: 2026-05-01, schema_change: false, reindex: always}\n",
     "releases[0] (7.0.1): reindex must be one of none, recommended, required, found 'always'"),
    ("releases:\n  - {version: 8.0.1, released: 2028-05-01, schema_change: false, reindex: none}\n",
     "releases[0] (8.0.1): 8.0.1 belongs to no known LTS line (4.1, 4.2, 5.0, 5.1, 6.0, 6.1, 7.0); "
     "add the line 8.0 under lines"),
    ("releases:\n  - {version: 7.0.1, released: 2026-01-01, schema_change: false, reindex: none}\n",
     "releases[0] (7.0.1): released 2026-01-01 is before its line 7.0 starts (2026-03)"),
    ("releases:\n"
     "  - {version: 7.0.1, released: 2026-05-01, schema_change: false, reindex: none}\n"
     "  - {version: 7.0.1, released: 2026-05-02, schema_change: true, reindex: none}\n",
     "releases[1] (7.0.1): 7.0.1 is listed twice (also releases[0] (7.0.1))"),
    ("lines:\n  - {line: 7.1, released: 2027-03}\n",
     'lines[0] (7.1): line must be a string MAJOR.MINOR such as "7.0", found a number (7.1) '
     "(quote it: YAML reads 7.0 as a number)"),
    ("lines:\n  - {line: '7.1', released: 2027-13}\n",
     "lines[0] (7.1): released must be the month YYYY-MM its support starts, found '2027-13'"),
    ("lines:\n  - {line: '7.1', released: 2027-03-01}\n",
     "lines[0] (7.1): released must be the month YYYY-MM its support starts, found '2027-03-01'"),
    ("lines:\n  - {line: '7.1', released: 2027-03, support_months: true}\n",
     "lines[0] (7.1): support_months must be a positive integer, found a boolean"),
    ("lines:\n  - {line: '7.1', released: 2027-03, support_months: 0}\n",
     "support_months must be a positive integer, found a number (0)"),
    ("lines:\n  - {line: '7.1', released: 2027-03}\n  - {line: '7.1', released: 2027-04}\n",
     "lines[1] (7.1): line 7.1 is listed twice (also lines[0] (7.1))"),
    ("releases:\n  - version: 7.0.1\n    version: 7.0.2\n",
     "is not valid YAML (line 3, column 5): found duplicate key 'version'"),
    ("releases: [\n", "is not valid YAML (line 2, column 1)"),
]


@pytest.mark.parametrize("text, message", BAD_FILES, ids=range(len(BAD_FILES)))
def test_bad_catalog_files_are_refused_naming_the_file_and_entry(tmp_path, catalog, text, message):
    path = write(tmp_path, text)

    with pytest.raises(lp.LtsPlanError) as error:
        lp.load_catalog_file(path, catalog)

    assert path in str(error.value)
    assert message in str(error.value)


def test_every_problem_of_a_catalog_file_is_reported_at_once(tmp_path, catalog):
    path = write(tmp_path, """
lines:
  - {line: 8.0, released: 2028-03}
releases:
  - {version: 7.0.1, released: 2026-05-01, schema_change: maybe, reindex: none}
  - {version: 8.0.0, released: 2028-03-31, schema_change: true, reindex: required}
""")
    with pytest.raises(lp.LtsPlanError) as error:
        lp.load_catalog_file(path, catalog)

    text = str(error.value)
    assert text.startswith("catalog %s is invalid (3 problems): lines[0] (8.0): line must be a string" % path)
    assert "; releases[0] (7.0.1): schema_change must be true or false, found 'maybe'" in text
    assert "; releases[1] (8.0.0): 8.0.0 belongs to no known LTS line" in text


def test_a_missing_catalog_file_is_named(tmp_path, catalog):
    path = str(tmp_path / "missing.yml")

    with pytest.raises(lp.LtsPlanError, match="cannot read catalog %s: No such file or directory" % path):
        lp.load_catalog_file(path, catalog)


def test_a_catalog_file_without_pyyaml_on_the_node_says_what_to_install(tmp_path, catalog, monkeypatch):
    monkeypatch.setattr(lp, "_StrictLoader", None)
    path = write(tmp_path, "releases: []\n")

    with pytest.raises(lp.LtsPlanError, match="catalog %s: PyYAML is required on the host running the module" % path):
        lp.load_catalog_file(path, catalog)


@pytest.mark.parametrize("text", ["2026-13-01", "26-11-2026", "tomorrow", "2026-11-26T00:00:00"])
def test_parse_date_refuses_what_is_not_a_date(text):
    with pytest.raises(lp.LtsPlanError, match="today: %r is not a date" % text):
        lp.parse_date(text)


@pytest.mark.parametrize(
    "text, version",
    [("6.1.2", (6, 1, 2)), ("10.0.15", (10, 0, 15)), ("6.1", None), ("6.1.2.1", None), ("06.1.2", None),
     ("6.1.x", None), (" 6.1.2", None), (612, None), (None, None)],
)
def test_parse_version(text, version):
    assert lp.parse_version(text) == version
