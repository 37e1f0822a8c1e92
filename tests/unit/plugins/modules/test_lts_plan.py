# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.lts_plan module shell: main() with patched module arguments."""

from __future__ import annotations

import datetime
import json

import pytest
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.modules import lts_plan

TODAY = "2026-11-26"


@pytest.fixture(autouse=True)
def _as_on_a_target(monkeypatch):
    """Results go to stdout as on a managed node, whatever controller code other tests imported; warnings
    recorded by another test do not leak into this one."""
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False)
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})


def run(capsys, **args):
    """Run main() as Ansible would; return (exit code, result dict)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        lts_plan.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


CASES = [
    pytest.param({}, id="apply"),
    pytest.param({"_ansible_check_mode": True}, id="check-mode"),
]


@pytest.mark.parametrize("internal", CASES)
def test_latest_patch_of_the_lab_line_needs_downtime_and_changes_nothing(capsys, internal):
    code, result = run(capsys, current="6.1.0", target="latest", today=TODAY, **internal)

    assert code == 0 and result["changed"] is False and "failed" not in result
    assert (result["current"], result["target"], result["today"]) == ("6.1.0", "6.1.2", TODAY)
    assert result["steps"] == [{
        "from": "6.1.0", "to": "6.1.2", "kind": "patch", "releases": ["6.1.1", "6.1.2"], "schema_change": True,
        "rolling_safe": False, "reindex": "recommended", "strategy": "downtime",
    }]
    assert (result["rolling_safe"], result["strategy"], result["reindex"]) == (False, "downtime", "recommended")
    assert result["support"]["current"]["ends"] == "2029-03-31" and result["support"]["target"]["latest"] == "6.1.2"
    assert result["msg"] == "upgrade 6.1.0 to 6.1.2 in 1 step: 6.1.0 -> 6.1.2 (patch, downtime); strategy downtime"
    assert "warnings" not in result


@pytest.mark.parametrize(
    "current, target, strategy, kinds",
    [
        ("6.1.0", "6.1.1", "rolling", ["patch"]),
        ("6.1.1", "6.1.2", "downtime", ["patch"]),
        ("6.1.0", "next_lts", "downtime", ["patch", "lts"]),
        ("6.1.2", "6.1.2", "rolling", []),
    ],
)
def test_the_lab_paths(capsys, current, target, strategy, kinds):
    code, result = run(capsys, current=current, target=target, today=TODAY)

    assert code == 0, result["msg"]
    assert result["strategy"] == strategy and [s["kind"] for s in result["steps"]] == kinds


def test_target_defaults_to_latest_and_today_to_the_current_date(capsys):
    code, result = run(capsys, current="6.1.1")

    assert code == 0
    assert result["target"] == "6.1.2" and result["today"] == datetime.date.today().isoformat()


@pytest.mark.parametrize(
    "args, message",
    [
        ({"current": "6.1.2", "target": "6.1.1"},
         "cannot plan the upgrade from 6.1.2 to 6.1.1: 6.1.1 is older than 6.1.2 and downgrades are not supported"),
        ({"current": "6.1.0", "target": "6.1.9"},
         "cannot plan the upgrade from 6.1.0 to 6.1.9: target 6.1.9 is not in the release catalog"),
        ({"current": "4.1.0", "target": "5.1.0"},
         "cannot plan the upgrade from 4.1.0 to 5.1.0: it jumps over LTS 4.2, 5.0"),
        ({"current": "six", "target": "latest"},
         "cannot plan the upgrade from six to latest: current 'six' is not a version"),
        ({"current": "6.1.0", "today": "2026-13-01"}, "today: '2026-13-01' is not a date (YYYY-MM-DD"),
        ({"target": "latest"}, "missing required arguments: current"),
    ],
    ids=["downgrade", "unknown", "forbidden-jump", "malformed", "today", "no-current"],
)
def test_refusals_fail_the_task_with_a_clear_message(capsys, args, message):
    args.setdefault("today", TODAY)
    code, result = run(capsys, **args)

    assert code == 1 and result["failed"] is True
    assert message in result["msg"]
    assert "steps" not in result


def test_support_warnings_are_task_warnings(capsys):
    code, result = run(capsys, current="5.0.0", target="next_lts", today=TODAY, warn_days=90)

    assert code == 0 and result["target"] == "6.1.2"
    # on the node a warning is a structured summary; the controller shows its message and registers it as text
    assert [w["event"]["msg"] for w in result["warnings"]] == [
        "LTS 5.0 (current 5.0.0): support ended on 2025-01-31; extended coverage is needed "
        "(it covers the line until 2027-01-31)"
    ]


def test_extended_coverage_allows_a_target_past_its_standard_support(capsys, tmp_path):
    catalog = tmp_path / "releases.yml"
    catalog.write_text("releases:\n  - {version: 5.0.3, released: 2023-02-01, schema_change: false, reindex: none}\n")

    code, result = run(capsys, current="5.0.0", catalog=str(catalog), today=TODAY)
    assert code == 1 and "only with extended coverage (until 2027-01-31): set extended_coverage" in result["msg"]

    code, result = run(capsys, current="5.0.0", catalog=str(catalog), today=TODAY, extended_coverage=True)
    assert code == 0 and result["target"] == "5.0.3" and result["strategy"] == "rolling"
    assert result["support"]["target"]["status"] == "extended" and result["support"]["target"]["covered"] is True


def test_invalid_catalog_file_fails_naming_file_and_entry(capsys, tmp_path):
    catalog = tmp_path / "releases.yml"
    catalog.write_text("releases:\n  - {version: 7.0.1, released: 2026-05-01, schema_change: no, reindex: sometimes}\n")

    code, result = run(capsys, current="7.0.0", catalog=str(catalog), today=TODAY)

    assert code == 1
    assert result["msg"] == (
        "catalog %s is invalid (1 problem): releases[0] (7.0.1): reindex must be one of none, recommended, required, "
        "found 'sometimes'" % catalog
    )
