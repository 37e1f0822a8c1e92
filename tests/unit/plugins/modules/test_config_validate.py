# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.config_validate module shell: main() with patched module arguments."""

from __future__ import annotations

import json
import textwrap

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.module_utils import _orocloud_config as occ
from ansible_collections.orocloud.ops.plugins.modules import config_validate
from ansible_collections.orocloud.ops.tests.unit.plugins.modules._results import warnings

COMMON = """
orocloud_options:
  mail:
    whitelist: ['example.com']
  webserver:
    limit_whitelist: ['8.8.8.8']
    locations:
      root:
        location: '/'
        auth_basic_userlist:
          ops: {ensure: present, password: 's3cret'}
"""

PROD = """
orocloud_options:
  mail: null
  consumers:
    - queue: 'oro.index'
      processes: 8
"""

BROKEN_PROD = """
orocloud_options:
  consumers:
    - processes: 8
  webserver:
    limit_whitelist: ['not-an-ip']
"""


def run(capsys, **args):
    """Run main() as Ansible would; return (exit code, result dict)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        config_validate.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


@pytest.fixture
def repo(tmp_path):
    def _write(**files):
        for name, text in files.items():
            (tmp_path / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return tmp_path

    return _write


CASES = [
    pytest.param({}, id="apply"),
    pytest.param({"_ansible_check_mode": True}, id="check-mode"),
]


@pytest.mark.parametrize("internal", CASES)
def test_valid_configuration_returns_merged_result_and_changes_nothing(capsys, repo, internal):
    path = repo(**{"orocloud.yaml": COMMON, "orocloud_prod.yaml": PROD})

    code, result = run(capsys, path=str(path), environment_type="production", **internal)

    assert code == 0
    assert result["changed"] is False
    assert "failed" not in result
    assert result["files"] == [str(path / "orocloud.yaml"), str(path / "orocloud_prod.yaml")]
    assert result["overlay"] == str(path / "orocloud_prod.yaml")
    options = result["config"]["orocloud_options"]
    assert "mail" not in options
    assert options["consumers"] == [{"queue": "oro.index", "processes": 8}]
    assert options["webserver"]["locations"]["root"]["auth_basic_userlist"]["ops"]["password"] == occ.MASK
    assert "diff" not in result
    assert "s3cret" not in json.dumps(result)


def test_diff_mode_shows_what_the_overlay_changes(capsys, repo):
    path = repo(**{"orocloud.yaml": COMMON, "orocloud_prod.yaml": PROD})

    code, result = run(capsys, path=str(path), environment_type="production", _ansible_diff=True)

    assert code == 0 and result["changed"] is False
    before, after = result["diff"]["before"]["orocloud_options"], result["diff"]["after"]["orocloud_options"]
    assert before["mail"] == {"whitelist": ["example.com"]} and "consumers" not in before
    assert "mail" not in after and after["consumers"][0]["queue"] == "oro.index"
    assert result["diff"]["after"] == result["config"]
    assert "s3cret" not in json.dumps(result)


def test_invalid_configuration_fails_with_every_error_in_msg(capsys, repo):
    path = repo(**{"orocloud.yaml": COMMON, "orocloud_prod.yaml": BROKEN_PROD})

    code, result = run(capsys, path=str(path), environment_type="production")

    assert code == 1
    assert result["failed"] is True
    overlay = str(path / "orocloud_prod.yaml")
    assert result["msg"].startswith("orocloud configuration for production is invalid (2 errors):\n")
    assert "%s:3: orocloud_options.consumers.0.queue: required key is missing" % overlay in result["msg"]
    assert "%s:5: orocloud_options.webserver.limit_whitelist.0: is not an IP address" % overlay in result["msg"]
    assert result["errors"] == [
        {"file": overlay, "line": 3, "path": "orocloud_options.consumers.0.queue", "reason": "required key is missing"},
        {
            "file": overlay,
            "line": 5,
            "path": "orocloud_options.webserver.limit_whitelist.0",
            "reason": "is not an IP address or network: 'not-an-ip'",
        },
    ]
    assert result["files"] == [str(path / "orocloud.yaml"), overlay]
    assert "config" not in result


@pytest.mark.parametrize(
    "strict, failed",
    [(True, True), (False, False)],
    ids=["strict", "lenient"],
)
def test_strict_decides_whether_unknown_keys_fail(capsys, repo, strict, failed):
    path = repo(**{"orocloud.yaml": "orocloud_options: {mail: {white_list: [a.example]}}\n"})

    code, result = run(capsys, path=str(path), environment_type="staging", strict=strict)

    assert bool(result.get("failed")) is failed and code == int(failed)
    text = result["msg"] if failed else " ".join(warnings(result))
    assert "orocloud_options.mail.white_list: unknown key (did you mean 'whitelist'?)" in text


def test_malformed_yaml_fails_naming_file_and_line(capsys, repo):
    path = repo(**{"orocloud.yaml": "orocloud_options:\n  mail: [a.example\n"})

    code, result = run(capsys, path=str(path), environment_type="testing")

    assert code == 1
    [error] = result["errors"]
    assert error["file"] == str(path / "orocloud.yaml") and error["line"] == 3
    assert "YAML syntax error" in result["msg"]


def test_overlay_option_and_warnings(capsys, repo):
    path = repo(**{"candidate.yaml": "orocloud_options: {mail: {whitelist: [c.example]}}\n"})

    code, result = run(capsys, path=str(path), environment_type="development", overlay="candidate.yaml")

    assert code == 0
    assert result["files"] == [str(path / "candidate.yaml")]
    assert result["config"] == {"orocloud_options": {"mail": {"whitelist": ["c.example"]}}}
    assert any("orocloud.yaml: not found; the overlay is validated on its own" in w for w in warnings(result))


def test_backend_exception_becomes_fail_json(capsys, tmp_path):
    code, result = run(capsys, path=str(tmp_path / "missing"), environment_type="production")

    assert code == 1
    assert result["failed"] is True
    assert result["msg"] == "%s is not a directory (expected the directory holding orocloud.yaml)" % (
        tmp_path / "missing"
    )


def test_missing_pyyaml_becomes_fail_json(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(occ, "_Loader", None)

    code, result = run(capsys, path=str(tmp_path), environment_type="production")

    assert code == 1 and "PyYAML is required on the managed node" in result["msg"]


@pytest.mark.parametrize(
    "args, message",
    [
        ({"environment_type": "production"}, "missing required arguments: path"),
        ({"path": "/x", "environment_type": "prod"}, "value of environment_type must be one of"),
    ],
    ids=["no-path", "bad-type"],
)
def test_argument_spec(capsys, args, message):
    code, result = run(capsys, **args)

    assert code == 1 and message in result["msg"]
