# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release directories of an OroCommerce application: install a release tarball, switch ``current``,
keep a few releases, roll back.

The layout is the app role's (docs/application.md)::

    <app_root>/                    root:root 0755
      releases/                    root:root 0755
        <version>/                 root-owned, unpacked once (VERSION at its root)
          var -> <app_root>/shared/var
          public/media -> <app_root>/shared/public/media
          .env-app.local -> <app_root>/shared/.env-app.local
        .history.json              which release was current when (this module's record)
      current -> <app_root>/releases/<version>
      shared/                      root:<group> 1775
        var/, public/, public/media/   <owner>:<group> 0755

An install never leaves half a release behind: the tarball's sha256 and its ``VERSION`` are checked before
anything is written, the release is unpacked into a temporary directory inside ``releases/`` and renamed into
place. ``current`` is switched by renaming a new symlink over it. ``releases/.history.json`` records the
releases that were current, in order, so that a rollback knows where to go back to.

"Root" is the user the module runs as (root, with become): release directories and ``current`` are that
user's; only the shared directories belong to the application's user and group.

Runs on managed nodes: Python 3.9+, standard library only.
"""

from __future__ import annotations

import datetime
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import stat
import tarfile
import tempfile

STATES = ("present", "current", "rolled_back")
HISTORY_FILE = ".history.json"
HISTORY_LIMIT = 50
# Names of what an interrupted run may leave behind (never a release: releases never start with a dot).
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
LINK_PREFIX = ".current.tmp-"
# path in the release -> path in shared/ (the app role's __app_shared_links)
SHARED_LINKS = (("var", "var"), ("public/media", "public/media"), (".env-app.local", ".env-app.local"))
# directories in shared/ owned by the application (the app role's __app_shared_dirs)
SHARED_DIRS = ("var", "public", "public/media")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024
# Extraction filters (PEP 706) came with Python 3.11.4; Debian 12 has 3.11.2.
_HAS_FILTERS = hasattr(tarfile, "fully_trusted_filter")


class ReleaseError(Exception):
    """The request cannot be carried out. ``changed``: whether anything was changed before it stopped."""

    def __init__(self, message, changed=False):
        super().__init__(message)
        self.changed = changed


# ------------------------------------------------------------------------------------ helpers


def _iso(epoch):
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def _epoch(text):
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def version_key(version):
    """Sort key: 6.1.10 after 6.1.9; text parts after numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[.+~-]", version)]


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expected_checksum(artifact, checksum):
    """The sha256 the artifact must have: ``checksum``, or the first word of ``<artifact>.sha256``."""
    source = "checksum"
    if not checksum:
        source = artifact + ".sha256"
        try:
            with open(source, encoding="utf-8") as handle:
                words = handle.read().split()
        except FileNotFoundError:
            raise ReleaseError(
                "%s: no checksum given and no %s beside it: set checksum (sha256)" % (artifact, source)
            ) from None
        except OSError as exc:
            raise ReleaseError("%s: cannot read it: %s" % (source, exc.strerror or exc)) from None
        checksum = words[0] if words else ""
    value = checksum.strip().lower()
    if value.startswith("sha256:"):
        value = value[len("sha256:") :]
    if not _SHA256.match(value):
        raise ReleaseError("%s: %r is not a sha256 (64 hexadecimal digits)" % (source, checksum.strip()[:80]))
    return value


def _write_json(path, data, mode=0o644):
    """Write ``data`` as JSON to ``path`` atomically (a temporary file in the same directory, renamed)."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix="%s%s-" % (TMP_PREFIX, os.path.basename(path).lstrip(".")), dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _temp_name(directory, prefix):
    """A name for a temporary entry in ``directory`` (one that :func:`leftovers` recognises)."""
    return os.path.join(directory, "%s%d-%s" % (prefix, os.getpid(), os.urandom(4).hex()))


def _remove_tree(path):
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
    else:
        shutil.rmtree(path)


# ------------------------------------------------------------------------------------ the tarball


def _parts(name):
    return [part for part in name.split("/") if part not in ("", ".")]


def plan_members(tar, artifact, strip):
    """Check every member of ``tar`` and return ``(members, version)``.

    ``members`` are copies renamed with ``strip`` leading components removed (owned by the running user,
    without setuid/setgid/sticky bits or group/other write); ``version`` is the content of ``VERSION``
    (None without one). Refused: absolute names, ``..``, devices and FIFOs, a name given twice, a member below
    a link, a hard link to something that is not a file of the tarball, a file above the stripped level.
    """
    planned, names, links, version = [], set(), set(), None
    for member in tar:  # one pass, in order (VERSION is read where it is, without seeking back)
        if member.name.startswith("/"):
            raise ReleaseError("%s: member %s has an absolute name" % (artifact, member.name))
        parts = _parts(member.name)
        if ".." in parts:
            raise ReleaseError("%s: member %s points outside the release (..)" % (artifact, member.name))
        if len(parts) <= strip:
            if member.isdir():
                continue
            raise ReleaseError(
                "%s: member %s is not inside the top directory (the tarball must unpack to one directory)"
                % (artifact, member.name)
            )
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            raise ReleaseError("%s: member %s is a device or a FIFO" % (artifact, member.name))
        name = "/".join(parts[strip:])
        if name in names:
            raise ReleaseError("%s: member %s appears twice" % (artifact, member.name))
        below = ["/".join(parts[strip:][:i]) for i in range(1, len(parts) - strip)]
        if any(prefix in links for prefix in below):
            raise ReleaseError("%s: member %s would be written through a link" % (artifact, member.name))
        copy = _copy_member(member, name)
        if member.islnk():
            target_parts = _parts(member.linkname)
            target = "/".join(target_parts[strip:])
            if ".." in target_parts or len(target_parts) <= strip or target not in names or target in links:
                raise ReleaseError(
                    "%s: member %s is a hard link to %s, not to a file of the release"
                    % (artifact, member.name, member.linkname)
                )
            copy.linkname = target
        if member.issym() or member.islnk():
            links.add(name)
        copy.uid, copy.gid, copy.uname, copy.gname = os.geteuid(), os.getegid(), "", ""
        copy.mode = member.mode & 0o755
        names.add(name)
        planned.append(copy)
        if name == "VERSION" and member.isreg():
            handle = tar.extractfile(member)
            version = handle.read(256).decode("utf-8", "replace").strip() if handle else ""
    return planned, version


def _copy_member(member, name):
    """A copy of ``member`` named ``name`` (``TarInfo.replace`` is Python 3.11.4+)."""
    if hasattr(member, "replace"):
        return member.replace(name=name, deep=False)
    copy = tarfile.TarInfo(name)
    for attribute in ("size", "mtime", "mode", "type", "linkname", "uid", "gid", "uname", "gname"):
        setattr(copy, attribute, getattr(member, attribute))
    copy.offset, copy.offset_data = member.offset, member.offset_data
    copy.pax_headers = dict(member.pax_headers)
    copy.sparse = getattr(member, "sparse", None)
    return copy


def open_artifact(artifact):
    try:
        return tarfile.open(artifact, "r:*")
    except FileNotFoundError:
        raise ReleaseError("%s: no such file" % artifact) from None
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ReleaseError("%s: not a readable tar archive: %s" % (artifact, exc)) from None


def check_artifact(artifact, checksum, version, strip):
    """Verify ``artifact`` before anything is unpacked: sha256, then the version in its ``VERSION`` file.

    Returns ``(tar, members)`` (an open ``TarFile``; the caller closes it).
    """
    if not os.path.isfile(artifact):
        raise ReleaseError("%s: no such file (copy the release tarball to the node first)" % artifact)
    expected = expected_checksum(artifact, checksum)
    actual = sha256_of(artifact)
    if actual != expected:
        raise ReleaseError("%s: sha256 %s is not the expected %s" % (artifact, actual, expected))
    tar = open_artifact(artifact)
    try:
        members, found = plan_members(tar, artifact, strip)
    except (OSError, tarfile.TarError, EOFError) as exc:
        tar.close()
        raise ReleaseError("%s: not a readable tar archive: %s" % (artifact, exc)) from None
    except ReleaseError:
        tar.close()
        raise
    if found != version:
        tar.close()
        if found is None:
            raise ReleaseError("%s holds no VERSION file: it is not a release of %s" % (artifact, version))
        raise ReleaseError("%s holds release %s, not %s" % (artifact, found or "(empty VERSION)", version))
    return tar, members


def _extract(tar, members, destination):
    options = {"numeric_owner": True}
    if _HAS_FILTERS:
        # Every member was checked by plan_members; the 'data' filter would refuse legitimate links.
        options["filter"] = "fully_trusted"
    tar.extractall(destination, members=members, **options)  # noqa: S202 - members checked by plan_members


# ------------------------------------------------------------------------------------ the layout


class Layout:
    """Paths and owners of an application root."""

    def __init__(self, app_root, owner=None, group=None):
        self.root = os.path.normpath(app_root)
        self.releases = os.path.join(self.root, "releases")
        self.current = os.path.join(self.root, "current")
        self.shared = os.path.join(self.root, "shared")
        self.history_file = os.path.join(self.releases, HISTORY_FILE)
        self.owner, self.group = owner, group
        if owner is None:
            # Read only (release_info): nothing is written, so nobody owns anything.
            return
        try:
            self.uid = pwd.getpwnam(owner).pw_uid
        except KeyError:
            raise ReleaseError("owner %s: no such user on the node" % owner) from None
        try:
            self.gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise ReleaseError("group %s: no such group on the node" % group) from None
        self.root_uid, self.root_gid = os.geteuid(), os.getegid()

    def release(self, version):
        return os.path.join(self.releases, version)

    def directories(self):
        """``(path, uid, gid, mode, description)`` of every directory of the layout, parents first."""
        root = _user_name(self.root_uid)
        yield self.root, self.root_uid, self.root_gid, 0o755, "%s:%s 0755" % (root, _group_name(self.root_gid))
        yield self.releases, self.root_uid, self.root_gid, 0o755, "%s:%s 0755" % (root, _group_name(self.root_gid))
        yield self.shared, self.root_uid, self.gid, 0o1775, "%s:%s 1775" % (root, self.group)
        for name in SHARED_DIRS:
            yield os.path.join(self.shared, name), self.uid, self.gid, 0o755, "%s:%s 0755" % (self.owner, self.group)


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def layout_changes(layout):
    """What the layout's directories lack: ``[(path, uid, gid, mode, action)]``."""
    changes = []
    for path, uid, gid, mode, description in layout.directories():
        try:
            info = os.stat(path)
        except FileNotFoundError:
            changes.append((path, uid, gid, mode, "create %s (%s)" % (path, description)))
            continue
        if not stat.S_ISDIR(info.st_mode):
            raise ReleaseError("%s exists and is not a directory" % path)
        if (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) != (uid, gid, mode):
            changes.append((path, uid, gid, mode, "set %s to %s" % (path, description)))
    return changes


def apply_layout(changes):
    for path, uid, gid, mode, _action in changes:
        if not os.path.isdir(path):
            os.makedirs(path, 0o700, exist_ok=True)  # parents of app_root as the system's default
        os.chown(path, uid, gid)
        os.chmod(path, mode)


def link_changes(layout, release_dir):
    """The shared links of ``release_dir`` that are missing or wrong: ``[(path in the release, target)]``."""
    wrong = []
    for path, shared in SHARED_LINKS:
        link, target = os.path.join(release_dir, path), os.path.join(layout.shared, shared)
        if not (os.path.islink(link) and os.readlink(link) == target):
            wrong.append((path, target))
    return wrong


def apply_links(release_dir, wrong):
    for path, target in wrong:
        link = os.path.join(release_dir, path)
        parent = os.path.dirname(link)
        if os.path.islink(parent) or (os.path.lexists(parent) and not os.path.isdir(parent)):
            raise ReleaseError("%s: %s is not a directory" % (release_dir, os.path.dirname(path)))
        os.makedirs(parent, 0o755, exist_ok=True)
        if os.path.lexists(link):
            _remove_tree(link)
        os.symlink(target, link)


# ------------------------------------------------------------------------------------ state


def read_current(layout):
    """The version ``current`` points to (None without ``current``); a ReleaseError if it is no symlink."""
    if not os.path.lexists(layout.current):
        return None
    if not os.path.islink(layout.current):
        raise ReleaseError("%s is not a symlink: move it away before releases are switched" % layout.current)
    target = os.readlink(layout.current)
    resolved = os.path.normpath(os.path.join(layout.root, target))
    if os.path.dirname(resolved) != layout.releases:
        raise ReleaseError("%s points to %s, which is not in %s" % (layout.current, target, layout.releases))
    return os.path.basename(resolved)


def list_releases(layout):
    """Release directories (names not starting with a dot), in version order."""
    try:
        names = os.listdir(layout.releases)
    except FileNotFoundError:
        return []
    return sorted(
        (n for n in names if not n.startswith(".") and os.path.isdir(os.path.join(layout.releases, n))),
        key=version_key,
    )


def leftovers(layout):
    """Temporary files of an interrupted run."""
    found = []
    if os.path.isdir(layout.releases):
        found += [
            os.path.join(layout.releases, n)
            for n in sorted(os.listdir(layout.releases))
            if n.startswith((TMP_PREFIX, OLD_PREFIX))
        ]
    if os.path.isdir(layout.root):
        found += [os.path.join(layout.root, n) for n in sorted(os.listdir(layout.root)) if n.startswith(LINK_PREFIX)]
    return found


def release_version(layout, version):
    """The content of ``releases/<version>/VERSION`` (None when missing)."""
    try:
        with open(os.path.join(layout.release(version), "VERSION"), encoding="utf-8") as handle:
            return handle.read(256).strip()
    except (FileNotFoundError, NotADirectoryError):
        return None


def read_history(layout, current):
    """The record of ``releases/.history.json``, brought up to date with ``current``.

    ``history`` lists ``{version, at}`` in the order the releases became current; its last entry is
    ``current`` (a switch made without this module, such as the app role's first installation, is added
    with the time of the symlink). ``installed`` maps versions to when this module installed them.
    """
    record = {"history": [], "installed": {}}
    try:
        with open(layout.history_file, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        data = {}
    except (OSError, ValueError) as exc:
        raise ReleaseError(
            "%s: cannot be read (%s): fix or remove it (it records which release was current before)"
            % (layout.history_file, exc)
        ) from None
    if not isinstance(data, dict):
        raise ReleaseError("%s: not a JSON object: fix or remove it" % layout.history_file)
    for entry in data.get("history") or []:
        if isinstance(entry, dict) and isinstance(entry.get("version"), str):
            record["history"].append({"version": entry["version"], "at": str(entry.get("at", ""))})
    installed = data.get("installed") or {}
    if isinstance(installed, dict):
        record["installed"] = {str(k): str(v) for k, v in installed.items()}
    if isinstance(data.get("rolled_back"), dict):
        record["rolled_back"] = data["rolled_back"]
    if current and (not record["history"] or record["history"][-1]["version"] != current):
        record["history"].append({"version": current, "at": _iso(os.lstat(layout.current).st_mtime)})
    return record


def previous_of(history, current):
    """The release that was current before ``current`` (None when the history does not know one)."""
    if not current:
        return None
    versions = [entry["version"] for entry in history]
    for version in reversed(versions[:-1]):
        if version != current:
            return version
    return None


def installed_at(layout, record, version):
    epoch = _epoch(record["installed"].get(version, ""))
    if epoch is None:
        try:
            epoch = os.stat(layout.release(version)).st_mtime
        except OSError:
            epoch = 0.0
    return epoch


def to_prune(layout, record, releases, keep, protected):
    """The releases to remove so that at most ``keep`` remain (0: keep all), oldest installed first."""
    if keep <= 0 or len(releases) <= keep:
        return []
    candidates = sorted(
        (v for v in releases if v not in protected),
        key=lambda v: (installed_at(layout, record, v), version_key(v)),
    )
    return candidates[: max(0, len(releases) - keep)]


def read_state(layout):
    """``(current, releases, record, previous)`` of an application root: what a run plans from, what
    release_info returns. A root that is not a directory is a ReleaseError."""
    if os.path.lexists(layout.root) and not os.path.isdir(layout.root):
        raise ReleaseError("%s exists and is not a directory" % layout.root)
    current = read_current(layout)
    releases = list_releases(layout)
    record = read_history(layout, current)
    return current, releases, record, previous_of(record["history"], current)


def release_info(app_root):
    """What ``app_root`` holds, read only (the result of the module app_release_info).

    ``releases`` are the complete release directories (their ``VERSION`` names them), in version order;
    ``incomplete`` the others. A ``current`` that is not a symlink into ``releases/`` is a ReleaseError, as for
    app_release.
    """
    layout = Layout(app_root)
    try:
        current, names, record, previous = read_state(layout)
        complete = [version for version in names if release_version(layout, version) == version]
        return {
            "app_root": layout.root,
            "current": current,
            "previous": previous,
            "releases": complete,
            "incomplete": [version for version in names if version not in complete],
            "installed": {version: _iso(installed_at(layout, record, version)) for version in complete},
            "history": record["history"],
            "leftovers": leftovers(layout),
        }
    except OSError as exc:
        raise ReleaseError("%s: %s" % (exc.filename or layout.root, exc.strerror or exc)) from None


# ------------------------------------------------------------------------------------ actions


def switch_current(layout, version):
    """Point ``current`` at ``releases/<version>``: a new symlink renamed over the old one."""
    tmp = _temp_name(layout.root, LINK_PREFIX)
    try:
        os.symlink(layout.release(version), tmp)
        os.replace(tmp, layout.current)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def install(layout, version, tar, members):
    """Unpack into a temporary directory in ``releases/``, link it to shared/, rename it into place."""
    target = layout.release(version)
    tmp = tempfile.mkdtemp(prefix="%s%s-" % (TMP_PREFIX, version), dir=layout.releases)
    try:
        _extract(tar, members, tmp)
        if release_version_at(tmp) != version:
            raise ReleaseError("%s: VERSION is not %s after unpacking" % (tar.name, version))
        apply_links(tmp, link_changes(layout, tmp))
        os.chmod(tmp, 0o755)  # noqa: S103 - a release is readable by all, written by root only
        if os.path.lexists(target):
            # An incomplete release (no VERSION): replaced, then removed.
            old = _temp_name(layout.releases, "%s%s-" % (OLD_PREFIX, version))
            os.rename(target, old)
            os.rename(tmp, target)
            _remove_tree(old)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def release_version_at(directory):
    try:
        with open(os.path.join(directory, "VERSION"), encoding="utf-8") as handle:
            return handle.read(256).strip()
    except OSError:
        return None


def remove_release(layout, version):
    """Rename the release away first (no half release under its name), then delete it."""
    old = _temp_name(layout.releases, "%s%s-" % (OLD_PREFIX, version))
    os.rename(layout.release(version), old)
    _remove_tree(old)


# ------------------------------------------------------------------------------------ the module's work


def validate(params):
    version = params["version"]
    if not version or not _VERSION.match(version):
        raise ReleaseError("version %r is not a release name (letters, digits, '.', '-', '_', '+', '~')" % version)
    if params["state"] not in STATES:
        raise ReleaseError("state %r is not one of %s" % (params["state"], ", ".join(STATES)))
    for name in params.get("protect") or []:
        if not _VERSION.match(str(name)):
            raise ReleaseError("protect: %r is not a release name" % name)
    if (params.get("strip_components") or 0) < 0:
        raise ReleaseError("strip_components must be 0 or more")


def ensure_release(params, check_mode=False, now=None):
    """Do what the module's ``params`` ask; return the module's result.

    Reads the state and computes every change first (the artifact is verified even in check mode), then
    (unless ``check_mode``) applies them in an order that leaves a working layout wherever it stops:
    leftovers, layout, install, links, switch, prune, history.
    """
    validate(params)
    now = now if now is not None else datetime.datetime.now(datetime.timezone.utc).timestamp()
    layout = Layout(params["app_root"], params["owner"], params["group"])
    plan = {"tar": None}
    try:
        try:
            result = _plan(params, layout, now, plan)
        except OSError as exc:
            raise ReleaseError("%s: %s" % (exc.filename or layout.root, exc.strerror or exc)) from None
        if result["changed"] and not check_mode:
            try:
                _apply(layout, plan)
            except (OSError, ReleaseError) as exc:
                # The release is unpacked aside and current switched by one rename: what was done before
                # the error (layout, an earlier step) is consistent, only the rest is missing.
                where = getattr(exc, "filename", None) or layout.root
                message = "%s: %s" % (where, exc.strerror or exc) if isinstance(exc, OSError) else str(exc)
                raise ReleaseError(message, changed=True) from None
        return result
    finally:
        if plan["tar"] is not None:
            plan["tar"].close()


def _plan(params, layout, now, plan):
    state, version = params["state"], params["version"]
    current, releases, record, previous = read_state(layout)

    plan.update(version=version, layout=[], links=[], switch_to=None, rolled_back=None, record=None)
    if state == "rolled_back":
        changes = _plan_rollback(layout, version, current, previous, plan)
    else:
        changes = _plan_install(params, layout, releases, plan)
        if state == "current" and current != version:
            plan["switch_to"] = version
            changes.append("switch %s from %s to %s" % (layout.current, current or "(none)", version))

    # The state after the run.
    history = list(record["history"])
    if plan["rolled_back"]:
        # Back to where `previous` was current: the entries after it are undone.
        index = max(i for i, entry in enumerate(history[:-1]) if entry["version"] == previous)
        history = history[: index + 1]
    elif plan["switch_to"]:
        history.append({"version": plan["switch_to"], "at": _iso(now)})
    current_after = plan["switch_to"] or current
    previous_after = previous_of(history, current_after)
    releases_after = sorted(set(releases) | ({version} if plan["tar"] else set()), key=version_key)

    protected = {v for v in (current_after, previous_after, version) if v} | set(params.get("protect") or [])
    if previous_after is None and current_after:
        # Nothing recorded (releases installed without this module): the most recently installed other
        # release stands in for the previous one and is kept.
        others = [v for v in releases if v not in (current_after, version)]
        if others:
            protected.add(max(others, key=lambda v: (installed_at(layout, record, v), version_key(v))))
    plan["removed"] = to_prune(layout, record, releases_after, params["keep"], protected)
    changes += ["remove %s" % layout.release(v) for v in plan["removed"]]
    plan["stale"] = leftovers(layout)
    changes += ["remove %s (left by an interrupted run)" % path for path in plan["stale"]]
    releases_after = [v for v in releases_after if v not in plan["removed"]]
    if plan["tar"] is not None or plan["switch_to"] or plan["removed"]:
        plan["record"] = _new_record(record, history, current_after, releases_after, plan, now=now)

    return {
        "changed": bool(changes),
        "state": state,
        "version": version,
        "app_root": layout.root,
        "release_dir": layout.release(version),
        "current": current_after,
        "previous": previous_after,
        "releases": releases_after,
        "removed": plan["removed"],
        "installed": plan["tar"] is not None,
        "switched": bool(plan["switch_to"]),
        "rolled_back": plan["rolled_back"],
        "changes": changes,
        "diff": {
            "before": {"current": current, "releases": releases},
            "after": {"current": current_after, "releases": releases_after},
        },
    }


def _plan_install(params, layout, releases, plan):
    """state present or current: the layout, and the release unpacked (artifact checked) or its links fixed."""
    version = params["version"]
    installed_version = release_version(layout, version) if version in releases else None
    if installed_version is not None and installed_version != version:
        raise ReleaseError(
            "%s holds release %s (its VERSION file), not %s" % (layout.release(version), installed_version, version)
        )
    plan["layout"] = layout_changes(layout)
    changes = [change[-1] for change in plan["layout"]]
    if installed_version is None:
        if not params.get("artifact"):
            raise ReleaseError(
                "release %s is not installed in %s: set artifact to its tarball on the node"
                % (version, layout.releases)
            )
        plan["tar"], plan["members"] = check_artifact(
            params["artifact"], params.get("checksum"), version, params["strip_components"]
        )
        changes.append("unpack %s into %s" % (params["artifact"], layout.release(version)))
    else:
        plan["links"] = link_changes(layout, layout.release(version))
        changes += ["link %s/%s to %s" % (layout.release(version), p, t) for p, t in plan["links"]]
    return changes


def _plan_rollback(layout, version, current, previous, plan):
    """state rolled_back: when ``version`` is current, back to the release that was current before it."""
    if current != version:
        return []
    if not previous:
        raise ReleaseError(
            "cannot roll back from %s: %s records no release that was current before it"
            % (version, layout.history_file)
        )
    if release_version(layout, previous) != previous:
        raise ReleaseError(
            "cannot roll back from %s to %s: %s is missing or incomplete"
            % (version, previous, layout.release(previous))
        )
    plan["switch_to"], plan["rolled_back"] = previous, {"from": version, "to": previous}
    return ["switch %s from %s back to %s" % (layout.current, version, previous)]


def _new_record(record, history, current, releases, plan, *, now):
    installed = {v: t for v, t in record["installed"].items() if v in releases}
    if plan["tar"] is not None:
        installed[plan["version"]] = _iso(now)
    data = {"current": current, "history": history[-HISTORY_LIMIT:], "installed": installed}
    if plan["rolled_back"]:
        data["rolled_back"] = dict(plan["rolled_back"], at=_iso(now))
    elif "rolled_back" in record and not plan["switch_to"]:
        data["rolled_back"] = record["rolled_back"]
    return data


def _apply(layout, plan):
    for path in plan["stale"]:
        _remove_tree(path)
    apply_layout(plan["layout"])
    if plan["tar"] is not None:
        install(layout, plan["version"], plan["tar"], plan["members"])
    if plan["links"]:
        apply_links(layout.release(plan["version"]), plan["links"])
    if plan["switch_to"]:
        switch_current(layout, plan["switch_to"])
    for old in plan["removed"]:
        remove_release(layout, old)
    if plan["record"] is not None:
        _write_json(layout.history_file, plan["record"])
