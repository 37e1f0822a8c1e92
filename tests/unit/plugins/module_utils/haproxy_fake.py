# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake HAProxy runtime API for the unit tests: a real UNIX socket served by a thread, answering
the commands the collection uses the way HAProxy 2.6.12 (Debian bookworm) does, byte for byte:

* ``show servers state [<backend>]`` (format version 1), ``show stat [<proxy>|-1] 4 -1`` (CSV with
  HAProxy 2.6's full header), ``show backend``, ``get weight <backend>/<server>``;
* ``set server <backend>/<server> state ready|drain|maint`` with HAProxy's side effects: leaving
  maintenance makes a server UP at the lowest health that is still up (``UP 1/3``), maintenance stops
  its checks, drain keeps them;
* HAProxy's error texts (``Can't find backend.``, ``No such backend.``, ``No such server.``, ``No such
  proxy.``, the help text for an unknown command).

Each connection carries one command; the answer ends with an empty line and the connection is closed,
as HAProxy does outside the interactive ``prompt`` mode. Tests change the servers (``fake.server(name)``),
simulate health checks (``fake.check(name, passed)``) and hook into every command (``fake.hooks``)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

# HAProxy 2.6.12's headers, verbatim.
STATE_HEADER = (
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight"
    " srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state"
    " srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port"
    " srv_check_addr srv_agent_addr srv_agent_port"
)
STAT_HEADER = (
    "pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,"
    "act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,"
    "rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,"
    "hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,"
    "last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,"
    "check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,"
    "conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,"
    "src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,"
    "need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,"
    "ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,"
    "h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,"
    "h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,"
    "h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,"
    "h1_spliced_bytes_in,h1_spliced_bytes_out,"
)
STAT_FIELDS = STAT_HEADER.split(",")
UNKNOWN_COMMAND = (
    "Unknown command, but maybe one of the following ones is a better match:\n"
    "  help [<command>]                        : list matching or all commands\n"
    "  prompt                                  : toggle interactive mode with prompt\n"
    "  quit                                    : disconnect\n"
)
# Check results as HAProxy reports them: (check_status, check_code, last_chk, check_desc, srv_check_status)
PASSED = ("L7OK", "200", "", "Layer7 check passed", 15)
FAILED = ("L7STS", "503", "Service Unavailable", "Layer7 wrong status", 17)
FMAINT, FDRAIN = 0x01, 0x08
MAINT_MASK, DRAIN_MASK = 0x27, 0x18
CHK_CONFIGURED, CHK_ENABLED, CHK_PAUSED = 0x02, 0x04, 0x08


@dataclass
class Server:
    name: str
    port: int
    sid: int
    address: str = "127.0.0.1"
    op_state: int = 2  # SRV_ST_RUNNING
    admin: int = 0
    uweight: int = 1
    iweight: int = 1
    rise: int = 2
    fall: int = 3
    health: int = 4  # rise + fall - 1: fully up
    checked: bool = True
    check: tuple = PASSED
    scur: int = 0
    qcur: int = 0

    def status(self):
        """The ``status`` column of ``show stat``."""
        if self.admin & MAINT_MASK:
            return "MAINT"
        if self.op_state == 0:
            word = "DOWN"
            if self.checked and self.health:
                return "%s %d/%d" % (word, self.health, self.rise)
            return word
        word = "DRAIN" if self.admin & DRAIN_MASK else "UP"
        if not self.checked:
            return "no check" if word == "UP" else word
        top = self.rise + self.fall - 1
        if self.health < top:
            return "%s %d/%d" % (word, self.health - self.rise + 1, self.fall)
        return word

    def check_state(self):
        if not self.checked:
            return 0
        state = CHK_CONFIGURED | CHK_ENABLED
        return state | CHK_PAUSED if self.admin & MAINT_MASK else state


@dataclass
class Backend:
    name: str
    iid: int
    servers: list = field(default_factory=list)


class FakeHAProxy:
    """The runtime API of an HAProxy 2.6 with the given backends ({name: [server names]})."""

    def __init__(self, path, backends):
        self.path = str(path)
        self.backends = {}
        port = 8081
        for iid, (name, servers) in enumerate(backends.items(), start=4):
            backend = Backend(name, iid)
            for sid, server in enumerate(servers, start=1):
                backend.servers.append(Server(server, port, sid))
                port += 1
            self.backends[name] = backend
        self.commands = []
        self.hooks = []  # callables (fake, command) run before each answer
        self.lock = threading.RLock()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(16)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._stopped = False

    # -------------------------------------------------------------------------------- test helpers

    def server(self, name, backend="web"):
        return next(s for s in self.backends[backend].servers if s.name == name)

    def check(self, name, passed=True, backend="web"):
        """One health check of ``name`` ends, as HAProxy's check task would record it."""
        with self.lock:
            server = self.server(name, backend)
            if not server.checked or server.admin & MAINT_MASK:
                return
            server.check = PASSED if passed else FAILED
            top = server.rise + server.fall - 1
            if passed:
                if server.op_state == 0:
                    server.health += 1
                    if server.health >= server.rise:
                        server.op_state, server.health = 2, top
                else:
                    server.health = top
            elif server.op_state != 0:
                if server.health > server.rise:
                    server.health -= 1
                else:
                    server.op_state, server.health = 0, 0
            else:
                server.health = 0

    def sets(self):
        """The ``set`` commands received."""
        return [c for c in self.commands if c.startswith("set ")]

    # -------------------------------------------------------------------------------- the server

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopped = True
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as poke:
                poke.connect(self.path)
        except OSError:
            pass
        self._thread.join(5)
        self._sock.close()

    def _serve(self):
        while True:
            conn, _addr = self._sock.accept()
            if self._stopped:
                conn.close()
                return
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                command = data.decode().strip()
                with self.lock:
                    self.commands.append(command)
                    for hook in list(self.hooks):
                        hook(self, command)
                    answer = self.answer(command)
                conn.sendall(answer.encode() + b"\n")

    # -------------------------------------------------------------------------------- the protocol

    def answer(self, command):
        """HAProxy's answer to one command, without the final empty line's newline."""
        words = command.split()
        answer = UNKNOWN_COMMAND
        if words[:3] == ["show", "servers", "state"]:
            answer = self._show_servers_state(words[3] if len(words) > 3 else None)
        elif words[:2] == ["show", "stat"]:
            answer = self._show_stat(words[2] if len(words) > 2 else "-1")
        elif words == ["show", "backend"]:
            answer = "# name\n" + "".join(name + "\n" for name in self.backends)
        elif words[:2] == ["get", "weight"] and len(words) == 3:
            found = self._find(words[2])
            answer = found if isinstance(found, str) else "%d (initial %d)\n" % (found.uweight, found.iweight)
        elif words[:2] == ["set", "server"] and len(words) == 5 and words[3] == "state":
            answer = self._set_state(words[2], words[4])
        return answer

    def _find(self, path):
        backend_name, _sep, server_name = path.partition("/")
        backend = self.backends.get(backend_name)
        if backend is None:
            return "No such backend.\n"
        server = next((s for s in backend.servers if s.name == server_name), None)
        return server if server is not None else "No such server.\n"

    def _show_servers_state(self, name):
        if name is not None and name not in self.backends:
            return "Can't find backend.\n"
        lines = ["1", STATE_HEADER]
        for backend in self.backends.values():
            if name is not None and backend.name != name:
                continue
            for s in backend.servers:
                lines.append(" ".join(str(v) for v in (
                    backend.iid, backend.name, s.sid, s.name, s.address, s.op_state, s.admin, s.uweight, s.iweight,
                    3, s.check[4], 3 if s.check is PASSED else 2, s.health, s.check_state(), 0, 0, 0, "-", s.port,
                    "-", 0, 0, "-", "-", 0,
                )))
        return "\n".join(lines) + "\n"

    def _show_stat(self, proxy):
        if proxy != "-1" and proxy not in self.backends:
            return "No such proxy.\n"
        lines = ["# " + ",".join(STAT_FIELDS)]
        for backend in self.backends.values():
            if proxy not in ("-1", backend.name):
                continue
            for s in backend.servers:
                row = dict.fromkeys(STAT_FIELDS, "")
                in_maint = s.admin & MAINT_MASK
                row.update(
                    pxname=backend.name, svname=s.name, qcur=s.qcur, qmax=s.qcur, scur=s.scur, smax=s.scur,
                    status=s.status(), weight=s.uweight, act=1, bck=0, iid=backend.iid, sid=s.sid, type=2,
                    check_status="" if in_maint or not s.checked else s.check[0],
                    check_code="" if in_maint or not s.checked else s.check[1],
                    last_chk="" if in_maint or not s.checked else s.check[2],
                    check_desc="" if in_maint or not s.checked else s.check[3],
                    check_rise=s.rise if s.checked else "", check_fall=s.fall if s.checked else "",
                    check_health=s.health if s.checked else "", addr="%s:%d" % (s.address, s.port), mode="http",
                    uweight=s.uweight,
                )
                row["-"] = "-"
                lines.append(",".join(_csv(row[name]) for name in STAT_FIELDS[:-1]) + ",")
        return "\n".join(lines) + "\n"

    def _set_state(self, path, state):
        found = self._find(path)
        if isinstance(found, str):
            return found
        if state not in ("ready", "drain", "maint"):
            return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
        was_maint = found.admin & MAINT_MASK
        if state == "maint":
            found.admin = (found.admin | FMAINT) & ~FDRAIN
            found.op_state = 0
            return ""
        found.admin &= ~FMAINT
        found.admin = found.admin | FDRAIN if state == "drain" else found.admin & ~FDRAIN
        if was_maint and not found.admin & MAINT_MASK:
            # Back from maintenance: up at once, one failed check away from down.
            found.op_state = 2
            found.health = found.rise if found.checked else found.health
        return ""


def _csv(value):
    text = str(value)
    if any(c in text for c in ',"\n'):
        return '"%s"' % text.replace('"', '""')
    return text
