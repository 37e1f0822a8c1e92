# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _haproxy_runtime: the parsers on HAProxy 2.6.12's own output, and the client and the
state changes against a fake runtime API on a real UNIX socket (haproxy_fake.py)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils import _haproxy_runtime as hr
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.haproxy_fake import FakeHAProxy

# Captured from HAProxy 2.6.12 (Debian bookworm) in the load_balancer scenario: app-a drained with a request
# in flight (its backend stopped, so its check times out), app-b failing its health check.
REAL_SERVERS_STATE = (
    '1\n'
    '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_ti'
    'me_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_st'
    'ate bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_'
    'addr srv_agent_addr srv_agent_port\n'
    '4 web 1 app-a 127.0.0.1 2 8 1 1 3 12 2 3 6 0 0 0 - 8081 - 0 0 - - 0\n'
    '4 web 2 app-b 127.0.0.1 0 0 1 1 6 17 2 0 6 0 0 0 - 8082 - 0 0 - - 0\n'
)
REAL_STAT = (
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,statu'
    's,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rat'
    'e,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_'
    '5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,co'
    'mp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,che'
    'ck_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie'
    ',mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,c'
    'ache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur'
    ',used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ss'
    'l_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_str'
    'eam_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_str'
    'eam_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_'
    'total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,'
    'h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n'
    'web,app-a,0,0,1,1,,2,97,244,,0,,0,0,0,0,DRAIN 2/3,1,1,0,2,2,3,5,,1,4,1,,2,,2,0,,1,L7TOUT,,2004,0,1,0'
    ',0,0,0,,,,1,0,0,,,,,4,,,0,0,4916,4920,,,,Layer7 timeout,,2,3,3,,,,127.0.0.1:8081,,http,,,,,,,,0,2,0,'
    ',,0,,0,0,4916,4920,0,0,0,1,2,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'web,app-b,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,7,3,6,12,,1,4,2,,0,,2,0,,0,L7STS,503,15,0,0,0,0,0,0,'
    ',,,0,0,0,,,,,-1,Service Unavailable,,0,0,0,0,,,,Layer7 wrong status,,2,3,0,,,,127.0.0.1:8082,,http,,'
    ',,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
)


def test_servers_state_of_haproxy_2_6():
    rows = hr.parse_servers_state(REAL_SERVERS_STATE)
    assert [row["srv_name"] for row in rows] == ["app-a", "app-b"]
    assert rows[0]["srv_admin_state"] == "8" and rows[0]["srv_port"] == "8081"
    assert rows[1]["srv_op_state"] == "0" and rows[1]["srv_check_state"] == "6"


def test_stat_csv_of_haproxy_2_6():
    rows = hr.parse_stat(REAL_STAT)
    assert [(row["pxname"], row["svname"]) for row in rows] == [("web", "app-a"), ("web", "app-b")]
    first = (rows[0]["scur"], rows[0]["qcur"], rows[0]["status"], rows[0]["check_status"])
    assert first == ("1", "0", "DRAIN 2/3", "L7TOUT")
    assert (rows[1]["last_chk"], rows[1]["check_desc"]) == ("Service Unavailable", "Layer7 wrong status")


def test_stat_csv_quoting_and_a_running_check():
    """A field with a comma comes quoted (CSV); a check in progress shows the last status after '* '."""
    header = "# pxname,svname,qcur,scur,status,check_status,last_chk,"
    rows = hr.parse_stat(header + '\nweb,web1,0,0,UP,* L7STS,"Bad Gateway, retry",\n')
    assert rows[0]["last_chk"] == "Bad Gateway, retry"
    state = {"srv_name": "web1", "srv_op_state": "2", "srv_admin_state": "0", "srv_check_state": "6"}
    assert hr.server_report("web", state, rows[0])["check_status"] == "L7STS"


def test_report_joins_both_answers():
    states = hr.parse_servers_state(REAL_SERVERS_STATE)
    stats = {row["svname"]: row for row in hr.parse_stat(REAL_STAT)}
    a, b = (hr.public(hr.server_report("web", row, stats[row["srv_name"]])) for row in states)
    assert a == {
        "backend": "web", "name": "app-a", "address": "127.0.0.1:8081", "admin_state": "drain",
        "operational_state": "UP", "status": "DRAIN 2/3", "weight": 1, "initial_weight": 1,
        "check_status": "L7TOUT", "check_code": None, "check_description": "Layer7 timeout", "last_check": None,
        "sessions": 1, "queued": 0,
    }
    assert b == {
        "backend": "web", "name": "app-b", "address": "127.0.0.1:8082", "admin_state": "ready",
        "operational_state": "DOWN", "status": "DOWN", "weight": 1, "initial_weight": 1,
        "check_status": "L7STS", "check_code": 503, "check_description": "Layer7 wrong status",
        "last_check": "Service Unavailable", "sessions": 0, "queued": 0,
    }


@pytest.mark.parametrize(("flags", "state"), [
    (0x00, "ready"),
    (0x08, "drain"),  # forced drain
    (0x10, "drain"),  # inherited from a tracked server
    (0x01, "maint"),  # forced
    (0x02, "maint"),  # inherited
    (0x04, "maint"),  # `disabled` in the configuration
    (0x20, "maint"),  # address resolution failed
    (0x09, "maint"),  # maintenance wins over drain
    (0x40, "ready"),  # FQDN set from the socket: not a state
])
def test_admin_state_from_flags(flags, state):
    assert hr.admin_state(flags) == state


@pytest.mark.parametrize(("text", "what"), [
    ("", "show servers state"),
    ("Can't find backend.", "show servers state"),
    ("2\n# be_id", "show servers state"),
])
def test_unexpected_servers_state_is_an_error(text, what):
    with pytest.raises(hr.HAProxyRuntimeError, match=what):
        hr.parse_servers_state(text)


def test_unexpected_stat_is_an_error():
    with pytest.raises(hr.HAProxyRuntimeError, match="show stat"):
        hr.parse_stat("No such proxy.")


# ------------------------------------------------------------------------------------ against the fake


@pytest.fixture
def socket_dir():
    # A UNIX socket path has at most 107 bytes: pytest's tmp_path may be longer.
    path = tempfile.mkdtemp(prefix="hap", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def fake(socket_dir):
    server = FakeHAProxy(os.path.join(socket_dir, "admin.sock"), {
        "web": ["orolab-prod-web1", "orolab-prod-web2", "orolab-prod-web3"],
        "ratelimit_common": [],
    }).start()
    yield server
    server.stop()


@pytest.fixture
def api(fake):
    return hr.RuntimeAPI(fake.path, timeout=5)


def params(**extra):
    values = {"backend": "web", "servers": ["orolab-prod-web2"], "state": "drain", "wait": True, "timeout": 5}
    values.update(extra)
    return values


def fast(api, values, **options):
    return hr.set_state(api, values, poll=0.01, **options)


def test_one_command_per_connection(api, fake):
    assert api.command("get weight web/orolab-prod-web1") == "1 (initial 1)"
    assert api.command("show backend") == "# name\nweb\nratelimit_common"
    assert fake.commands == ["get weight web/orolab-prod-web1", "show backend"]


def test_refuses_to_send_a_second_command(api, fake):
    with pytest.raises(hr.HAProxyRuntimeError, match="line break"):
        api.command("show stat; set server web/orolab-prod-web1 state maint")
    assert fake.commands == []


def test_missing_socket_names_it(socket_dir):
    path = os.path.join(socket_dir, "nowhere.sock")
    with pytest.raises(hr.HAProxyRuntimeError, match=r"nowhere\.sock cannot be reached: it does not exist"):
        hr.RuntimeAPI(path).command("show backend")


def test_left_over_socket_is_refused(socket_dir):
    path = os.path.join(socket_dir, "stale.sock")
    left = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    left.bind(path)
    left.close()  # the file stays, nobody listens
    with pytest.raises(hr.HAProxyRuntimeError, match="connection refused: HAProxy is not running"):
        hr.RuntimeAPI(path).command("show backend")


def test_silent_socket_times_out(socket_dir):
    path = os.path.join(socket_dir, "silent.sock")
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(path)
    silent.listen(1)
    try:
        with pytest.raises(hr.HAProxyRuntimeError, match="no answer within the timeout"):
            hr.RuntimeAPI(path, timeout=0.2).command("show backend")
    finally:
        silent.close()


def test_info_of_one_backend(api, fake):
    fake.server("orolab-prod-web2").scur = 3
    fake.server("orolab-prod-web3").admin = 0x01
    fake.server("orolab-prod-web3").op_state = 0
    reports = hr.info(api, "web")
    assert [(r["name"], r["admin_state"], r["operational_state"], r["sessions"]) for r in reports] == [
        ("orolab-prod-web1", "ready", "UP", 0),
        ("orolab-prod-web2", "ready", "UP", 3),
        ("orolab-prod-web3", "maint", "DOWN", 0),
    ]
    assert reports[2]["status"] == "MAINT" and reports[2]["check_status"] is None
    assert reports[0]["check_status"] == "L7OK" and reports[0]["check_code"] == 200
    assert fake.commands == ["show servers state web", "show stat web 4 -1"]


def test_info_of_every_backend_and_of_named_servers(api, fake):
    assert len(hr.info(api)) == 3
    assert fake.commands == ["show servers state", "show stat -1 4 -1"]
    assert [r["name"] for r in hr.info(api, "web", ["orolab-prod-web3", "orolab-prod-web1"])] == [
        "orolab-prod-web3", "orolab-prod-web1",
    ]
    with pytest.raises(hr.HAProxyRuntimeError, match="name the backend"):
        hr.info(api, None, ["orolab-prod-web1"])


def test_unknown_backend_names_it_and_the_existing_ones(api):
    with pytest.raises(hr.HAProxyRuntimeError) as error:
        hr.info(api, "webs")
    assert str(error.value) == "HAProxy has no backend 'webs' (backends: web, ratelimit_common)"


def test_unknown_server_names_it_and_the_existing_ones(api, fake):
    with pytest.raises(hr.HAProxyRuntimeError) as error:
        fast(api, params(servers=["orolab-prod-web1", "orolab-prod-web9"]))
    assert str(error.value) == (
        "backend 'web' has no server 'orolab-prod-web9' "
        "(servers: orolab-prod-web1, orolab-prod-web2, orolab-prod-web3)"
    )
    assert fake.sets() == []


@pytest.mark.parametrize(("servers", "message"), [
    (["web1/../x"], "not a valid HAProxy name"),
    (["web1 state maint"], "not a valid HAProxy name"),
    (["*", "orolab-prod-web1"], "give it alone"),
    ([], "no server given"),
])
def test_bad_server_lists_send_nothing(api, fake, servers, message):
    with pytest.raises(hr.HAProxyRuntimeError, match=message):
        fast(api, params(servers=servers))
    assert fake.sets() == []


def test_bad_backend_name_sends_nothing(api, fake):
    with pytest.raises(hr.HAProxyRuntimeError, match="not a valid HAProxy name"):
        fast(api, params(backend="web\nset server"))
    assert fake.commands == []


def test_check_mode_reports_and_changes_nothing(api, fake):
    result = fast(api, params(), check_mode=True)
    assert result["changed"] is True
    assert result["changed_servers"] == ["orolab-prod-web2"]
    assert result["diff"] == {"before": {"orolab-prod-web2": "ready"}, "after": {"orolab-prod-web2": "drain"}}
    assert result["servers"][0]["admin_state"] == "ready"
    assert fake.sets() == []


def test_drain_then_again_is_idempotent(api, fake):
    first = fast(api, params())
    assert first["changed"] is True
    assert fake.sets() == ["set server web/orolab-prod-web2 state drain"]
    assert first["servers"][0]["admin_state"] == "drain" and first["servers"][0]["status"] == "DRAIN"
    again = fast(api, params())
    assert again["changed"] is False and again["changed_servers"] == []
    assert again["diff"]["before"] == again["diff"]["after"] == {"orolab-prod-web2": "drain"}
    assert len(fake.sets()) == 1
    assert fast(api, params(), check_mode=True)["changed"] is False


def test_drain_waits_for_the_requests_in_flight(api, fake):
    web2 = fake.server("orolab-prod-web2")
    web2.scur, web2.qcur = 2, 1
    polls = []

    def finish_one_per_poll(fake, command):
        if command == "show stat web 4 -1" and web2.admin & 0x08:
            polls.append((web2.scur, web2.qcur))
            web2.qcur = 0
            web2.scur = max(0, web2.scur - 1) if len(polls) > 1 else web2.scur

    fake.hooks.append(finish_one_per_poll)
    result = fast(api, params())
    assert polls[0] == (2, 1)  # drained while busy
    assert (result["servers"][0]["sessions"], result["servers"][0]["queued"]) == (0, 0)
    assert len(polls) >= 3  # it polled until the last session ended
    assert result["waited"] > 0


def test_drain_of_a_busy_server_times_out_saying_so(api, fake):
    fake.server("orolab-prod-web2").scur = 4
    with pytest.raises(hr.HAProxyRuntimeError) as error:
        fast(api, params(timeout=0.2))
    message = str(error.value)
    assert message.startswith("web/orolab-prod-web2 is not without sessions and queued requests after 0.2 s")
    assert "4 sessions, 0 queued" in message
    assert "check L7OK 200 (Layer7 check passed)" in message
    assert message.endswith("it is left set to drain: it gets no new requests")
    assert error.value.result["changed"] is True
    assert error.value.result["servers"][0]["admin_state"] == "drain"


def test_no_wait_reports_at_once(api, fake):
    fake.server("orolab-prod-web2").scur = 4
    result = fast(api, params(wait=False))
    assert result["changed"] is True and result["servers"][0]["sessions"] == 4 and result["waited"] == 0


def test_ready_from_maintenance_waits_for_a_passing_check(api, fake):
    web2 = fake.server("orolab-prod-web2")
    web2.admin, web2.op_state = 0x01, 0
    seen = []

    def check_on_third_poll(fake, command):
        if command == "show stat web 4 -1" and not web2.admin:
            seen.append(web2.status())
            if len(seen) == 3:
                fake.check("orolab-prod-web2", passed=True)

    fake.hooks.append(check_on_third_poll)
    result = fast(api, params(state="ready"))
    assert seen[0] == "UP 1/3"  # up at once, not yet checked
    assert result["changed"] is True
    report = result["servers"][0]
    assert (report["admin_state"], report["operational_state"], report["status"]) == ("ready", "UP", "UP")
    assert len(seen) == 3  # "UP 1/3" twice was not enough: it waited for the check


def test_ready_of_a_failing_server_times_out_with_its_check(api, fake):
    web2 = fake.server("orolab-prod-web2")
    fake.check("orolab-prod-web2", passed=False)
    fake.check("orolab-prod-web2", passed=False)
    fake.check("orolab-prod-web2", passed=False)
    assert web2.op_state == 0
    web2.admin = 0x08
    with pytest.raises(hr.HAProxyRuntimeError) as error:
        fast(api, params(state="ready", timeout=0.2))
    message = str(error.value)
    assert message.startswith("web/orolab-prod-web2 is not UP with a passing health check after 0.2 s: ready, DOWN")
    assert "check L7STS 503 'Service Unavailable' (Layer7 wrong status)" in message
    assert "it is left set ready: it gets requests as soon as its health check passes" in message
    assert error.value.result["changed"] is True


def test_ready_of_a_ready_server_that_is_down_fails_without_change(api, fake):
    for _n in range(3):
        fake.check("orolab-prod-web2", passed=False)
    with pytest.raises(hr.HAProxyRuntimeError, match="it is left ready: ") as error:
        fast(api, params(state="ready", timeout=0))
    assert error.value.result["changed"] is False
    assert fake.sets() == []


def test_maint_every_server_warns_that_nothing_serves(api, fake):
    result = fast(api, params(servers=["*"], state="maint"))
    assert result["changed_servers"] == ["orolab-prod-web1", "orolab-prod-web2", "orolab-prod-web3"]
    assert [r["status"] for r in result["servers"]] == ["MAINT"] * 3
    assert result["warnings"] == ["no server of backend 'web' is ready and UP: HAProxy answers its requests with 503"]


def test_ready_every_server(api, fake):
    fake.server("orolab-prod-web1").admin = 0x08
    fake.server("orolab-prod-web3").admin = 0x01
    fake.server("orolab-prod-web3").op_state = 0
    fake.hooks.append(lambda fake, command: fake.check("orolab-prod-web3") if command.startswith("show stat") else None)
    result = fast(api, params(servers=["*"], state="ready"))
    assert result["changed_servers"] == ["orolab-prod-web1", "orolab-prod-web3"]
    assert result["diff"]["before"] == {
        "orolab-prod-web1": "drain", "orolab-prod-web2": "ready", "orolab-prod-web3": "maint",
    }
    assert [r["status"] for r in result["servers"]] == ["UP"] * 3
    assert result["warnings"] == []


def test_a_state_that_does_not_stick_is_an_error(api, fake):
    fake.server("orolab-prod-web2").admin = 0x04  # `disabled` in the configuration
    with pytest.raises(hr.HAProxyRuntimeError) as error:
        fast(api, params(state="ready"))
    assert str(error.value) == (
        "web/orolab-prod-web2 is still maint after 'set server ... state ready' "
        "(maintenance from the configuration (disabled))"
    )


def test_a_refusal_midway_says_what_was_already_set(api, fake):
    def remove_web3(fake, command):
        if command == "set server web/orolab-prod-web3 state drain":
            fake.backends["web"].servers.pop()

    fake.hooks.append(remove_web3)
    with pytest.raises(hr.HAProxyRuntimeError) as error:
        fast(api, params(servers=["orolab-prod-web2", "orolab-prod-web3"]))
    assert str(error.value) == (
        "'set server web/orolab-prod-web3 state drain' was refused: No such server.; "
        "already set to drain: orolab-prod-web2"
    )
    assert error.value.result["changed"] is True
    assert error.value.result["changed_servers"] == ["orolab-prod-web2"]


def test_concurrent_clients_each_get_their_answer(api):
    answers = []

    def read():
        answers.append(len(hr.info(api, "web")))

    threads = [threading.Thread(target=read) for _n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [3] * 8
