# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the operation-log backend: entries, masking, the file's ownership and modes (in tmp_path),
concurrent appends, syslog, the record of a maintenance module's call, and reading with filters."""

from __future__ import annotations

import datetime
import grp
import json
import multiprocessing
import os
import socket
import stat

import pytest
import yaml

from ansible_collections.orocloud.ops.plugins.doc_fragments.operation_log import ModuleDocFragment
from ansible_collections.orocloud.ops.plugins.module_utils import _operation_log as ol

NOW = datetime.datetime(2026, 3, 2, 10, 5, 0, tzinfo=datetime.timezone.utc)
AS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not AS_ROOT, reason="ownership is enforced only as root")


def entry(**overrides):
    values = dict(result="ok", user="alice", login="alice", host="web1", environment="acme-prod", details={},
                  run_id="r1", now=NOW)
    values.update(overrides)
    operation = values.pop("operation", "patch")
    action = values.pop("action", "switch_release")
    return ol.build_entry(operation, action, **values)


def lines(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture
def log(tmp_path):
    return str(tmp_path / "orocloud" / "operations.log")


def usable_group():
    """A group that exists on this machine (adm on Debian), or None."""
    for name in ("adm", "root", "wheel"):
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        return name
    return None


@pytest.fixture
def group():
    name = usable_group()
    if name is None:
        pytest.skip("no usable group")
    return name


class ModuleLog:
    """For the tests of the maintenance modules: their operation log (the default of ``log_path``) in a
    temporary directory, its group one that exists here, syslog replaced by a list - whatever a test passes,
    nothing reaches this machine's /var/log or syslog."""

    def __init__(self, monkeypatch, path):
        self.path = path
        self.syslog = []
        monkeypatch.setitem(ol.LOG_ARGUMENT_SPEC["log_path"], "default", path)
        monkeypatch.setattr(ol, "DEFAULT_GROUP", usable_group() or ol.DEFAULT_GROUP)
        monkeypatch.setattr(ol, "to_syslog", self.syslog.append)

    def entries(self):
        return lines(self.path) if os.path.exists(self.path) else []

    def unwritable(self):
        """A log_path that cannot be written (a file where its directory should be)."""
        blocker = os.path.join(os.path.dirname(os.path.dirname(self.path)), "not-a-directory")
        with open(blocker, "w", encoding="utf-8"):
            pass
        return os.path.join(blocker, "operations.log")


# ------------------------------------------------------------------------------------ entries


def test_entry_has_the_documented_fields_in_order():
    made = entry(details={"from": "6.1.0", "to": "6.1.1"})
    assert list(made) == ["time", "user", "login", "host", "environment", "operation", "action", "details",
                          "result", "run_id"]
    assert made["time"] == "2026-03-02T10:05:00Z"
    assert made["details"] == {"from": "6.1.0", "to": "6.1.1"}


def test_user_defaults_to_the_login():
    assert entry(user=None, login="bob")["user"] == "bob"


def test_entry_is_masked():
    made = entry(
        details={"database": "postgresql://oro:pw@db/oro", "password": "x", "note": "seed JBSWY3DP"},
        secrets=["JBSWY3DP"],
    )
    assert made["details"] == {
        "database": "postgresql://oro:********@db/oro",
        "password": "********",
        "note": "seed ********",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(result="done"), "result 'done' is not one of ok, changed, failed, skipped"),
        (dict(operation=""), "operation must not be empty"),
        (dict(action="  "), "action must not be empty"),
        (dict(details=["x"]), "details must be a mapping, got list"),
    ],
)
def test_bad_entries_are_refused(overrides, message):
    with pytest.raises(ol.OperationLogError, match=message):
        entry(**overrides)


def test_encoded_entry_is_one_line():
    line = ol.encode(entry(details={"output": "line 1\nline 2", "name": "Zoë"}))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert "Zoë".encode() in line


@pytest.mark.parametrize(
    ("environ", "uid", "expected"),
    [
        ({"SUDO_USER": "alice"}, 0, "alice"),
        ({}, 0, "root"),
        ({"SUDO_USER": "alice"}, 65534, "nobody"),  # SUDO_USER only counts when sudo made us root
        ({}, 4242424, "4242424"),
    ],
)
def test_node_login(environ, uid, expected):
    assert ol.node_login(environ, uid) == expected


# ------------------------------------------------------------------------------------ appending


def test_append_creates_directory_and_file_and_appends(log, group):
    first = ol.append(log, entry(action="a1"), group=group)
    second = ol.append(log, entry(action="a2"), group=group)

    assert first == dict(created=True, repaired=[])
    assert second == dict(created=False, repaired=[])
    assert [e["action"] for e in lines(log)] == ["a1", "a2"]
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(os.path.dirname(log)).st_mode) == 0o750
    if AS_ROOT:
        st = os.stat(log)
        assert (st.st_uid, st.st_gid) == (0, grp.getgrnam(group).gr_gid)


def test_append_in_check_mode_touches_nothing(log, group):
    assert ol.append(log, entry(), group=group, check_mode=True) == dict(created=True, repaired=[])
    assert not os.path.exists(os.path.dirname(log))


@needs_root
def test_append_restores_owner_and_modes_that_were_changed(log, group):
    ol.append(log, entry(), group=group)
    os.chmod(log, 0o666)  # noqa: S103 - what the module must put right
    os.chown(log, 65534, 65534)
    os.chmod(os.path.dirname(log), 0o777)  # noqa: S103 - idem

    result = ol.append(log, entry(action="second"), group=group)

    assert result["created"] is False
    assert result["repaired"] == [
        "%s had mode 0777" % os.path.dirname(log),
        "%s had owner 65534:65534 and mode 0666" % log,
    ]
    st = os.stat(log)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o640)
    assert stat.S_IMODE(os.stat(os.path.dirname(log)).st_mode) == 0o750
    assert len(lines(log)) == 2


@needs_root
def test_unknown_group_is_refused(log):
    with pytest.raises(ol.OperationLogError, match="the group no-such-group of the operation log does not exist"):
        ol.append(log, entry(), group="no-such-group")


def test_symlink_in_place_of_the_log_is_refused(log, tmp_path, group):
    os.makedirs(os.path.dirname(log))
    target = tmp_path / "elsewhere"
    target.write_text("")
    os.symlink(str(target), log)
    with pytest.raises(ol.OperationLogError, match="is a symbolic link"):
        ol.append(log, entry(), group=group)
    assert target.read_text() == ""


def test_directory_in_place_of_the_log_is_refused(log, group):
    os.makedirs(log)
    with pytest.raises(ol.OperationLogError, match="cannot open the operation log"):
        ol.append(log, entry(), group=group)


def test_file_in_place_of_the_directory_is_refused(tmp_path, group):
    (tmp_path / "orocloud").write_text("")
    with pytest.raises(ol.OperationLogError, match="orocloud is not a directory"):
        ol.append(str(tmp_path / "orocloud" / "operations.log"), entry(), group=group)


def _append_many(log, group, worker, count):
    for number in range(count):
        ol.append(log, entry(action="w%d-%d" % (worker, number), details={"pad": "x" * 3000}), group=group)


def test_concurrent_appends_never_mix_lines(log, group):
    ol.append(log, entry(action="first"), group=group)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(log, group, w, 25)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0

    actions = [e["action"] for e in lines(log)]  # every line parses
    assert len(actions) == 101
    for w in range(4):
        mine = [a for a in actions if a.startswith("w%d-" % w)]
        assert mine == ["w%d-%d" % (w, n) for n in range(25)]


class FakeSyslog:
    LOG_INFO, LOG_WARNING, LOG_PID, LOG_AUTHPRIV = 6, 4, 1, 80

    def __init__(self):
        self.calls = []

    def openlog(self, ident, option, facility):
        self.calls.append(("openlog", ident, option, facility))

    def syslog(self, priority, message):
        self.calls.append(("syslog", priority, message))

    def closelog(self):
        self.calls.append(("closelog",))


@pytest.mark.parametrize(("result", "priority"), [("ok", 6), ("changed", 6), ("skipped", 6), ("failed", 4)])
def test_syslog_gets_the_entry_failed_steps_at_warning(result, priority):
    fake = FakeSyslog()
    made = entry(result=result)
    ol.to_syslog(made, fake)
    assert fake.calls == [
        ("openlog", "orocloud-ops", 1, 80),
        ("syslog", priority, ol.encode(made).decode().rstrip("\n")),
        ("closelog",),
    ]


# ------------------------------------------------------------------------------------ a maintenance module's call


@pytest.fixture
def module_log(monkeypatch, log):
    return ModuleLog(monkeypatch, log)


def test_record_call_appends_one_masked_entry_and_sends_it_to_syslog(module_log):
    warnings = []
    made = ol.record_call(
        "console",
        "oro:platform:update",
        "changed",
        {"argv": ["php", "bin/console", "--password=hunter2", "s3cret"], "rc": 0},
        user="alice",
        environment="acme-prod",
        run_id="r1",
        path=module_log.path,
        secrets=["s3cret"],
        warn=warnings.append,
    )

    assert module_log.entries() == [made] and module_log.syslog == [made] and warnings == []
    fields = ("user", "login", "host", "environment", "operation", "action", "result", "run_id")
    assert {k: made[k] for k in fields} == {
        "user": "alice",
        "login": ol.node_login(),
        "host": socket.gethostname(),
        "environment": "acme-prod",
        "operation": "console",
        "action": "oro:platform:update",
        "result": "changed",
        "run_id": "r1",
    }
    assert made["details"] == {"argv": ["php", "bin/console", "--password=********", "********"], "rc": 0}
    assert stat.S_IMODE(os.stat(module_log.path).st_mode) == 0o640


def test_record_call_names_the_login_when_no_user_is_given(module_log):
    made = ol.record_call("services", "stop", "changed", {}, path=module_log.path, host="web1", warn=pytest.fail)
    assert made["user"] == made["login"] == ol.node_login() and made["host"] == "web1"
    assert made["environment"] is None and made["run_id"] is None


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("blocked", "not-a-directory is not a directory"),
        ("symlink", "is a symbolic link; refusing to write through it"),
        ("bad result", "result 'done' is not one of ok, changed, failed, skipped"),
    ],
)
def test_record_call_warns_instead_of_failing(module_log, tmp_path, kind, problem):
    path = module_log.path
    if kind == "blocked":
        path = module_log.unwritable()
    elif kind == "symlink":
        os.makedirs(os.path.dirname(path))
        os.symlink(str(tmp_path / "elsewhere"), path)
    warnings = []

    made = ol.record_call("release", "switch", "done" if kind == "bad result" else "changed", {}, path=path,
                          warn=warnings.append)

    assert made is None and module_log.syslog == []
    assert len(warnings) == 1 and warnings[0].startswith("this call was not recorded in the operation log (")
    assert path in warnings[0] and problem in warnings[0]
    assert not os.path.isfile(path) and not (tmp_path / "elsewhere").exists()


@needs_root
def test_record_call_restores_the_mode_and_says_so(module_log):
    ol.record_call("maintenance", "on", "changed", {}, path=module_log.path, warn=pytest.fail)
    os.chmod(module_log.path, 0o600)
    warnings = []

    ol.record_call("maintenance", "off", "changed", {}, path=module_log.path, warn=warnings.append)

    assert warnings == ["%s had mode 0600; owner and mode restored" % module_log.path]
    assert [e["action"] for e in module_log.entries()] == ["on", "off"]


def test_record_call_keeps_the_entry_when_syslog_fails(module_log, monkeypatch):
    def broken(entry):
        raise OSError("no syslog here")

    monkeypatch.setattr(ol, "to_syslog", broken)
    warnings = []

    made = ol.record_call("services", "restore", "changed", {}, path=module_log.path, warn=warnings.append)

    assert module_log.entries() == [made]
    assert warnings == ["the entry was written to %s but not to syslog: no syslog here" % module_log.path]


def test_log_argument_spec_is_what_the_doc_fragment_documents():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(documented) == set(ol.LOG_ARGUMENT_SPEC)
    for name, spec in ol.LOG_ARGUMENT_SPEC.items():
        assert documented[name]["type"] == spec["type"], name
        assert documented[name].get("default") == spec.get("default"), name


# ------------------------------------------------------------------------------------ reading


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02T10:05:00Z", "2026-03-02T10:05:00Z"),
        ("2026-03-02T11:05:00+01:00", "2026-03-02T10:05:00Z"),
        ("2026-03-02 10:05", "2026-03-02T10:05:00Z"),
        ("2026-03-02", "2026-03-02T00:00:00Z"),
        ("30m", "2026-03-02T09:35:00Z"),
        ("12h", "2026-03-01T22:05:00Z"),
        ("7d", "2026-02-23T10:05:00Z"),
        ("2w", "2026-02-16T10:05:00Z"),
        (" 45s ", "2026-03-02T10:04:15Z"),
    ],
)
def test_parse_moment(text, expected):
    assert ol.iso(ol.parse_moment(text, NOW)) == expected


@pytest.mark.parametrize("text", ["yesterday", "7y", "2026-13-01", "10:05"])
def test_parse_moment_refuses_what_it_does_not_understand(text):
    with pytest.raises(ol.OperationLogError, match=r"since: .* is neither an ISO 8601 date or time"):
        ol.parse_moment(text, NOW, "since")


def test_parse_moment_of_nothing_is_none():
    assert ol.parse_moment(None) is None and ol.parse_moment("") is None


@pytest.fixture
def history(log, group):
    """Five entries over two days by two people, and two lines that are not entries."""
    made = [
        entry(user="alice", operation="patch", action="lock", result="ok", run_id="r1",
              now=NOW - datetime.timedelta(days=1)),
        entry(user="alice", operation="patch", action="switch_release", result="changed", run_id="r1",
              now=NOW - datetime.timedelta(days=1, minutes=-5)),
        entry(user="bob", operation="access", action="grant", result="changed", run_id="r2", environment="acme-stag",
              now=NOW - datetime.timedelta(hours=2)),
        entry(user="alice", operation="patch", action="switch_release", result="failed", run_id="r3",
              now=NOW - datetime.timedelta(minutes=30)),
        entry(user="alice", operation="patch", action="rollback", result="changed", run_id="r3", now=NOW),
    ]
    for item in made[:3]:
        ol.append(log, item, group=group)
    with open(log, "ab") as handle:
        handle.write(b"not json\n\n[1, 2]\n")
    for item in made[3:]:
        ol.append(log, item, group=group)
    return log


@pytest.mark.parametrize(
    ("filters", "actions"),
    [
        (dict(), ["lock", "switch_release", "grant", "switch_release", "rollback"]),
        (dict(user="alice"), ["lock", "switch_release", "switch_release", "rollback"]),
        (dict(user="carol"), []),
        (dict(operation="access"), ["grant"]),
        (dict(action="switch_release"), ["switch_release", "switch_release"]),
        (dict(environment="acme-stag"), ["grant"]),
        (dict(run_id="r3"), ["switch_release", "rollback"]),
        (dict(results=["changed", "failed"], user="alice"), ["switch_release", "switch_release", "rollback"]),
        (dict(since="3h"), ["grant", "switch_release", "rollback"]),
        (dict(since="2026-03-02"), ["grant", "switch_release", "rollback"]),
        (dict(until="2026-03-02"), ["lock", "switch_release"]),
        (dict(since="2026-03-02T09:35:00Z", until="2026-03-02T10:05:00Z"), ["switch_release"]),
        (dict(user="alice", limit=2), ["switch_release", "rollback"]),
        (dict(limit=10), ["lock", "switch_release", "grant", "switch_release", "rollback"]),
        (dict(limit=0), []),
    ],
)
def test_read_entries_filters_oldest_first(history, filters, actions):
    found = ol.read_entries(history, now=NOW, **filters)
    assert [e["action"] for e in found["entries"]] == actions
    assert found["total"] == 5 and found["malformed"] == 2 and found["exists"] is True


def test_read_entries_counts_matches_before_the_limit(history):
    found = ol.read_entries(history, user="alice", limit=1, now=NOW)
    assert found["count"] == 4 and len(found["entries"]) == 1


def test_entries_without_a_readable_time_do_not_match_a_time_filter(log, group):
    ol.append(log, dict(entry(), time="whenever"), group=group)
    assert ol.read_entries(log, since="1d", now=NOW)["entries"] == []
    assert len(ol.read_entries(log)["entries"]) == 1


def test_missing_log_has_no_entries(tmp_path):
    assert ol.read_entries(str(tmp_path / "none.log")) == dict(entries=[], count=0, total=0, malformed=0,
                                                               exists=False)


def test_unreadable_log_is_reported(tmp_path):
    with pytest.raises(ol.OperationLogError, match="cannot read the operation log"):
        ol.read_entries(str(tmp_path))


def test_negative_limit_is_refused(tmp_path):
    with pytest.raises(ol.OperationLogError, match="limit must be 0 or more"):
        ol.read_entries(str(tmp_path / "x"), limit=-1)
