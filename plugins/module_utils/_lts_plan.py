# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OroCommerce's release policy: support windows of LTS lines, allowed upgrade paths, ordered upgrade steps.

Pure functions over a release catalog: the built-in tables of ``_lts_catalog``, to which a YAML file may add
lines and releases or override entries (``load_catalog_file``). The policy (docs/upgrades.md):

* Versions are ``MAJOR.MINOR.PATCH``; an LTS line is ``MAJOR.MINOR``; patch releases come out for every
  supported line. A release dated after ``today`` is not out yet: ``latest`` and ``next_lts`` ignore it and
  an explicit target is refused.
* Support: 36 months from the line's month before 5.1, 48 months from 5.1 on (to the end of that month);
  extended coverage adds 24 months.
* Paths: a patch within a line goes straight to the target patch in one step. LTS -> next LTS goes first to
  the latest patch of the current line (Oro upgrades from the latest patch of an LTS), then to the target. A
  jump over an LTS line is refused, except from a line older than 5.1 straight to 6.1 (one step, from any
  patch). Downgrades are refused; the same version is an empty plan.
* A step is rolling-safe when it is a patch step and no release in (from, to] changes the schema: one step
  over several releases applies all their migrations at once (``oro:platform:update`` runs every pending one),
  so one migration anywhere in the range makes the whole step a downtime step. LTS steps are never
  rolling-safe. A step's reindex is the strongest need of the releases it brings (``required`` for LTS steps).
* The target line must be covered on ``today``: within its support, or within extended coverage when
  ``extended_coverage`` is set; otherwise the plan is refused. The current line past its support is only a
  warning (upgrading is the way out), as is any line whose coverage ends within ``warn_days``.

Runs on managed nodes: Python 3.9+, the standard library and ``ansible.module_utils``; PyYAML only to read a
catalog file.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections import namedtuple

from ansible.module_utils.common.yaml import HAS_YAML, SafeLoader

from ansible_collections.orocloud.ops.plugins.module_utils import _lts_catalog

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the node
    yaml = None

REINDEX = ("none", "recommended", "required")  # weakest to strongest
KINDS = ("patch", "lts")
STRATEGIES = ("rolling", "downtime")
TARGET_KEYWORDS = ("latest", "next_lts")
LONG_SUPPORT_FROM = (5, 1)  # lines from 5.1 on are supported 48 months, older ones 36
SUPPORT_MONTHS_SHORT = 36
SUPPORT_MONTHS_LONG = 48
EXTENDED_MONTHS = 24
DIRECT_TARGET_LINE = (6, 1)  # a line older than LONG_SUPPORT_FROM may go straight to 6.1
DEFAULT_WARN_DAYS = 90
BUILTIN_SOURCE = "built-in catalog"

_VERSION_RE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_LINE_RE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

_LINE_KEYS = ("line", "released")
_LINE_OPTIONAL_KEYS = ("support_months",)
_RELEASE_KEYS = ("version", "released", "schema_change", "reindex")

# line: (major, minor); released: (year, month); support_months: None = the policy's length
Line = namedtuple("Line", "line released support_months")
# version: (major, minor, patch); released: datetime.date
Release = namedtuple("Release", "version released schema_change reindex")


class LtsPlanError(Exception):
    """A refused plan or an invalid catalog; the message names the versions, file and entry."""


# ------------------------------------------------------------------------------------------- versions


def format_version(version):
    """``(6, 1, 2)`` -> ``6.1.2``; ``(6, 1)`` -> ``6.1``."""
    return ".".join(str(part) for part in version)


def parse_version(text):
    """``6.1.2`` -> ``(6, 1, 2)``; None when it is not ``MAJOR.MINOR.PATCH`` (digits, no leading zeros)."""
    match = _VERSION_RE.match(text) if isinstance(text, str) else None
    return tuple(int(part) for part in match.groups()) if match else None


def parse_date(text, what="today"):
    """``YYYY-MM-DD`` -> ``datetime.date``; LtsPlanError otherwise."""
    if isinstance(text, datetime.date) and not isinstance(text, datetime.datetime):
        return text
    if isinstance(text, str) and _DATE_RE.match(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass
    raise LtsPlanError("%s: %r is not a date (YYYY-MM-DD, e.g. 2026-11-26)" % (what, text))


def _add_months(year_month, months):
    index = year_month[0] * 12 + year_month[1] - 1 + months
    return index // 12, index % 12 + 1


def _end_of_month(year_month):
    year, month = year_month
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


# -------------------------------------------------------------------------------------------- catalog


class Catalog:
    """LTS lines and releases, keyed by version tuples; ``sources`` names where they came from."""

    def __init__(self, lines, releases, sources):
        self.lines = dict(lines)
        self.releases = dict(releases)
        self.sources = tuple(sources)

    def line_keys(self):
        return sorted(self.lines)

    def releases_of(self, line, until=None):
        """The releases of a line, oldest first; only those out on ``until`` (a date) when given."""
        found = [r for v, r in self.releases.items() if v[:2] == line and (until is None or r.released <= until)]
        return sorted(found, key=lambda release: release.version)

    def latest(self, line, today):
        """The latest release of a line out on ``today``, or None."""
        found = self.releases_of(line, today)
        return found[-1] if found else None

    def between(self, low, high):
        """The releases after ``low`` up to ``high`` included, oldest first."""
        return sorted((r for v, r in self.releases.items() if low < v <= high), key=lambda release: release.version)


_KINDS_OF_VALUE = ((bool, "a boolean"), (dict, "a mapping"), (list, "a list"))


def _describe(value):
    """How a wrong value is named in an error: its text, or its kind."""
    if value is None:
        return "nothing"
    for kind, name in _KINDS_OF_VALUE:
        if isinstance(value, kind):
            return name
    if isinstance(value, (int, float)):
        return "a number (%s)" % value
    if isinstance(value, str):
        return "%r" % value
    return "a %s" % type(value).__name__


def _entry_name(kind, index, entry, key):
    name = "%s[%d]" % (kind, index)
    value = entry.get(key) if isinstance(entry, dict) else None
    return "%s (%s)" % (name, value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else name


def _check_keys(entry, where, required, optional, problems):
    if not isinstance(entry, dict):
        problems.append("%s: expected a mapping, found %s" % (where, _describe(entry)))
        return False
    unknown = sorted(str(key) for key in entry if key not in required + optional)
    if unknown:
        problems.append(
            "%s: unknown key%s %s; allowed: %s"
            % (where, "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(required + optional))
        )
    missing = [key for key in required if key not in entry]
    if missing:
        problems.append("%s: missing %s" % (where, ", ".join(missing)))
    return not unknown and not missing


def _parse_line_entry(entry, where, problems):
    """A ``lines`` entry -> Line, or None after adding its problems."""
    if not _check_keys(entry, where, _LINE_KEYS, _LINE_OPTIONAL_KEYS, problems):
        return None
    ok = True
    text = entry["line"]
    match = _LINE_RE.match(text) if isinstance(text, str) else None
    if not match:
        hint = ' (quote it: YAML reads 7.0 as a number)' if isinstance(text, (int, float)) else ""
        problems.append(
            '%s: line must be a string MAJOR.MINOR such as "7.0", found %s%s' % (where, _describe(text), hint))
        ok = False
    released = entry["released"]
    month = _MONTH_RE.match(released) if isinstance(released, str) else None
    if not month or not 1 <= int(month.group(2)) <= 12:
        problems.append(
            "%s: released must be the month YYYY-MM its support starts, found %s" % (where, _describe(released)))
        ok = False
    months = entry.get("support_months")
    if months is not None and (isinstance(months, bool) or not isinstance(months, int) or months <= 0):
        problems.append("%s: support_months must be a positive integer, found %s" % (where, _describe(months)))
        ok = False
    if not ok:
        return None
    return Line(
        line=tuple(int(part) for part in match.groups()),
        released=(int(month.group(1)), int(month.group(2))),
        support_months=months,
    )


def _parse_release_entry(entry, where, lines, problems):
    """A ``releases`` entry -> Release, or None after adding its problems. ``lines`` holds the known lines."""
    if not _check_keys(entry, where, _RELEASE_KEYS, (), problems):
        return None
    ok = True
    version = parse_version(entry["version"])
    if version is None:
        problems.append(
            "%s: version must be a string MAJOR.MINOR.PATCH such as 6.1.2, found %s"
            % (where, _describe(entry["version"]))
        )
        ok = False
    try:
        released = parse_date(entry["released"], "%s: released" % where)
    except LtsPlanError as exc:
        problems.append(str(exc))
        released = None
        ok = False
    if not isinstance(entry["schema_change"], bool):
        problems.append(
            "%s: schema_change must be true or false, found %s" % (where, _describe(entry["schema_change"])))
        ok = False
    if entry["reindex"] not in REINDEX:
        problems.append(
            "%s: reindex must be one of %s, found %s" % (where, ", ".join(REINDEX), _describe(entry["reindex"])))
        ok = False
    if version is not None:
        line = lines.get(version[:2])
        if line is None:
            problems.append(
                "%s: %s belongs to no known LTS line (%s); add the line %s under lines"
                % (where, format_version(version), ", ".join(format_version(k) for k in sorted(lines)),
                   format_version(version[:2]))
            )
            ok = False
        elif released is not None and released < datetime.date(line.released[0], line.released[1], 1):
            problems.append(
                "%s: released %s is before its line %s starts (%04d-%02d)"
                % (where, released.isoformat(), format_version(line.line), line.released[0], line.released[1])
            )
            ok = False
    if not ok:
        return None
    return Release(version=version, released=released, schema_change=entry["schema_change"], reindex=entry["reindex"])


def build_catalog(document, source, base=None):
    """Validate a catalog document (``{lines: [...], releases: [...]}``) and merge it over ``base``.

    Every problem is collected; LtsPlanError names ``source`` and each entry. Entries of the document
    replace entries of ``base`` with the same line or version; nothing of ``base`` is changed.
    """
    problems = []
    if not isinstance(document, dict) or not document:
        raise LtsPlanError(
            "catalog %s is invalid: expected a mapping with lines and/or releases, found %s"
            % (source, _describe(document))
        )
    unknown = sorted(str(key) for key in document if key not in ("lines", "releases"))
    if unknown:
        problems.append("unknown top-level key%s %s; allowed: lines, releases"
                        % ("s" if len(unknown) > 1 else "", ", ".join(unknown)))

    lines = dict(base.lines) if base else {}
    releases = dict(base.releases) if base else {}
    for kind in ("lines", "releases"):
        if kind in document and not isinstance(document[kind], list):
            problems.append("%s: expected a list, found %s" % (kind, _describe(document[kind])))
    line_entries = document.get("lines") if isinstance(document.get("lines"), list) else []
    release_entries = document.get("releases") if isinstance(document.get("releases"), list) else []

    seen = {}
    for index, entry in enumerate(line_entries):
        where = _entry_name("lines", index, entry, "line")
        line = _parse_line_entry(entry, where, problems)
        if line is None:
            continue
        if line.line in seen:
            problems.append(
                "%s: line %s is listed twice (also %s)" % (where, format_version(line.line), seen[line.line]))
            continue
        seen[line.line] = where
        lines[line.line] = line

    seen = {}
    for index, entry in enumerate(release_entries):
        where = _entry_name("releases", index, entry, "version")
        release = _parse_release_entry(entry, where, lines, problems)
        if release is None:
            continue
        if release.version in seen:
            problems.append(
                "%s: %s is listed twice (also %s)" % (where, format_version(release.version), seen[release.version]))
            continue
        seen[release.version] = where
        releases[release.version] = release

    if problems:
        count = len(problems)
        raise LtsPlanError(
            "catalog %s is invalid (%d problem%s): %s" % (source, count, "" if count == 1 else "s", "; ".join(problems))
        )
    sources = (base.sources if base else ()) + (source,)
    return Catalog(lines, releases, sources)


def builtin_document():
    """The built-in tables of ``_lts_catalog`` as a catalog document."""
    return {
        "lines": [{"line": line, "released": month} for line, month in _lts_catalog.LINES],
        "releases": [
            {"version": version, "released": date, "schema_change": schema_change, "reindex": reindex}
            for version, date, schema_change, reindex in _lts_catalog.RELEASES
        ],
    }


def default_catalog():
    return build_catalog(builtin_document(), BUILTIN_SOURCE)


if HAS_YAML and yaml is not None:

    class _StrictLoader(SafeLoader):  # pylint: disable=too-many-ancestors
        """Safe YAML that refuses a key given twice in one mapping (PyYAML keeps the last one silently) and
        keeps dates as text, so that ``parse_date`` checks them (PyYAML fails on 2026-02-30 without a place)."""

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _value in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping", node.start_mark,
                            "found duplicate key %r" % key_node.value, key_node.start_mark,
                        )
                    seen.add(key_node.value)
            return super().construct_mapping(node, deep=deep)

    _StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_str)

else:  # pragma: no cover - depends on the node
    _StrictLoader = None


def load_catalog_file(path, base):
    """Read a YAML catalog file on this host and merge it over ``base`` (see ``build_catalog``)."""
    if _StrictLoader is None:
        raise LtsPlanError(
            "catalog %s: PyYAML is required on the host running the module to read it "
            "(install python3-yaml, or 'pip install pyyaml' for the interpreter Ansible uses)" % path
        )
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise LtsPlanError("cannot read catalog %s: %s" % (path, getattr(exc, "strerror", None) or exc)) from None
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " (line %d, column %d)" % (mark.line + 1, mark.column + 1) if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise LtsPlanError("catalog %s is not valid YAML%s: %s" % (path, where, problem)) from None
    return build_catalog(document, path, base)


# --------------------------------------------------------------------------------------------- policy


def support_months(line):
    """The policy's support length of a line (months): 36 before 5.1, 48 from 5.1 on."""
    return SUPPORT_MONTHS_LONG if line >= LONG_SUPPORT_FROM else SUPPORT_MONTHS_SHORT


def support(catalog, line, today, extended_coverage=False):
    """Support facts of an LTS line on ``today``.

    ``status`` is the calendar's (``supported``, ``extended``: inside the extended-coverage window, ``ended``);
    ``covered`` says whether the line is covered for this environment (extended coverage only counts when
    ``extended_coverage``); ``days_left`` counts to ``covered_until`` (negative once it is past).
    """
    entry = catalog.lines[line]
    months = entry.support_months or support_months(line)
    ends = _end_of_month(_add_months(entry.released, months))
    extended_ends = _end_of_month(_add_months(entry.released, months + EXTENDED_MONTHS))
    if today <= ends:
        status = "supported"
    elif today <= extended_ends:
        status = "extended"
    else:
        status = "ended"
    covered_until = extended_ends if extended_coverage else ends
    latest = catalog.latest(line, today)
    return {
        "line": format_version(line),
        "released": "%04d-%02d" % entry.released,
        "support_months": months,
        "ends": ends.isoformat(),
        "extended_ends": extended_ends.isoformat(),
        "status": status,
        "covered": today <= covered_until,
        "covered_until": covered_until.isoformat(),
        "days_left": (covered_until - today).days,
        "latest": format_version(latest.version) if latest else None,
    }


def _line_warning(info, who, extended_coverage, warn_days):
    """The warning for one line's support, or None."""
    name = "LTS %s (%s)" % (info["line"], who)
    if info["status"] == "ended":
        return "%s is past its end of life: support ended on %s, extended coverage on %s" % (
            name, info["ends"], info["extended_ends"])
    if info["status"] == "extended" and not extended_coverage:
        return "%s: support ended on %s; extended coverage is needed (it covers the line until %s)" % (
            name, info["ends"], info["extended_ends"])
    if info["status"] == "extended":
        text = "%s: standard support ended on %s; extended coverage applies until %s" % (
            name, info["ends"], info["extended_ends"])
        if info["days_left"] <= warn_days:
            text += ", in %d day%s" % (info["days_left"], "" if info["days_left"] == 1 else "s")
        return text
    if info["days_left"] <= warn_days:
        return "%s: support ends on %s, in %d day%s" % (
            name, info["covered_until"], info["days_left"], "" if info["days_left"] == 1 else "s")
    return None


def _step(catalog, low, high, kind):
    releases = catalog.between(low, high)
    schema_change = any(release.schema_change for release in releases)
    if kind == "lts":
        reindex = "required"
    else:
        reindex = max((release.reindex for release in releases), key=REINDEX.index, default="none")
    rolling_safe = kind == "patch" and not schema_change
    return {
        "from": format_version(low),
        "to": format_version(high),
        "kind": kind,
        "rolling_safe": rolling_safe,
        "schema_change": schema_change,
        "reindex": reindex,
        "strategy": "rolling" if rolling_safe else "downtime",
        "releases": [format_version(release.version) for release in releases],
    }


def _latest_from(catalog, version, today):
    """The latest release of the line of ``version`` out on ``today``, never older than ``version``."""
    latest = catalog.latest(version[:2], today)
    return max(latest.version, version) if latest else version


def _next_line(catalog, line):
    """The LTS line an upgrade from ``line`` goes to: 6.1 from a line older than 5.1, else the next one."""
    if line < LONG_SUPPORT_FROM and DIRECT_TARGET_LINE in catalog.lines:
        return DIRECT_TARGET_LINE
    later = [key for key in catalog.line_keys() if key > line]
    return later[0] if later else None


class _Request:
    """One plan request: the versions as given, ``refuse`` builds the error naming both."""

    def __init__(self, catalog, current, target, today):
        self.catalog = catalog
        self.current = current
        self.target = target
        self.today = today
        self.sources = " + ".join(catalog.sources)

    def refuse(self, reason, to=None):
        return LtsPlanError("cannot plan the upgrade from %s to %s: %s" % (self.current, to or self.target, reason))

    def known(self, version, what, text):
        """``version`` (parsed from ``text``) must be in the catalog."""
        if version is None:
            extra = ", latest or next_lts" if what == "target" else ""
            raise self.refuse("%s %r is not a version (MAJOR.MINOR.PATCH, e.g. 6.1.2)%s" % (what, text, extra))
        if version not in self.catalog.releases:
            raise self.refuse("%s %s is not in the release catalog (%s)%s" % (
                what, text, self.sources, _known_hint(self.catalog, version)))
        return version


def _resolve_target(request, cur):
    """The target version: ``latest``, ``next_lts`` or an explicit version out on ``today``."""
    catalog, today, target = request.catalog, request.today, request.target
    if target == "latest":
        return _latest_from(catalog, cur, today)
    if target == "next_lts":
        line = _next_line(catalog, cur[:2])
        if line is None:
            raise request.refuse("LTS %s is the newest line in the release catalog (%s)" % (
                format_version(cur[:2]), request.sources))
        latest = catalog.latest(line, today)
        if latest is None:
            raise request.refuse(
                "the next LTS, %s, has no release out on %s" % (format_version(line), today.isoformat()))
        return latest.version
    tgt = request.known(parse_version(target), "target", target)
    released = catalog.releases[tgt].released
    if released > today and tgt != cur:
        raise request.refuse("target %s is not out yet: it is released on %s, after today (%s)" % (
            target, released.isoformat(), today.isoformat()))
    return tgt


def _check_path(request, cur, tgt):
    """Refuse a downgrade and a jump over an LTS line (except from a line older than 5.1 to 6.1)."""
    to = format_version(tgt)
    if tgt < cur:
        raise request.refuse(
            "%s is older than %s and downgrades are not supported (restore the pre-upgrade backup instead)"
            % (to, request.current), to)
    cur_line, tgt_line = cur[:2], tgt[:2]
    skipped = [key for key in request.catalog.line_keys() if cur_line < key < tgt_line]
    if skipped and not _is_direct(cur_line, tgt_line):
        reason = "it jumps over LTS %s; upgrade one LTS line at a time (%s -> %s first)" % (
            ", ".join(format_version(key) for key in skipped), format_version(cur_line), format_version(skipped[0]))
        if cur_line < LONG_SUPPORT_FROM:
            reason += ", or from a line older than %s straight to %s" % (
                format_version(LONG_SUPPORT_FROM), format_version(DIRECT_TARGET_LINE))
        raise request.refuse(reason, to)


def _check_target_support(request, info, to):
    """Refuse a target whose line is not covered on ``today``."""
    if info["covered"]:
        return
    if info["status"] == "extended":
        reason = (
            "LTS %s's support ended on %s; it is covered only with extended coverage (until %s): "
            "set extended_coverage, or upgrade to a supported LTS (target next_lts)"
        )
    else:
        reason = (
            "LTS %s is past its end of life: support ended on %s, extended coverage on %s; "
            "upgrade to a supported LTS (target next_lts)"
        )
    raise request.refuse(reason % (info["line"], info["ends"], info["extended_ends"]), to)


def _is_direct(cur_line, tgt_line):
    return cur_line < LONG_SUPPORT_FROM and tgt_line == DIRECT_TARGET_LINE


def _steps(catalog, cur, tgt, today):
    if tgt == cur:
        return []
    if tgt[:2] == cur[:2]:
        return [_step(catalog, cur, tgt, "patch")]
    if _is_direct(cur[:2], tgt[:2]):
        return [_step(catalog, cur, tgt, "lts")]
    base = _latest_from(catalog, cur, today)  # Oro upgrades from the latest patch of the line
    steps = [_step(catalog, cur, base, "patch")] if base != cur else []
    return [*steps, _step(catalog, base, tgt, "lts")]


def _summary(current, target, steps, rolling_safe):
    if not steps:
        return "already at %s" % current
    return "upgrade %s to %s in %d step%s: %s; strategy %s" % (
        current, target, len(steps), "" if len(steps) == 1 else "s",
        ", ".join("%s -> %s (%s, %s)" % (s["from"], s["to"], s["kind"], s["strategy"]) for s in steps),
        "rolling" if rolling_safe else "downtime")


def plan(catalog, current, target="latest", today=None, *, extended_coverage=False, warn_days=DEFAULT_WARN_DAYS):
    """The ordered upgrade steps from ``current`` to ``target`` (a version, ``latest`` or ``next_lts``).

    Returns a dict: current, target (the version), today, steps, rolling_safe, strategy, reindex, support
    (current and target lines), warnings, msg. Raises LtsPlanError naming both versions when refused.
    """
    request = _Request(catalog, current, target or "latest", today or datetime.date.today())
    today = request.today
    cur = request.known(parse_version(current), "current", current)
    tgt = _resolve_target(request, cur)
    target_text = format_version(tgt)
    _check_path(request, cur, tgt)

    support_info = {
        "current": support(catalog, cur[:2], today, extended_coverage),
        "target": support(catalog, tgt[:2], today, extended_coverage),
    }
    if tgt != cur:
        _check_target_support(request, support_info["target"], target_text)
    steps = _steps(catalog, cur, tgt, today)

    if cur[:2] == tgt[:2]:
        who = "current %s" % current if tgt == cur else "current %s, target %s" % (current, target_text)
        warnings = [_line_warning(support_info["current"], who, extended_coverage, warn_days)]
    else:
        warnings = [
            _line_warning(support_info["current"], "current %s" % current, extended_coverage, warn_days),
            _line_warning(support_info["target"], "target %s" % target_text, extended_coverage, warn_days),
        ]

    rolling_safe = all(step["rolling_safe"] for step in steps)
    return {
        "current": current,
        "target": target_text,
        "today": today.isoformat(),
        "steps": steps,
        "rolling_safe": rolling_safe,
        "strategy": "rolling" if rolling_safe else "downtime",
        "reindex": max((s["reindex"] for s in steps), key=REINDEX.index, default="none"),
        "support": support_info,
        "warnings": [warning for warning in warnings if warning],
        "msg": _summary(current, target_text, steps, rolling_safe),
    }


def _known_hint(catalog, version):
    """``; known releases of 6.1: 6.1.0, 6.1.1`` (or the known lines) to help with a typo."""
    known = catalog.releases_of(version[:2])
    if known:
        return "; known releases of %s: %s" % (
            format_version(version[:2]), ", ".join(format_version(r.version) for r in known))
    return "; known LTS lines: %s" % ", ".join(format_version(key) for key in catalog.line_keys())
