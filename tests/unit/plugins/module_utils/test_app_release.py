# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the release backend: real tarballs built with tarfile, an application root in tmp_path."""

from __future__ import annotations

import contextlib
import grp
import hashlib
import io
import json
import os
import pwd
import stat
import tarfile

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils import _app_release as ar

USER = pwd.getpwuid(os.geteuid()).pw_name
GROUP = grp.getgrgid(os.getegid()).gr_name
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
TOP = "orocommerce-demo-6.1.0"


# ------------------------------------------------------------------------------------ helpers


def _add(tar, name, data=None, **attrs):
    info = tarfile.TarInfo(name)
    info.mtime = 1_735_689_600
    if data is None and attrs.get("type", tarfile.REGTYPE) == tarfile.REGTYPE and not name.endswith("/"):
        data = b""
    if name.endswith("/"):
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.mode = 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    if data is not None:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def make_tarball(directory, version, *, content=None, top=None, extra=(), sha256_file=True, mode="w:gz"):
    """A release tarball like build-releases.sh makes: one top directory, VERSION as the last member."""
    top = top or "orocommerce-demo-%s" % version
    path = os.path.join(str(directory), "orocommerce-demo-%s.tar.gz" % version)
    with tarfile.open(path, mode) as tar:
        _add(tar, top + "/")
        _add(tar, top + "/bin/")
        _add(tar, top + "/bin/console", b"#!/usr/bin/env php\n<?php echo 'console';\n", mode=0o755)
        _add(tar, top + "/public/")
        _add(tar, top + "/public/index.php", b"<?php echo 'index';\n")
        _add(tar, top + "/.env-app", b"ORO_ENV=prod\n")
        for name, data, attrs in extra:
            _add(tar, name if name.startswith(("/", "..")) else "%s/%s" % (top, name), data, **attrs)
        _add(tar, top + "/VERSION", ("%s\n" % version if content is None else content).encode())
    if sha256_file:
        with open(path + ".sha256", "w", encoding="utf-8") as handle:
            handle.write("%s  %s\n" % (sha256(path), os.path.basename(path)))
    return path


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def params(app_root, version, **overrides):
    values = {
        "app_root": str(app_root),
        "version": version,
        "state": "current",
        "artifact": None,
        "checksum": None,
        "keep": 3,
        "protect": [],
        "owner": USER,
        "group": GROUP,
        "strip_components": 1,
    }
    values.update(overrides)
    return values


def release(app_root, tmp_path, version, state="current", *, check_mode=False, now=None, **overrides):
    """Build the tarball of ``version`` (once) and run the backend with it."""
    artifact = os.path.join(str(tmp_path), "orocommerce-demo-%s.tar.gz" % version)
    if not os.path.exists(artifact):
        make_tarball(tmp_path, version)
    overrides.setdefault("artifact", artifact)
    return ar.ensure_release(params(app_root, version, state=state, **overrides), check_mode=check_mode, now=now)


def tree(path):
    """Every entry under ``path`` (relative), to prove that nothing changed."""
    if not os.path.lexists(str(path)):
        return None
    found = {}
    for base, dirs, files in os.walk(str(path)):
        for name in dirs + files:
            full = os.path.join(base, name)
            info = os.lstat(full)
            link = os.readlink(full) if stat.S_ISLNK(info.st_mode) else None
            found[os.path.relpath(full, str(path))] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), link)
    return found


def mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "oro"


@pytest.fixture
def artifacts(tmp_path):
    path = tmp_path / "artifacts"
    path.mkdir()
    return path


# ------------------------------------------------------------------------------------ install and switch


def test_first_install_builds_the_app_roles_layout(root, artifacts):
    result = release(root, artifacts, "6.1.0", now=T0)

    assert result["changed"] is True and result["installed"] is True and result["switched"] is True
    assert result["current"] == "6.1.0" and result["previous"] is None
    assert result["releases"] == ["6.1.0"] and result["removed"] == []
    assert result["diff"] == {
        "before": {"current": None, "releases": []},
        "after": {"current": "6.1.0", "releases": ["6.1.0"]},
    }
    # directories and their modes (owners: the test's user, as root would be with become)
    assert mode(root) == 0o755 and mode(root / "releases") == 0o755
    assert mode(root / "shared") == 0o1775
    for name in ("var", "public", "public/media"):
        assert mode(root / "shared" / name) == 0o755
    # the release: unpacked without its top directory, linked to shared/ by absolute paths
    rel = root / "releases" / "6.1.0"
    assert (rel / "VERSION").read_text() == "6.1.0\n"
    assert (rel / "bin" / "console").is_file() and mode(rel / "bin" / "console") == 0o755
    assert mode(rel) == 0o755
    assert os.readlink(str(rel / "var")) == str(root / "shared" / "var")
    assert os.readlink(str(rel / "public" / "media")) == str(root / "shared" / "public" / "media")
    assert os.readlink(str(rel / ".env-app.local")) == str(root / "shared" / ".env-app.local")
    assert os.readlink(str(root / "current")) == str(rel)
    # the record
    history = json.loads((root / "releases" / ".history.json").read_text())
    assert history == {
        "current": "6.1.0",
        "history": [{"version": "6.1.0", "at": "2026-01-01T00:00:00Z"}],
        "installed": {"6.1.0": "2026-01-01T00:00:00Z"},
    }
    assert [c.split(" ")[0] for c in result["changes"]] == ["create"] * 6 + ["unpack", "switch"]
    assert sorted(os.listdir(str(root / "releases"))) == [".history.json", "6.1.0"]
    assert sorted(os.listdir(str(root))) == ["current", "releases", "shared"]


def test_second_run_with_the_same_input_changes_nothing(root, artifacts):
    release(root, artifacts, "6.1.0")
    before = tree(root)

    again = release(root, artifacts, "6.1.0")
    without_artifact = release(root, artifacts, "6.1.0", artifact=None)

    for result in (again, without_artifact):
        assert result["changed"] is False and result["changes"] == []
        assert result["installed"] is False and result["switched"] is False
        assert result["diff"]["before"] == result["diff"]["after"]
    assert tree(root) == before


def test_check_mode_reports_and_writes_nothing(root, artifacts):
    result = release(root, artifacts, "6.1.0", check_mode=True)

    assert result["changed"] is True and result["installed"] is True and result["switched"] is True
    assert result["current"] == "6.1.0" and result["releases"] == ["6.1.0"]
    assert not root.exists()


def test_switch_records_the_previous_release(root, artifacts):
    release(root, artifacts, "6.1.0", now=T0)
    before = tree(root / "releases" / "6.1.0")

    checked = release(root, artifacts, "6.1.1", check_mode=True)
    assert checked["changed"] and checked["current"] == "6.1.1" and checked["previous"] == "6.1.0"
    assert os.readlink(str(root / "current")).endswith("/6.1.0")

    result = release(root, artifacts, "6.1.1", now=T0 + 60)

    assert result["changed"] and result["current"] == "6.1.1" and result["previous"] == "6.1.0"
    assert result["diff"]["before"]["current"] == "6.1.0" and result["diff"]["after"]["current"] == "6.1.1"
    assert result["changes"] == [
        "unpack %s into %s" % (artifacts / "orocommerce-demo-6.1.1.tar.gz", root / "releases" / "6.1.1"),
        "switch %s from 6.1.0 to 6.1.1" % (root / "current"),
    ]
    assert os.readlink(str(root / "current")) == str(root / "releases" / "6.1.1")
    assert tree(root / "releases" / "6.1.0") == before  # a release is never changed afterwards
    history = json.loads((root / "releases" / ".history.json").read_text())
    assert [e["version"] for e in history["history"]] == ["6.1.0", "6.1.1"]
    assert release(root, artifacts, "6.1.1")["changed"] is False


def test_present_unpacks_without_switching(root, artifacts):
    release(root, artifacts, "6.1.0")

    result = release(root, artifacts, "6.1.1", state="present")

    assert result["changed"] and result["installed"] and not result["switched"]
    assert result["current"] == "6.1.0" and result["releases"] == ["6.1.0", "6.1.1"]
    assert os.readlink(str(root / "current")).endswith("/6.1.0")
    assert (root / "releases" / "6.1.1" / "VERSION").is_file()
    assert release(root, artifacts, "6.1.1", state="present")["changed"] is False

    switched = release(root, artifacts, "6.1.1", artifact=None)
    assert switched["changed"] and switched["installed"] is False and switched["switched"] is True


def test_present_on_an_empty_root_leaves_current_unset(root, artifacts):
    result = release(root, artifacts, "6.1.0", state="present")

    assert result["current"] is None and not os.path.lexists(str(root / "current"))
    assert result["releases"] == ["6.1.0"]


# ------------------------------------------------------------------------------------ checks before anything


def test_checksum_mismatch_is_refused_before_anything_is_written(root, artifacts):
    artifact = make_tarball(artifacts, "6.1.1")
    with open(artifact + ".sha256", "w", encoding="utf-8") as handle:
        handle.write("%s  x\n" % ("0" * 64))

    for check_mode in (True, False):
        with pytest.raises(ar.ReleaseError) as error:
            release(root, artifacts, "6.1.1", check_mode=check_mode)
        assert str(error.value) == "%s: sha256 %s is not the expected %s" % (artifact, sha256(artifact), "0" * 64)
        assert error.value.changed is False
    assert not root.exists()


def test_checksum_mismatch_leaves_an_installed_environment_alone(root, artifacts):
    release(root, artifacts, "6.1.0")
    before = tree(root)
    make_tarball(artifacts, "6.1.1")

    with pytest.raises(ar.ReleaseError, match="is not the expected"):
        release(root, artifacts, "6.1.1", checksum="1" * 64)

    assert tree(root) == before


@pytest.mark.parametrize(
    "checksum, ok",
    [
        (None, True),  # <artifact>.sha256
        ("SHA256:{sum}", True),
        ("{sum_upper}", True),
        (" {sum} ", True),
        ("abc", False),
        ("md5:{sum}", False),
    ],
)
def test_checksum_forms(root, artifacts, checksum, ok):
    artifact = make_tarball(artifacts, "6.1.0")
    digest = sha256(artifact)
    given = checksum.format(sum=digest, sum_upper=digest.upper()) if checksum else None

    if ok:
        assert release(root, artifacts, "6.1.0", checksum=given)["installed"] is True
    else:
        with pytest.raises(ar.ReleaseError, match="is not a sha256"):
            release(root, artifacts, "6.1.0", checksum=given)


def test_no_checksum_at_all_is_refused(root, artifacts):
    artifact = make_tarball(artifacts, "6.1.0", sha256_file=False)

    with pytest.raises(ar.ReleaseError) as error:
        release(root, artifacts, "6.1.0")

    assert str(error.value) == "%s: no checksum given and no %s.sha256 beside it: set checksum (sha256)" % (
        artifact,
        artifact,
    )
    assert not root.exists()


def test_tarball_of_another_version_is_refused_naming_both(root, artifacts):
    artifact = make_tarball(artifacts, "6.1.2", content="6.1.1\n")

    with pytest.raises(ar.ReleaseError) as error:
        release(root, artifacts, "6.1.2")

    assert str(error.value) == "%s holds release 6.1.1, not 6.1.2" % artifact
    assert not root.exists()


def test_tarball_without_version_file_is_refused(root, artifacts):
    artifact = os.path.join(str(artifacts), "orocommerce-demo-6.1.0.tar.gz")
    with tarfile.open(artifact, "w:gz") as tar:
        _add(tar, "top/")
        _add(tar, "top/index.php", b"<?php")

    with pytest.raises(ar.ReleaseError) as error:
        release(root, artifacts, "6.1.0", checksum=sha256(artifact))

    assert str(error.value) == "%s holds no VERSION file: it is not a release of 6.1.0" % artifact


def test_missing_or_unreadable_artifact(root, artifacts):
    with pytest.raises(ar.ReleaseError, match=r"no such file \(copy the release tarball to the node first\)"):
        release(root, artifacts, "6.1.0", artifact=str(artifacts / "nope.tar.gz"))

    junk = artifacts / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(ar.ReleaseError, match=r"junk\.tar\.gz: not a readable tar archive"):
        release(root, artifacts, "6.1.0", artifact=str(junk), checksum=sha256(str(junk)))
    assert not root.exists()


def test_release_not_installed_without_artifact(root):
    with pytest.raises(ar.ReleaseError) as error:
        ar.ensure_release(params(root, "6.1.0"))

    expected = "release 6.1.0 is not installed in %s/releases: set artifact to its tarball on the node" % root
    assert str(error.value) == expected


@pytest.mark.parametrize(
    "extra, message",
    [
        ([("/etc/evil", b"x", {})], "member /etc/evil has an absolute name"),
        ([("../evil", b"x", {})], "member ../evil points outside the release"),
        ([("a/../../evil", b"x", {})], "points outside the release"),
        ([("dev", None, {"type": tarfile.CHRTYPE})], "is a device or a FIFO"),
        ([("fifo", None, {"type": tarfile.FIFOTYPE})], "is a device or a FIFO"),
        ([("bin/console", b"again", {})], "member orocommerce-demo-6.1.0/bin/console appears twice"),
        (
            [("lib", None, {"type": tarfile.SYMTYPE, "linkname": "/etc"}), ("lib/passwd", b"x", {})],
            "would be written through a link",
        ),
        ([("hard", None, {"type": tarfile.LNKTYPE, "linkname": "/etc/shadow"})], "is a hard link to /etc/shadow"),
        (
            [("hard", None, {"type": tarfile.LNKTYPE, "linkname": "orocommerce-demo-6.1.0/missing"})],
            "not to a file of the release",
        ),
    ],
    ids=["absolute", "dotdot", "dotdot-inside", "device", "fifo", "twice", "through-symlink", "hardlink-out",
         "hardlink-missing"],
)
def test_unsafe_members_are_refused(root, artifacts, extra, message):
    make_tarball(artifacts, "6.1.0", extra=extra)

    with pytest.raises(ar.ReleaseError, match=message.replace("(", r"\(").replace(".", r"\.")):
        release(root, artifacts, "6.1.0")

    assert not root.exists()


def test_tarball_without_a_top_directory_is_refused(root, artifacts):
    artifact = os.path.join(str(artifacts), "flat.tar.gz")
    with tarfile.open(artifact, "w:gz") as tar:
        _add(tar, "index.php", b"<?php")
        _add(tar, "VERSION", b"6.1.0\n")

    with pytest.raises(ar.ReleaseError, match=r"member index\.php is not inside the top directory"):
        release(root, artifacts, "6.1.0", artifact=artifact, checksum=sha256(artifact))

    # ... unless told there is none
    result = release(root, artifacts, "6.1.0", artifact=artifact, checksum=sha256(artifact), strip_components=0)
    assert result["installed"] and (root / "releases" / "6.1.0" / "index.php").is_file()


def test_links_hard_links_and_modes_in_the_tarball(root, artifacts):
    extra = [
        ("vendor/", None, {}),
        ("vendor/tool", b"tool", {"mode": 0o6777}),
        ("vendor/alias", None, {"type": tarfile.SYMTYPE, "linkname": "tool"}),
        ("vendor/same", None, {"type": tarfile.LNKTYPE, "linkname": TOP + "/vendor/tool", "mode": 0o4775}),
        ("var/", None, {}),
        ("var/cache", b"stale", {}),
        ("public/media/", None, {}),
        (".env-app.local", b"ORO_SECRET=shipped", {}),
    ]
    make_tarball(artifacts, "6.1.0", extra=extra)

    release(root, artifacts, "6.1.0")

    rel = root / "releases" / "6.1.0"
    assert mode(rel / "vendor" / "tool") == 0o755  # no setuid/setgid/sticky, no group/other write
    assert os.readlink(str(rel / "vendor" / "alias")) == "tool"
    assert os.stat(str(rel / "vendor" / "same")).st_ino == os.stat(str(rel / "vendor" / "tool")).st_ino
    # what the tarball holds at the shared paths gives way to the links
    assert os.readlink(str(rel / "var")) == str(root / "shared" / "var")
    assert os.readlink(str(rel / "public" / "media")) == str(root / "shared" / "public" / "media")
    assert os.readlink(str(rel / ".env-app.local")) == str(root / "shared" / ".env-app.local")
    assert not (root / "shared" / "var" / "cache").exists()


def test_other_compressions(root, artifacts):
    path = make_tarball(artifacts, "6.1.0", mode="w:xz")
    with tarfile.open(path) as tar:
        assert tar.getnames()[-1].endswith("/VERSION")

    assert release(root, artifacts, "6.1.0")["installed"] is True


# ------------------------------------------------------------------------------------ interrupted runs


def test_failure_while_unpacking_leaves_no_half_release(root, artifacts, monkeypatch):
    release(root, artifacts, "6.1.0")
    before = tree(root)
    real = ar._extract

    def broken(tar, members, destination):
        real(tar, members[:3], destination)
        raise OSError(28, "No space left on device", destination)

    monkeypatch.setattr(ar, "_extract", broken)
    with pytest.raises(ar.ReleaseError) as error:
        release(root, artifacts, "6.1.1")

    assert "No space left on device" in str(error.value) and error.value.changed is True
    assert tree(root) == before  # no releases/6.1.1, no temporary directory, current untouched


def test_leftovers_of_a_killed_run_are_removed(root, artifacts):
    release(root, artifacts, "6.1.0")
    (root / "releases" / ".tmp-6.1.1-123-abcd").mkdir()
    (root / "releases" / ".tmp-6.1.1-123-abcd" / "half").write_text("x")
    (root / "releases" / ".old-6.0.9-1-ff").mkdir()
    os.symlink(str(root / "releases" / "6.1.0"), str(root / ".current.tmp-1-aa"))
    before = tree(root)

    checked = release(root, artifacts, "6.1.0", check_mode=True)
    assert checked["changed"] and tree(root) == before
    assert len([c for c in checked["changes"] if c.endswith("(left by an interrupted run)")]) == 3

    result = release(root, artifacts, "6.1.0")
    assert result["changed"] and result["releases"] == ["6.1.0"]
    assert sorted(os.listdir(str(root / "releases"))) == [".history.json", "6.1.0"]
    assert sorted(os.listdir(str(root))) == ["current", "releases", "shared"]
    assert release(root, artifacts, "6.1.0")["changed"] is False


def test_incomplete_release_directory_is_unpacked_again(root, artifacts):
    release(root, artifacts, "6.1.0")
    half = root / "releases" / "6.1.1"
    half.mkdir()
    (half / "index.php").write_text("half")

    result = release(root, artifacts, "6.1.1")

    assert result["installed"] is True and (half / "VERSION").read_text() == "6.1.1\n"
    assert not (half / "index.php").exists()


def test_release_directory_of_another_version_is_refused(root, artifacts):
    release(root, artifacts, "6.1.0")
    (root / "releases" / "6.1.1").mkdir()
    (root / "releases" / "6.1.1" / "VERSION").write_text("6.1.0\n")

    with pytest.raises(ar.ReleaseError) as error:
        release(root, artifacts, "6.1.1")

    assert str(error.value) == "%s/releases/6.1.1 holds release 6.1.0 (its VERSION file), not 6.1.1" % root


def test_current_that_is_a_directory_is_refused(root, artifacts):
    (root / "current").mkdir(parents=True)

    with pytest.raises(ar.ReleaseError, match="current is not a symlink: move it away"):
        release(root, artifacts, "6.1.0")


# ------------------------------------------------------------------------------------ the app role's layout


def role_layout(root, artifacts, version, at):
    """What the app role leaves: a release unpacked by tar, the links, current; no history."""
    release(root, artifacts, version, state="present")
    os.unlink(str(root / "releases" / ".history.json"))
    os.utime(str(root / "releases" / version), (at, at))


def test_layout_made_by_the_app_role_is_taken_as_it_is(root, artifacts):
    role_layout(root, artifacts, "6.1.0", T0)
    os.symlink(str(root / "releases" / "6.1.0"), str(root / "current"))
    before = tree(root)

    result = release(root, artifacts, "6.1.0", artifact=None)

    assert result["changed"] is False and result["current"] == "6.1.0" and result["previous"] is None
    assert tree(root) == before

    switched = release(root, artifacts, "6.1.1")
    assert switched["previous"] == "6.1.0"
    history = json.loads((root / "releases" / ".history.json").read_text())
    assert [e["version"] for e in history["history"]] == ["6.1.0", "6.1.1"]


def test_wrong_modes_and_links_are_fixed(root, artifacts):
    release(root, artifacts, "6.1.0")
    os.chmod(str(root / "shared"), 0o700)
    os.unlink(str(root / "releases" / "6.1.0" / "var"))
    os.symlink("/tmp", str(root / "releases" / "6.1.0" / "var"))

    result = release(root, artifacts, "6.1.0", artifact=None)

    assert result["changed"] is True
    assert result["changes"] == [
        "set %s/shared to %s:%s 1775" % (root, USER, GROUP),
        "link %s/releases/6.1.0/var to %s/shared/var" % (root, root),
    ]
    assert mode(root / "shared") == 0o1775
    assert os.readlink(str(root / "releases" / "6.1.0" / "var")) == str(root / "shared" / "var")


def test_unknown_owner_or_group_is_refused(root):
    with pytest.raises(ar.ReleaseError, match="owner no-such-user: no such user on the node"):
        ar.ensure_release(params(root, "6.1.0", owner="no-such-user"))
    with pytest.raises(ar.ReleaseError, match="group no-such-group: no such group on the node"):
        ar.ensure_release(params(root, "6.1.0", group="no-such-group"))


@pytest.mark.parametrize("version", ["", "../6.1.0", "6.1.0/x", ".hidden", "6 1"])
def test_bad_version_names_are_refused(root, version):
    with pytest.raises(ar.ReleaseError, match="is not a release name"):
        ar.ensure_release(params(root, version))


# ------------------------------------------------------------------------------------ rollback


def test_rollback_goes_back_to_the_previous_release_once(root, artifacts):
    release(root, artifacts, "6.1.0", now=T0)
    release(root, artifacts, "6.1.1", now=T0 + 60)
    release(root, artifacts, "6.1.2", now=T0 + 120)

    checked = release(root, artifacts, "6.1.2", state="rolled_back", check_mode=True)
    assert checked["changed"] and checked["current"] == "6.1.1"
    assert os.readlink(str(root / "current")).endswith("/6.1.2")

    result = release(root, artifacts, "6.1.2", state="rolled_back", now=T0 + 180)

    assert result["changed"] and result["switched"] and result["installed"] is False
    assert result["rolled_back"] == {"from": "6.1.2", "to": "6.1.1"}
    assert result["current"] == "6.1.1" and result["previous"] == "6.1.0"
    assert result["releases"] == ["6.1.0", "6.1.1", "6.1.2"]  # 6.1.2 is kept
    assert result["diff"]["before"]["current"] == "6.1.2" and result["diff"]["after"]["current"] == "6.1.1"
    assert os.readlink(str(root / "current")) == str(root / "releases" / "6.1.1")
    history = json.loads((root / "releases" / ".history.json").read_text())
    assert [e["version"] for e in history["history"]] == ["6.1.0", "6.1.1"]
    assert history["rolled_back"] == {"from": "6.1.2", "to": "6.1.1", "at": "2026-01-01T00:03:00Z"}

    again = release(root, artifacts, "6.1.2", state="rolled_back")
    assert again["changed"] is False and again["current"] == "6.1.1" and again["rolled_back"] is None


def test_rollback_of_a_release_that_is_not_current_changes_nothing(root, artifacts):
    release(root, artifacts, "6.1.0")
    before = tree(root)

    result = release(root, artifacts, "6.1.1", state="rolled_back", artifact=None)

    assert result["changed"] is False and result["current"] == "6.1.0"
    assert tree(root) == before


def test_rollback_after_a_manual_switch_back_follows_the_record(root, artifacts):
    release(root, artifacts, "6.1.0")
    release(root, artifacts, "6.1.1")
    release(root, artifacts, "6.1.0", artifact=None)  # back to 6.1.0 by a switch: 6.1.1 is now previous

    result = release(root, artifacts, "6.1.0", state="rolled_back")

    assert result["current"] == "6.1.1" and result["previous"] == "6.1.0"


def test_rollback_without_a_record_is_refused(root, artifacts):
    role_layout(root, artifacts, "6.1.0", T0)
    os.symlink(str(root / "releases" / "6.1.0"), str(root / "current"))
    before = tree(root)

    with pytest.raises(ar.ReleaseError) as error:
        release(root, artifacts, "6.1.0", state="rolled_back")

    assert str(error.value) == (
        "cannot roll back from 6.1.0: %s/releases/.history.json records no release that was current before it" % root
    )
    assert tree(root) == before


def test_rollback_to_a_release_that_is_gone_is_refused(root, artifacts):
    release(root, artifacts, "6.1.0")
    release(root, artifacts, "6.1.1")
    os.unlink(str(root / "releases" / "6.1.0" / "VERSION"))

    with pytest.raises(ar.ReleaseError, match=r"cannot roll back from 6\.1\.1 to 6\.1\.0: .* is missing or incomplete"):
        release(root, artifacts, "6.1.1", state="rolled_back")

    assert os.readlink(str(root / "current")).endswith("/6.1.1")


def test_switch_made_outside_the_module_is_recorded(root, artifacts):
    release(root, artifacts, "6.1.0")
    release(root, artifacts, "6.1.1", state="present")
    os.unlink(str(root / "current"))
    os.symlink("releases/6.1.1", str(root / "current"))  # by hand, relative

    result = release(root, artifacts, "6.1.1", state="rolled_back")

    assert result["rolled_back"] == {"from": "6.1.1", "to": "6.1.0"}
    assert os.readlink(str(root / "current")) == str(root / "releases" / "6.1.0")


def test_corrupt_history_is_refused(root, artifacts):
    release(root, artifacts, "6.1.0")
    (root / "releases" / ".history.json").write_text("{not json")

    with pytest.raises(ar.ReleaseError, match=r"history\.json: cannot be read .*: fix or remove it"):
        release(root, artifacts, "6.1.0")


def test_current_pointing_outside_releases_is_refused(root, artifacts, tmp_path):
    release(root, artifacts, "6.1.0")
    os.unlink(str(root / "current"))
    os.symlink(str(tmp_path), str(root / "current"))

    with pytest.raises(ar.ReleaseError, match=r"current points to .*, which is not in"):
        release(root, artifacts, "6.1.0")


# ------------------------------------------------------------------------------------ keep


def install_series(root, artifacts, versions, keep=0):
    for i, version in enumerate(versions):
        release(root, artifacts, version, now=T0 + 60 * i, keep=keep)


def test_keep_removes_the_oldest_installed_releases(root, artifacts):
    install_series(root, artifacts, ["6.0.8", "6.0.9", "6.1.0", "6.1.1"])

    checked = release(root, artifacts, "6.1.2", keep=3, check_mode=True, now=T0 + 600)
    assert checked["removed"] == ["6.0.8", "6.0.9"] and checked["releases"] == ["6.1.0", "6.1.1", "6.1.2"]
    assert (root / "releases" / "6.0.8").is_dir()

    result = release(root, artifacts, "6.1.2", keep=3, now=T0 + 600)

    assert result["removed"] == ["6.0.8", "6.0.9"]
    assert result["releases"] == ["6.1.0", "6.1.1", "6.1.2"]
    assert sorted(os.listdir(str(root / "releases"))) == [".history.json", "6.1.0", "6.1.1", "6.1.2"]
    history = json.loads((root / "releases" / ".history.json").read_text())
    assert sorted(history["installed"]) == ["6.1.0", "6.1.1", "6.1.2"]
    assert release(root, artifacts, "6.1.2", keep=3)["changed"] is False


def test_keep_never_removes_current_previous_version_or_protected(root, artifacts):
    install_series(root, artifacts, ["6.0.9", "6.1.0", "6.1.1"])
    release(root, artifacts, "7.0.0", state="present", now=T0 + 300, keep=0)

    result = release(root, artifacts, "7.0.0", state="present", keep=1, protect=["6.0.9"])

    # current 6.1.1, previous 6.1.0, version 7.0.0, protected 6.0.9: four kept although keep is 1
    assert result["removed"] == [] and result["releases"] == ["6.0.9", "6.1.0", "6.1.1", "7.0.0"]
    result = release(root, artifacts, "7.0.0", state="present", keep=1)
    assert result["removed"] == ["6.0.9"]


def test_keep_after_a_rollback_keeps_the_release_rolled_back_from_only_while_asked(root, artifacts):
    install_series(root, artifacts, ["6.1.0", "6.1.1", "6.1.2"])
    release(root, artifacts, "6.1.2", state="rolled_back", keep=2)

    assert sorted(os.listdir(str(root / "releases")))[1:] == ["6.1.0", "6.1.1", "6.1.2"]
    result = release(root, artifacts, "6.1.1", keep=2, artifact=None)
    assert result["removed"] == ["6.1.2"] and result["releases"] == ["6.1.0", "6.1.1"]


def test_keep_without_a_record_keeps_the_newest_other_release(root, artifacts):
    for i, version in enumerate(["6.0.9", "6.1.0", "6.1.1"]):
        role_layout(root, artifacts, version, T0 + 60 * i)
    os.symlink(str(root / "releases" / "6.1.1"), str(root / "current"))

    result = release(root, artifacts, "6.1.1", keep=1, artifact=None)

    assert result["removed"] == ["6.0.9"] and result["releases"] == ["6.1.0", "6.1.1"]


def test_keep_zero_keeps_everything(root, artifacts):
    install_series(root, artifacts, ["6.0.8", "6.0.9", "6.1.0", "6.1.1", "6.1.2"], keep=0)

    assert release(root, artifacts, "6.1.2", keep=0)["releases"] == ["6.0.8", "6.0.9", "6.1.0", "6.1.1", "6.1.2"]


def test_version_order():
    names = ["6.1.10", "6.1.9", "7.0.0", "6.1.0-rc1", "6.1.0"]
    assert sorted(names, key=ar.version_key) == ["6.1.0", "6.1.0-rc1", "6.1.9", "6.1.10", "7.0.0"]


def test_python_before_3_11_4_without_extraction_filters(root, artifacts, monkeypatch):
    """Debian 12's Python 3.11.2 has neither TarInfo.replace nor extraction filters."""
    monkeypatch.delattr(tarfile.TarInfo, "replace")
    monkeypatch.setattr(ar, "_HAS_FILTERS", False)
    extra = [("vendor/", None, {}), ("vendor/tool", b"tool", {"mode": 0o4777})]
    extra.append(("vendor/same", None, {"type": tarfile.LNKTYPE, "linkname": TOP + "/vendor/tool"}))
    make_tarball(artifacts, "6.1.0", extra=extra)

    with pytest.warns(DeprecationWarning) if hasattr(tarfile, "data_filter") else contextlib.nullcontext():
        result = release(root, artifacts, "6.1.0")

    rel = root / "releases" / "6.1.0"
    assert result["installed"] and (rel / "VERSION").read_text() == "6.1.0\n"
    assert mode(rel / "vendor" / "tool") == 0o644  # the hard link's mode, without write for others
    assert os.stat(str(rel / "vendor" / "same")).st_ino == os.stat(str(rel / "vendor" / "tool")).st_ino


def test_missing_parents_of_the_application_root_are_created(tmp_path, artifacts):
    root = tmp_path / "var" / "www" / "oro"

    result = release(root, artifacts, "6.1.0")

    assert result["current"] == "6.1.0" and mode(root) == 0o755 and (root / "current" / "VERSION").is_file()


# ------------------------------------------------------------------------------------ release_info


def test_release_info_tells_what_the_root_holds_and_changes_nothing(root, artifacts):
    release(root, artifacts, "6.1.0", now=T0)
    release(root, artifacts, "6.1.1", now=T0 + 60)
    release(root, artifacts, "6.1.2", state="present", now=T0 + 120)
    (root / "releases" / "6.1.3").mkdir()  # no VERSION: an unpacking that did not finish is not a release
    (root / "releases" / "6.1.4").mkdir()
    (root / "releases" / "6.1.4" / "VERSION").write_text("6.1.0\n")
    (root / "releases" / (ar.TMP_PREFIX + "6.1.5")).mkdir()
    before = tree(root)

    info = ar.release_info(str(root))

    assert tree(root) == before
    assert (info["current"], info["previous"]) == ("6.1.1", "6.1.0")
    assert info["releases"] == ["6.1.0", "6.1.1", "6.1.2"] and info["incomplete"] == ["6.1.3", "6.1.4"]
    assert info["installed"]["6.1.2"] == "2026-01-01T00:02:00Z" and set(info["installed"]) == set(info["releases"])
    assert [entry["version"] for entry in info["history"]] == ["6.1.0", "6.1.1"]
    assert info["leftovers"] == [str(root / "releases" / (ar.TMP_PREFIX + "6.1.5"))]
    assert info["app_root"] == str(root)


def test_release_info_of_a_root_without_releases(root):
    assert ar.release_info(str(root)) == {
        "app_root": str(root), "current": None, "previous": None, "releases": [], "incomplete": [], "installed": {},
        "history": [], "leftovers": [],
    }


def test_release_info_of_a_current_that_is_no_symlink_names_it(root, artifacts):
    release(root, artifacts, "6.1.0")
    os.unlink(str(root / "current"))
    (root / "current").mkdir()

    with pytest.raises(ar.ReleaseError, match="current is not a symlink"):
        ar.release_info(str(root))

    (root / "current").rmdir()
    root_file = root.parent / "file"
    root_file.write_text("")
    with pytest.raises(ar.ReleaseError, match="exists and is not a directory"):
        ar.release_info(str(root_file))
