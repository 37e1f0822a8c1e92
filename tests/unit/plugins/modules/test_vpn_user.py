# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.vpn_user and orocloud.ops.vpn_pki_info module shells: main() with patched
module arguments on a PKI in a temporary directory; a fake qrencode on PATH."""

from __future__ import annotations

import datetime
import json
import os
import stat

import pyotp
import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.modules import vpn_pki_info, vpn_user
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.vpn_fake import Pki

CASES = [
    pytest.param({}, id="apply"),
    pytest.param({"_ansible_check_mode": True}, id="check-mode"),
]


@pytest.fixture
def pki(tmp_path, monkeypatch):
    """A gateway's PKI valid now, and a qrencode that answers a PNG header followed by its input."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    qrencode = bin_dir / "qrencode"
    qrencode.write_text("#!/bin/sh\nprintf '\\211PNG\\r\\n\\032\\n'\ncat\n")
    qrencode.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (bin_dir, os.environ["PATH"]))
    return Pki(tmp_path / "gateway", now=datetime.datetime.now(datetime.timezone.utc))


def args(pki, **overrides):
    return pki.params(**overrides)


def run(capsys, module, **module_args):
    """Run main() as Ansible would; return (exit code, result dict, raw output)."""
    with patch_module_args(module_args), pytest.raises(SystemExit) as exit_info:
        module.main()
    out = capsys.readouterr().out
    return exit_info.value.code, json.loads(out), out


def test_enrol_prints_no_secret_and_returns_the_files(capsys, pki):
    code, result, out = run(capsys, vpn_user, **args(pki), _ansible_diff=True)

    assert code == 0 and result["changed"] is True
    assert sorted(os.path.basename(f) for f in result["files"]) == ["alice-totp.png", "alice.otpauth", "alice.ovpn"]
    secret = pki.otp_secret()
    profile = pki.exported(".ovpn").decode()
    key_body = profile.split("<key>\n")[1].split("\n</key>")[0].splitlines()[1]
    assert secret not in out and key_body not in out
    assert "<key>" not in out and "otpauth://" not in out
    assert result["diff"]["after"] == {"certificate": result["diff"]["after"]["certificate"], "totp_secret": "present"}
    assert pyotp.parse_uri(pki.exported(".otpauth").decode().strip()).secret == secret
    assert pki.exported("-totp.png").startswith(b"\x89PNG")
    for path in result["files"]:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("internal", CASES)
def test_enrolled_person_is_unchanged(capsys, pki, internal):
    run(capsys, vpn_user, **args(pki))
    code, result, _out = run(capsys, vpn_user, **args(pki), **internal)
    assert code == 0 and result["changed"] is False and result["files"] == []
    assert "diff" not in result  # only with --diff


def test_check_mode_writes_nothing(capsys, pki):
    before = pki.tree()
    code, result, _out = run(capsys, vpn_user, **args(pki), _ansible_check_mode=True)
    assert code == 0 and result["changed"] is True and result["files"] == []
    assert pki.tree() == before


def test_enrol_needs_remote_host_and_export_dir(capsys, pki):
    values = args(pki)
    del values["remote_host"], values["export_dir"]
    code, result, _out = run(capsys, vpn_user, **values)
    assert code == 1
    assert result["msg"] == "state is present but all of the following are missing: remote_host, export_dir"


def test_revoke_needs_no_remote_host(capsys, pki):
    run(capsys, vpn_user, **args(pki))
    values = args(pki, state="absent")
    del values["remote_host"], values["export_dir"]
    code, result, _out = run(capsys, vpn_user, **values)
    assert code == 0 and result["changed"] is True and result["sessions_dropped"] == 0
    assert not os.path.exists(os.path.join(pki.otp_dir, "alice"))


def test_backend_error_fails_with_its_message(capsys, pki):
    os.unlink(os.path.join(pki.pki_dir, "ca.crt"))
    code, result, _out = run(capsys, vpn_user, **args(pki))
    assert code == 1 and result["failed"] is True and result["name"] == "alice"
    assert result["msg"].startswith("the VPN CA is missing (") and "run the vpn_gateway role" in result["msg"]


def test_invalid_name_fails(capsys, pki):
    code, result, _out = run(capsys, vpn_user, **args(pki, name="Alice Smith"))
    assert code == 1 and "VPN user name 'Alice Smith' is not valid" in result["msg"]


@pytest.mark.parametrize("internal", CASES)
def test_pki_info_reports_and_warns(capsys, pki, internal):
    run(capsys, vpn_user, **args(pki, days=10))
    code, result, _out = run(capsys, vpn_pki_info, pki_dir=pki.pki_dir, crl_path=pki.crl_path, warn_days=30, **internal)
    assert code == 0 and result["changed"] is False
    assert result["ca"]["status"] == "ok" and result["server"]["status"] == "ok"
    assert [(c["name"], c["status"]) for c in result["clients"]] == [("alice", "expiring")]
    assert result["crl"]["status"] == "ok" and result["crl"]["days_left"] in (179, 180)
    (problem,) = result["problems"]
    assert problem.startswith("the certificate of alice expires in ")
    assert [w["event"]["msg"] for w in result["warnings"]] == [problem]  # shown by Ansible as a warning


def test_pki_info_on_a_gateway_without_pki(capsys, tmp_path):
    code, result, _out = run(capsys, vpn_pki_info, pki_dir=str(tmp_path / "none"), crl_path=str(tmp_path / "crl"))
    assert code == 0
    assert result["ca"]["exists"] is False and result["crl"]["status"] == "missing"
