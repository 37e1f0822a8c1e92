# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the orocloud.ops.load_balancer_server and load_balancer_server_info module shells: main()
with patched module arguments, against a fake HAProxy runtime API on a real UNIX socket."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.orocloud.ops.plugins.modules import load_balancer_server, load_balancer_server_info
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.haproxy_fake import FakeHAProxy
from ansible_collections.orocloud.ops.tests.unit.plugins.modules._results import warnings

WEB = ["orolab-prod-web1", "orolab-prod-web2"]


@pytest.fixture
def fake():
    directory = tempfile.mkdtemp(prefix="hap", dir="/tmp")  # a UNIX socket path is short
    server = FakeHAProxy(os.path.join(directory, "admin.sock"), {"web": WEB}).start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def run(capsys, module, **args):
    """Run main() as Ansible would; return (exit code, result dict)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        module.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def drain(capsys, fake, **args):
    options = {"socket": fake.path, "backend": "web", "servers": ["orolab-prod-web2"], "state": "drain"}
    options.update(args)
    return run(capsys, load_balancer_server, **options)


def test_check_apply_check_apply(capsys, fake):
    """The four runs of a change: check mode, apply, check mode again, apply again."""
    code, result = drain(capsys, fake, _ansible_check_mode=True, _ansible_diff=True)
    assert code == 0 and result["changed"] is True
    assert result["diff"] == {"before": {"orolab-prod-web2": "ready"}, "after": {"orolab-prod-web2": "drain"}}
    assert result["servers"][0]["admin_state"] == "ready"
    assert fake.sets() == []

    code, result = drain(capsys, fake, _ansible_diff=True)
    assert code == 0 and result["changed"] is True and result["changed_servers"] == ["orolab-prod-web2"]
    assert fake.sets() == ["set server web/orolab-prod-web2 state drain"]
    report = result["servers"][0]
    assert {key: report[key] for key in ("name", "admin_state", "operational_state", "sessions", "queued")} == {
        "name": "orolab-prod-web2", "admin_state": "drain", "operational_state": "UP", "sessions": 0, "queued": 0,
    }

    code, result = drain(capsys, fake, _ansible_check_mode=True)
    assert code == 0 and result["changed"] is False
    code, result = drain(capsys, fake)
    assert code == 0 and result["changed"] is False
    assert "diff" not in result  # without --diff
    assert len(fake.sets()) == 1


def test_result_keys_are_the_documented_ones(capsys, fake):
    _code, result = drain(capsys, fake)
    assert set(result["servers"][0]) == {
        "name", "backend", "address", "admin_state", "operational_state", "status", "weight", "initial_weight",
        "check_status", "check_code", "check_description", "last_check", "sessions", "queued",
    }
    assert {"changed", "changed_servers", "servers", "waited"} <= set(result)


def test_timeout_fails_saying_what_is_left(capsys, fake):
    fake.server("orolab-prod-web2").scur = 2
    code, result = drain(capsys, fake, timeout=0)
    assert code == 1 and result["failed"] is True
    assert result["changed"] is True  # the drain was set
    assert "web/orolab-prod-web2 is not without sessions and queued requests after 0 s" in result["msg"]
    assert "2 sessions, 0 queued, check L7OK 200 (Layer7 check passed)" in result["msg"]
    assert "it is left set to drain" in result["msg"]
    assert result["servers"][0]["admin_state"] == "drain"


def test_unknown_server_fails_and_changes_nothing(capsys, fake):
    code, result = drain(capsys, fake, servers=["orolab-prod-web9"])
    assert code == 1 and result["changed"] is False
    assert result["msg"] == (
        "backend 'web' has no server 'orolab-prod-web9' (servers: orolab-prod-web1, orolab-prod-web2)"
    )
    assert fake.sets() == []


def test_unknown_backend_fails_naming_the_backends(capsys, fake):
    code, result = drain(capsys, fake, backend="www")
    assert code == 1 and result["msg"] == "HAProxy has no backend 'www' (backends: web)"


def test_missing_socket_fails_naming_it(capsys, fake):
    code, result = drain(capsys, fake, socket="/run/haproxy/nothing-here.sock")
    assert code == 1
    assert result["msg"].startswith("HAProxy's runtime API socket /run/haproxy/nothing-here.sock cannot be reached")


def test_negative_timeout_is_refused(capsys, fake):
    code, result = drain(capsys, fake, timeout=-1)
    assert code == 1 and "timeout" in result["msg"]
    assert fake.commands == []


def test_every_server_out_warns(capsys, fake):
    code, result = drain(capsys, fake, servers=["*"], state="maint")
    assert code == 0 and result["changed_servers"] == WEB
    assert warnings(result) == ["no server of backend 'web' is ready and UP: HAProxy answers its requests with 503"]


def test_ready_again(capsys, fake):
    fake.server("orolab-prod-web1").admin = 0x08
    code, result = drain(capsys, fake, servers=["*"], state="ready", _ansible_diff=True)
    assert code == 0 and result["changed_servers"] == ["orolab-prod-web1"]
    assert result["diff"]["before"] == {"orolab-prod-web1": "drain", "orolab-prod-web2": "ready"}
    assert [r["admin_state"] for r in result["servers"]] == ["ready", "ready"]


def test_info_reports_and_never_sets(capsys, fake):
    fake.server("orolab-prod-web2").admin = 0x08
    fake.server("orolab-prod-web2").scur = 5
    for check_mode in (False, True):
        code, result = run(capsys, load_balancer_server_info, socket=fake.path, backend="web",
                           _ansible_check_mode=check_mode)
        assert code == 0 and result["changed"] is False
        assert [(r["name"], r["admin_state"], r["sessions"]) for r in result["servers"]] == [
            ("orolab-prod-web1", "ready", 0), ("orolab-prod-web2", "drain", 5),
        ]
    code, result = run(capsys, load_balancer_server_info, socket=fake.path)
    assert code == 0 and [r["backend"] for r in result["servers"]] == ["web", "web"]
    code, result = run(capsys, load_balancer_server_info, socket=fake.path, backend="web", servers=["nope"])
    assert code == 1 and "has no server 'nope'" in result["msg"]
    assert fake.sets() == []
