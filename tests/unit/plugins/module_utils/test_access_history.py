# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the access-history backend: sshd's messages, journalctl's JSON output, naming keys from
authorized_keys and from user records, the operation log, filters, merge order and limit. journalctl is a fake
runner; homes and the operation log are in tmp_path."""

from __future__ import annotations

import datetime
import json
import os
import re

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils import _access_history as ah
from ansible_collections.orocloud.ops.plugins.module_utils import _operation_log as ol
from ansible_collections.orocloud.ops.plugins.module_utils._access_history import (
    AccessHistoryError,
    history,
    journal_argv,
    parse_journal,
    parse_message,
)
from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.access_fake import (
    ECDSA256,
    ECDSA256_FP,
    ED25519,
    ED25519_B,
    ED25519_B_FP,
    ED25519_C,
    ED25519_C_FP,
    ED25519_FP,
    RSA3072,
    RSA3072_FP,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
HOST = "acme-prod-web1"
FP = "SHA256:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def journal_line(message, when, pid=4242, **fields):
    """One line of ``journalctl --output=json``: __REALTIME_TIMESTAMP in microseconds, as a string."""
    moment = at(when) if isinstance(when, str) else when
    micro = (moment - datetime.datetime(1970, 1, 1, tzinfo=UTC)) // datetime.timedelta(microseconds=1)
    record = {"__CURSOR": "s=1;i=%x" % micro, "__REALTIME_TIMESTAMP": str(micro), "_HOSTNAME": "container-abc",
              "SYSLOG_IDENTIFIER": "sshd", "_PID": str(pid), "MESSAGE": message}
    record.update(fields)
    return json.dumps(record)


def accepted(user, key_type, fp, address="10.231.1.30"):
    return "Accepted publickey for %s from %s port 51234 ssh2: %s %s" % (user, address, key_type, fp)


def failed(user, key_type, fp, address="10.231.1.30"):
    return "Failed publickey for %s from %s port 51234 ssh2: %s %s" % (user, address, key_type, fp)


class FakeJournal:
    """The runner: journalctl's argv recorded, its output given."""

    def __init__(self, lines=(), rc=0, err=""):
        self.lines = list(lines)
        self.rc = rc
        self.err = err
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        return self.rc, "".join(line + "\n" for line in self.lines), self.err


@pytest.fixture
def homes(tmp_path):
    """Homes with authorized_keys: name -> lines; the account lookup of the backend."""
    accounts = {}

    def add(name, *lines):
        home = tmp_path / "home" / name
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "authorized_keys").write_text("".join(line + "\n" for line in lines))
        accounts[name] = (os.getuid(), str(home))

    add.lookup = accounts.get
    return add


@pytest.fixture
def oplog(tmp_path):
    path = tmp_path / "operations.log"

    def add(when, *, user="alice", operation="patch", action="switch_release", result="changed", details=None,
            **extra):
        entry = ol.build_entry(operation, action, result=result, user=user, login=extra.pop("login", user),
                               host=extra.pop("host", HOST), environment="acme-prod", details=details,
                               run_id=extra.pop("run_id", "r1"), now=at(when))
        entry.update(extra)
        with open(path, "ab") as handle:
            handle.write(ol.encode(entry))
        return entry

    add.path = str(path)
    return add


def run_history(journal, homes=None, **options):
    options.setdefault("journalctl", "/usr/bin/journalctl")
    options.setdefault("host", HOST)
    options.setdefault("now", NOW)
    options.setdefault("operations_log", "/nonexistent/operations.log")
    return history(journal, account=homes.lookup if homes else (lambda name: None), **options)


# ---------------------------------------------------------------------------------------------- messages

MESSAGES = [
    (
        "Accepted publickey for alice from 10.231.1.30 port 51234 ssh2: ED25519 " + FP,
        dict(user="alice", result="accepted", method="publickey", key={"type": "ED25519", "fingerprint": FP},
             reason=None, **{"from": "10.231.1.30"}),
    ),
    (
        "Accepted publickey for deploy from 2001:db8::7 port 40022 ssh2: ED25519-CERT %s ID alice@acme (serial 7) "
        "CA ED25519 SHA256:cacacacacacacacacacacacacacacacacacacacaca" % FP,
        dict(user="deploy", result="accepted", method="publickey", key={"type": "ED25519-CERT", "fingerprint": FP},
             reason=None, **{"from": "2001:db8::7"}),
    ),
    (
        "Failed publickey for alice from 10.231.1.30 port 51234 ssh2: RSA " + FP,
        dict(user="alice", result="refused", method="publickey", key={"type": "RSA", "fingerprint": FP},
             reason="key not accepted", **{"from": "10.231.1.30"}),
    ),
    (
        "Failed publickey for invalid user mallory from 203.0.113.9 port 2222 ssh2: ECDSA " + FP,
        dict(user="mallory", result="refused", method="publickey", key={"type": "ECDSA", "fingerprint": FP},
             reason="invalid user", **{"from": "203.0.113.9"}),
    ),
    (
        "User alice from 10.231.9.9 not allowed because not listed in AllowUsers",
        dict(user="alice", result="refused", method=None, key=None, reason="not listed in AllowUsers",
             **{"from": "10.231.9.9"}),
    ),
    (
        "User bob not allowed because account is locked",
        dict(user="bob", result="refused", method=None, key=None, reason="account is locked", **{"from": None}),
    ),
    (
        "User carol from 10.231.1.31 not allowed because listed in DenyUsers",
        dict(user="carol", result="refused", method=None, key=None, reason="listed in DenyUsers",
             **{"from": "10.231.1.31"}),
    ),
    (
        "User dave not allowed because shell /bin/nosuch does not exist",
        dict(user="dave", result="refused", method=None, key=None, reason="shell /bin/nosuch does not exist",
             **{"from": None}),
    ),
    (
        "Invalid user mallory from 203.0.113.9 port 2222",
        dict(user="mallory", result="refused", method=None, key=None, reason="invalid user",
             **{"from": "203.0.113.9"}),
    ),
    (
        "Invalid user  from 203.0.113.9 port 2222",
        dict(user="", result="refused", method=None, key=None, reason="invalid user", **{"from": "203.0.113.9"}),
    ),
    (
        "Failed publickey for alice from 10.231.1.30 port 51234 ssh2: ED25519 %s [preauth]" % FP,
        dict(user="alice", result="refused", method="publickey", key={"type": "ED25519", "fingerprint": FP},
             reason="key not accepted", **{"from": "10.231.1.30"}),
    ),
    (
        "Invalid user admin from 203.0.113.9 port 2222 [preauth]",
        dict(user="admin", result="refused", method=None, key=None, reason="invalid user", **{"from": "203.0.113.9"}),
    ),
    ("error: Certificate invalid: expired", {"cert_error": "certificate expired"}),
    ("error: Certificate invalid: name is not a listed principal",
     {"cert_error": "certificate invalid: name is not a listed principal"}),
]


@pytest.mark.parametrize(("message", "expected"), MESSAGES, ids=[m[0][:40] for m in MESSAGES])
def test_each_message_form_is_parsed(message, expected):
    assert parse_message(message) == expected


@pytest.mark.parametrize("message", [
    "Connection closed by authenticating user alice 10.231.1.30 port 51234 [preauth]",
    "pam_unix(sshd:session): session opened for user alice(uid=1001) by (uid=0)",
    "Received disconnect from 10.231.1.30 port 51234:11: disconnected by user",
    "Disconnected from user alice 10.231.1.30 port 51234",
    "Failed none for invalid user mallory from 203.0.113.9 port 2222 ssh2",
    "Postponed publickey for alice from 10.231.1.30 port 51234 ssh2 [preauth]",
    "Server listening on 0.0.0.0 port 22.",
    "error: kex_exchange_identification: Connection closed by remote host",
    "Connection from 10.231.1.30 port 51234 on 10.231.1.10 port 22 rdomain \"\"",
    "",
])
def test_other_messages_are_ignored(message):
    assert parse_message(message) is None


def test_an_invalid_user_name_cannot_forge_the_address_or_the_key():
    name = "x from 10.231.1.30 port 1 ssh2: ED25519 " + FP
    event = parse_message("Failed publickey for invalid user %s from 203.0.113.9 port 2222 ssh2: RSA SHA256:real"
                          % name)
    assert (event["user"], event["from"], event["key"]) == (name, "203.0.113.9",
                                                            {"type": "RSA", "fingerprint": "SHA256:real"})
    event = parse_message("Invalid user %s from 203.0.113.9 port 2222" % name)
    assert (event["user"], event["from"]) == (name, "203.0.113.9")


def test_accepted_with_another_method_has_no_key():
    event = parse_message("Accepted keyboard-interactive/pam for alice from 10.0.0.1 port 5 ssh2")
    assert event["result"] == "accepted" and event["method"] == "keyboard-interactive/pam" and event["key"] is None


# ---------------------------------------------------------------------------------------------- the journal


def test_journal_lines_malformed_are_counted_and_markers_skipped():
    lines = [
        journal_line(accepted("alice", "ED25519", FP), "2026-03-02T10:00:00.250000"),
        "not json at all",
        "[1, 2, 3]",
        json.dumps({"MESSAGE": accepted("bob", "ED25519", FP)}),  # no time
        json.dumps({"__REALTIME_TIMESTAMP": "soon", "MESSAGE": accepted("bob", "ED25519", FP)}),
        json.dumps({"__REALTIME_TIMESTAMP": "1772445600000000", "MESSAGE": None}),  # too large for journalctl
        json.dumps({"__REALTIME_TIMESTAMP": "1772445600000000", "MESSAGE": [1, "x"]}),
        "-- No entries --",
        "",
        journal_line("Server listening on :: port 22.", "2026-03-02T10:00:01"),  # ignored, not malformed
        journal_line(list(b"Invalid user j\xc3\xb6rg from 203.0.113.9 port 22"), "2026-03-02T10:00:02"),
    ]
    events, malformed = parse_journal("\n".join(lines) + "\n")
    assert malformed == 6
    assert [(e["user"], e["result"], e["moment"]) for e in events] == [
        ("alice", "accepted", at("2026-03-02T10:00:00.250000")),
        ("j\u00f6rg", "refused", at("2026-03-02T10:00:02")),
    ]


def test_certificate_error_names_the_reason_of_the_next_refused_certificate_of_its_process():
    lines = [
        journal_line("error: Certificate invalid: expired", "2026-03-02T10:00:00", pid=10),
        journal_line(failed("alice", "ED25519", FP), "2026-03-02T10:00:00.1", pid=10),  # a plain key: not it
        journal_line(failed("bob", "ED25519-CERT", FP), "2026-03-02T10:00:00.2", pid=11),  # another process
        journal_line(failed("alice", "ED25519-CERT", FP), "2026-03-02T10:00:00.3", pid=10),
        journal_line(failed("alice", "ED25519-CERT", FP), "2026-03-02T10:00:00.4", pid=10),  # used up
    ]
    events, malformed = parse_journal("\n".join(lines))
    assert malformed == 0
    assert [(e["user"], e["reason"]) for e in events] == [
        ("alice", "key not accepted"), ("bob", "key not accepted"), ("alice", "certificate expired"),
        ("alice", "key not accepted")]


def test_journal_argv_widens_the_window_to_whole_seconds():
    assert journal_argv("/usr/bin/journalctl") == [
        "/usr/bin/journalctl", "--output=json", "--output-fields=MESSAGE,_PID", "--no-pager",
        "SYSLOG_IDENTIFIER=sshd", "SYSLOG_IDENTIFIER=sshd-session"]
    argv = journal_argv("journalctl", at("2026-03-02T10:00:00.900000"), at("2026-03-02T11:00:00.100000"))
    assert argv[4:6] == ["--since=@1772445600", "--until=@1772449201"]
    assert journal_argv("journalctl", None, at("2026-03-02T11:00:00"))[4] == "--until=@1772449200"


# ---------------------------------------------------------------------------------------------- key names


def test_fingerprint_is_named_from_authorized_keys(homes):
    homes("alice", "# the keys of alice", 'expiry-time="209912310000Z" ' + ED25519, "no-pty " + ECDSA256)
    journal = FakeJournal([
        journal_line(accepted("alice", "ED25519", ED25519_FP), "2026-03-02T10:00:00"),
        journal_line(accepted("alice", "ECDSA", ECDSA256_FP), "2026-03-02T10:01:00"),
        journal_line(accepted("alice", "RSA", RSA3072_FP), "2026-03-02T10:02:00"),
    ])
    found = run_history(journal, homes)
    assert [e["key"] for e in found["entries"]] == [
        {"type": "ED25519", "fingerprint": ED25519_FP, "comment": "sample-ed25519"},
        {"type": "ECDSA", "fingerprint": ECDSA256_FP, "comment": "sample-ecdsa256"},
        {"type": "RSA", "fingerprint": RSA3072_FP, "comment": None},  # nobody knows it
    ]
    assert found["warnings"] == []


def test_fingerprint_is_named_from_the_records_and_a_removed_key_still_is(homes):
    homes("alice", ED25519)  # ED25519_B was removed from the host, the records still have it
    users = [
        {"name": "alice", "environments": ["*"], "ssh_keys": [{"key": ED25519_B}, {"key": ED25519}]},
        {"name": "carol", "state": "absent", "ssh_keys": [{"key": RSA3072}]},
    ]
    journal = FakeJournal([
        journal_line(accepted("alice", "ED25519", ED25519_B_FP), "2026-02-01T09:00:00"),
        journal_line(failed("alice", "ED25519", ED25519_B_FP), "2026-03-01T09:00:00"),
        journal_line(accepted("carol", "RSA", RSA3072_FP), "2026-01-01T09:00:00"),  # no account any more
    ])
    found = run_history(journal, homes, users=users)
    assert [(e["user"], e["key"]["comment"]) for e in found["entries"]] == [
        ("carol", "sample-rsa3072"), ("alice", "second-ed25519"), ("alice", "second-ed25519")]


def test_authorized_keys_name_first_then_the_own_record_then_any_record(homes):
    homes("alice", ED25519.replace("sample-ed25519", "alice@laptop-now"))
    homes("deploy", "")
    users = [
        {"name": "alice", "ssh_keys": [{"key": ED25519.replace("sample-ed25519", "alice@laptop-record")},
                                       {"key": ED25519_C}]},
        {"name": "deploy", "ssh_keys": [{"key": ED25519_C.replace("third-ed25519", "deploy-ci")}]},
    ]
    journal = FakeJournal([
        journal_line(accepted("alice", "ED25519", ED25519_FP), "2026-03-02T10:00:00"),
        journal_line(accepted("deploy", "ED25519", ED25519_FP), "2026-03-02T10:01:00"),  # alice's key, shared account
        journal_line(accepted("deploy", "ED25519", ED25519_C_FP), "2026-03-02T10:02:00"),
        journal_line(accepted("alice", "ED25519", ED25519_C_FP), "2026-03-02T10:03:00"),
    ])
    found = run_history(journal, homes, users=users)
    assert [e["key"]["comment"] for e in found["entries"]] == [
        "alice@laptop-now", "alice@laptop-record", "deploy-ci", "third-ed25519"]


def test_a_key_past_its_expiry_is_refused_as_expired(homes):
    homes("alice", 'expiry-time="20260301Z" ' + ED25519)
    users = [{"name": "bob", "ssh_keys": [{"key": ED25519_B, "expires": "2026-02-15"}]}]
    journal = FakeJournal([
        journal_line(failed("bob", "ED25519", ED25519_B_FP), "2026-02-14T23:59:59"),
        journal_line(failed("bob", "ED25519", ED25519_B_FP), "2026-02-15T00:00:00"),
        journal_line(failed("bob", "ED25519", ED25519_C_FP), "2026-02-16T10:00:00"),  # not bob's key
        journal_line(failed("alice", "ED25519", ED25519_FP), "2026-02-28T23:59:00"),
        journal_line(failed("alice", "ED25519", ED25519_FP), "2026-03-01T00:00:00"),
        journal_line(accepted("alice", "ED25519", ED25519_FP), "2026-03-01T00:00:01"),  # accepted stays accepted
    ])
    found = run_history(journal, homes, users=users)
    assert [(e["user"], e["result"], e["reason"]) for e in found["entries"]] == [
        ("bob", "refused", "key not accepted"), ("bob", "refused", "key expired"),
        ("bob", "refused", "key not accepted"), ("alice", "refused", "key not accepted"),
        ("alice", "refused", "key expired"), ("alice", "accepted", None)]


def test_expiry_time_with_z_is_utc():
    assert ah._expiry_option('no-pty,expiry-time="202603011230Z"') == at("2026-03-01T12:30:00")
    assert ah._expiry_option('EXPIRY-TIME="20260301000000Z"') == at("2026-03-01T00:00:00")
    assert ah._expiry_option("no-pty") is None
    assert ah._expiry_option('expiry-time="20261301"') is None


def test_records_that_cannot_name_keys_warn_without_key_data(homes):
    users = [{"name": "alice", "ssh_keys": [{"key": "ssh-ed25519 !!!notbase64 alice@bad"}, {"key": 42},
                                            {"key": ED25519, "expires": "soon"}]}]
    found = run_history(FakeJournal([journal_line(accepted("alice", "ED25519", ED25519_FP), "2026-03-02T10:00:00")]),
                        homes, users=users)
    assert found["warnings"] == [
        "users[0] (alice): ssh_keys[0] is not a public key; it cannot name a login",
        "users[0] (alice): ssh_keys[1] is not a public key; it cannot name a login",
        "users[0] (alice): ssh_keys[2]: expires 'soon' is not a date of the form YYYY-MM-DD; the key is named "
        "without it",
    ]
    assert found["entries"][0]["key"]["comment"] == "sample-ed25519"


@pytest.mark.parametrize(("users", "message"), [
    ([{"ssh_keys": []}], "users[0]: a user record is a mapping with a name"),
    (["alice"], "users[0]: a user record is a mapping with a name"),
    ([{"name": "alice", "ssh_keys": ED25519}], "users[0] (alice): ssh_keys must be a list"),
])
def test_malformed_records_are_errors(users, message):
    with pytest.raises(AccessHistoryError, match=r"^%s$" % re.escape(message)):
        run_history(FakeJournal(), users=users)


def test_no_key_data_is_ever_returned(homes):
    homes("alice", ED25519, RSA3072)
    users = [{"name": "alice", "ssh_keys": [{"key": ED25519}, {"key": ED25519_B}, {"key": RSA3072}]}]
    journal = FakeJournal([journal_line(accepted("alice", "ED25519", fp), "2026-03-02T10:00:00")
                           for fp in (ED25519_FP, ED25519_B_FP, RSA3072_FP)])
    dumped = json.dumps(run_history(journal, homes, users=users))
    for key in (ED25519, ED25519_B, RSA3072):
        assert key.split()[1] not in dumped
        assert key.split()[1][:40] not in dumped


def test_an_unreadable_authorized_keys_is_a_warning(homes, monkeypatch):
    homes("alice", ED25519)

    def refuse(home, uid):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ah, "read_keys_file", refuse)
    found = run_history(FakeJournal([journal_line(accepted("alice", "ED25519", ED25519_FP), "2026-03-02T10:00:00")]),
                        homes)
    assert found["entries"][0]["key"]["comment"] is None
    assert len(found["warnings"]) == 1
    assert found["warnings"][0].startswith("cannot read the authorized_keys of alice in ")
    assert found["warnings"][0].endswith(": Permission denied; its keys are named from the user records only")


# ---------------------------------------------------------------------------------------------- the history


def test_logins_and_operations_are_merged_oldest_first(homes, oplog):
    homes("alice", ED25519)
    oplog("2026-03-02T10:05:00", action="lock")
    oplog("2026-03-02T10:05:07", action="switch_release", details={"from": "6.1.0", "to": "6.1.1"})
    oplog("2026-03-02T09:00:00", user="bob", action="check")  # the log's order is not the history's
    journal = FakeJournal([
        journal_line(accepted("bob", "ED25519", ED25519_FP), "2026-03-02T08:59:59.5"),
        journal_line(accepted("alice", "ED25519", ED25519_FP), "2026-03-02T10:05:00.700000"),  # the same second
        journal_line("User mallory from 203.0.113.9 not allowed because not listed in AllowUsers",
                     "2026-03-02T10:05:03"),
    ])
    found = run_history(journal, homes, operations_log=oplog.path)
    assert [(e["time"], e["kind"], e["user"], e.get("action") or e.get("result")) for e in found["entries"]] == [
        ("2026-03-02T08:59:59Z", "login", "bob", "accepted"),
        ("2026-03-02T09:00:00Z", "operation", "bob", "check"),
        ("2026-03-02T10:05:00Z", "login", "alice", "accepted"),
        ("2026-03-02T10:05:00Z", "operation", "alice", "lock"),
        ("2026-03-02T10:05:03Z", "login", "mallory", "refused"),
        ("2026-03-02T10:05:07Z", "operation", "alice", "switch_release"),
    ]
    login, operation = found["entries"][2], found["entries"][5]
    assert login == {"time": "2026-03-02T10:05:00Z", "host": HOST, "kind": "login", "user": "alice",
                     "result": "accepted", "method": "publickey", "from": "10.231.1.30",
                     "key": {"type": "ED25519", "fingerprint": ED25519_FP, "comment": "sample-ed25519"},
                     "reason": None}
    assert operation == {"time": "2026-03-02T10:05:07Z", "host": HOST, "kind": "operation", "user": "alice",
                         "result": "changed", "login": "alice", "operation": "patch", "action": "switch_release",
                         "environment": "acme-prod", "run_id": "r1", "details": {"from": "6.1.0", "to": "6.1.1"}}
    assert found["people"] == {
        "bob": {"logins": 1, "refused": 0, "operations": 1, "first": "2026-03-02T08:59:59Z",
                "last": "2026-03-02T09:00:00Z"},
        "alice": {"logins": 1, "refused": 0, "operations": 2, "first": "2026-03-02T10:05:00Z",
                  "last": "2026-03-02T10:05:07Z"},
        "mallory": {"logins": 0, "refused": 1, "operations": 0, "first": "2026-03-02T10:05:03Z",
                    "last": "2026-03-02T10:05:03Z"},
    }
    assert found["count"] == 6 and found["malformed"] == 0
    assert found["msg"] == "6 entries of 3 people: 2 logins, 1 refused, 3 operations"


def test_the_host_of_a_login_is_the_node_s_name_not_the_journal_s(homes):
    found = run_history(FakeJournal([journal_line(accepted("alice", "ED25519", FP), "2026-03-02T10:00:00",
                                                  _HOSTNAME="3f2a9c0d1e")]), host="web1")
    assert found["entries"][0]["host"] == "web1"


def test_the_host_of_an_operation_is_the_one_recorded(oplog):
    oplog("2026-03-02T10:00:00", host="acme-prod-web2")
    oplog("2026-03-02T10:00:01", host=None)
    found = run_history(FakeJournal(), kinds=["operation"], operations_log=oplog.path, host="web2")
    assert [e["host"] for e in found["entries"]] == ["acme-prod-web2", "web2"]


def test_user_filter(homes, oplog):
    oplog("2026-03-02T10:00:00", user="alice")
    oplog("2026-03-02T10:00:01", user="bob")
    oplog("2026-03-02T10:00:02", user="carol")
    journal = FakeJournal([journal_line(accepted(name, "ED25519", FP), "2026-03-02T09:00:0%d" % i)
                           for i, name in enumerate(("alice", "bob", "carol"))])
    found = run_history(journal, operations_log=oplog.path, user=["alice", "carol"])
    assert [(e["kind"], e["user"]) for e in found["entries"]] == [
        ("login", "alice"), ("login", "carol"), ("operation", "alice"), ("operation", "carol")]
    assert sorted(found["people"]) == ["alice", "carol"]
    assert run_history(FakeJournal(journal.lines), operations_log=oplog.path, user=[])["entries"] == []


def test_since_and_until_bound_both_sources_the_same_way(oplog):
    for when in ("2026-03-01T11:59:59", "2026-03-01T12:00:00", "2026-03-02T10:59:59", "2026-03-02T11:00:00"):
        oplog(when, action="step-" + when[-8:])
    journal = FakeJournal([journal_line(accepted("alice", "ED25519", FP), when) for when in (
        "2026-03-01T11:59:59.999999", "2026-03-01T12:00:00", "2026-03-02T10:59:59.999999", "2026-03-02T11:00:00")])
    # 24h back from NOW (inclusive) up to one hour back (exclusive)
    found = run_history(journal, operations_log=oplog.path, since="24h", until="2026-03-02T11:00:00Z")
    assert [(e["kind"], e["time"]) for e in found["entries"]] == [
        ("login", "2026-03-01T12:00:00Z"), ("operation", "2026-03-01T12:00:00Z"),
        ("login", "2026-03-02T10:59:59Z"), ("operation", "2026-03-02T10:59:59Z")]
    assert journal.calls[0][4:6] == ["--since=@1772366400", "--until=@1772449200"]


@pytest.mark.parametrize(("since", "message"), [
    ("yesterday", "since: 'yesterday' is neither an ISO 8601 date or time"),
    ("7x", "since: '7x' is neither"),
])
def test_a_bad_since_is_an_error(since, message):
    journal = FakeJournal()
    with pytest.raises(AccessHistoryError, match=r"^" + re.escape(message)):
        run_history(journal, since=since)
    assert journal.calls == []


def test_a_bad_until_is_an_error():
    with pytest.raises(AccessHistoryError, match=r"^until: 'later' is neither"):
        run_history(FakeJournal(), until="later")


def test_kinds(oplog):
    oplog("2026-03-02T10:00:00")
    journal = FakeJournal([journal_line(accepted("alice", "ED25519", FP), "2026-03-02T09:00:00")])
    logins = run_history(journal, operations_log=oplog.path, kinds=["login"])
    assert [e["kind"] for e in logins["entries"]] == ["login"]
    operations = run_history(journal, operations_log=oplog.path, kinds=["operation"], journalctl=None)
    assert [e["kind"] for e in operations["entries"]] == ["operation"]
    assert len(journal.calls) == 1  # the journal is not read for operations only
    assert run_history(journal, operations_log=oplog.path, kinds=[])["entries"] == []
    with pytest.raises(AccessHistoryError, match=r"^kinds: logins not one of login, operation$"):
        run_history(journal, kinds=["logins"])


def test_limit_keeps_the_newest_and_people_count_everything(oplog):
    for minute in range(5):
        oplog("2026-03-02T10:0%d:00" % minute, action="step%d" % minute)
    found = run_history(FakeJournal(), operations_log=oplog.path, limit=2)
    assert [e["action"] for e in found["entries"]] == ["step3", "step4"]
    assert found["count"] == 5 and found["people"]["alice"]["operations"] == 5
    assert found["people"]["alice"]["first"] == "2026-03-02T10:00:00Z"
    assert found["msg"] == "5 entries of 1 person: 0 logins, 0 refused, 5 operations; the newest 2 returned"
    none = run_history(FakeJournal(), operations_log=oplog.path, limit=0)
    assert none["entries"] == [] and none["count"] == 5
    assert len(run_history(FakeJournal(), operations_log=oplog.path)["entries"]) == 5  # default 1000
    assert len(run_history(FakeJournal(), operations_log=oplog.path, limit=None)["entries"]) == 5
    with pytest.raises(AccessHistoryError, match=r"^limit must be 0 or more, got -1$"):
        run_history(FakeJournal(), limit=-1)


def test_malformed_lines_of_both_sources_are_counted(oplog):
    oplog("2026-03-02T10:00:00")
    with open(oplog.path, "a", encoding="utf-8") as handle:
        handle.write("not json\n")
        handle.write(json.dumps({"user": "alice", "time": "whenever", "operation": "x", "action": "y"}) + "\n")
        handle.write(json.dumps({"time": "2026-03-02T10:00:01Z", "operation": "x", "action": "y"}) + "\n")
    journal = FakeJournal(["{broken", journal_line(accepted("alice", "ED25519", FP), "2026-03-02T09:00:00")])
    found = run_history(journal, operations_log=oplog.path)
    assert found["malformed"] == 4
    assert found["count"] == 2
    assert found["msg"].endswith("; 4 malformed lines skipped")


def test_operation_details_are_masked_again(oplog):
    oplog("2026-03-02T10:00:00", details={"db_password": "hunter2hunter2", "note": "url postgresql://oro:pw@db/oro"})
    # a line written by something else than the module: masking is applied on the way out too
    with open(oplog.path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"time": "2026-03-02T10:00:01Z", "user": "bob", "operation": "x", "action": "y",
                                 "details": {"api_token": "abc123", "dsn": "redis://u:s3cret@cache"}}) + "\n")
    found = run_history(FakeJournal(), kinds=["operation"], operations_log=oplog.path)
    assert found["entries"][0]["details"] == {"db_password": "********", "note": "url postgresql://oro:********@db/oro"}
    assert found["entries"][1]["details"] == {"api_token": "********", "dsn": "redis://u:********@cache"}
    assert "s3cret" not in json.dumps(found)


def test_a_missing_operation_log_has_no_entries():
    found = run_history(FakeJournal(), kinds=["operation"], operations_log="/nonexistent/operations.log")
    assert found["entries"] == [] and found["malformed"] == 0
    assert found["msg"] == "0 entries of 0 people: 0 logins, 0 refused, 0 operations"


def test_an_unreadable_operation_log_is_an_error_naming_it(tmp_path):
    directory = tmp_path / "operations.log"
    directory.mkdir()
    with pytest.raises(AccessHistoryError, match=r"^cannot read the operation log %s: Is a directory$"
                       % re.escape(str(directory))):
        run_history(FakeJournal(), operations_log=str(directory))


def test_journalctl_failing_is_an_error_naming_the_command():
    journal = FakeJournal(rc=1, err="Failed to determine timestamp: Invalid argument\nsecond line\n")
    with pytest.raises(AccessHistoryError) as info:
        run_history(journal, since="2026-03-01")
    assert str(info.value) == (
        "/usr/bin/journalctl --output=json --output-fields=MESSAGE,_PID --no-pager --since=@1772323200 "
        "SYSLOG_IDENTIFIER=sshd SYSLOG_IDENTIFIER=sshd-session failed (rc=1): Failed to determine timestamp: "
        "Invalid argument second line")
    with pytest.raises(AccessHistoryError, match=r"failed \(rc=2\): no output$"):
        run_history(FakeJournal(rc=2))


def test_journalctl_missing_is_an_error():
    with pytest.raises(AccessHistoryError, match=r"^journalctl was not found on this node"):
        run_history(FakeJournal(), journalctl=None)


def test_journalctl_messages_on_stderr_become_warnings():
    journal = FakeJournal(err="Hint: You are currently not seeing messages from other users and the system.\n")
    assert run_history(journal)["warnings"] == [
        "journalctl: Hint: You are currently not seeing messages from other users and the system."]


def test_default_account_lookup_uses_the_user_database():
    root = ah._default_account("root")
    assert root is not None and root[0] == 0
    assert ah._default_account("no-such-user-here") is None
