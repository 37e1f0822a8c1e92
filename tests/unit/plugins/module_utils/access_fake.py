# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake Debian host for the access_users unit tests: a directory tree with /etc/passwd, /etc/shadow,
/etc/group, /etc/login.defs, /etc/sudoers.d and /home, and a runner whose useradd, usermod and visudo change
(or check) those files the way the shadow-utils and sudo of Debian bookworm do for the options the module uses.

Sample public keys (real keys made with ``ssh-keygen``, their fingerprints as ``ssh-keygen -l`` prints them)
are at the end; public keys are not secrets.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

# name, uid, gid, home of the accounts every fake host has: system accounts and one person's account made by hand
BASE_ACCOUNTS = [
    ("root", 0, 0, "/root"),
    ("daemon", 1, 1, "/usr/sbin"),
    ("sshd", 100, 65534, "/run/sshd"),
    ("nobody", 65534, 65534, "/nonexistent"),
    ("frank", 1500, 1500, "/home/frank"),
]
BASE_GROUPS = [("root", 0), ("daemon", 1), ("adm", 4), ("sudo", 27), ("systemd-journal", 999), ("nogroup", 65534),
               ("frank", 1500)]


class FakeHost:
    """The runner of the backend (``run``, ``bin``) on a directory tree that stands for ``/``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.calls = []
        self.failures = {}  # tool -> (rc, stderr)
        self.missing = set()  # tools that bin() does not find
        etc = self.root / "etc"
        (etc / "sudoers.d").mkdir(parents=True)
        (self.root / "home").mkdir()
        (self.root / "proc").mkdir()
        (self.root / "var" / "lib").mkdir(parents=True)
        passwd = ["%s:x:%d:%d::%s:/bin/sh" % (n, u, g, self._real_home(h)) for n, u, g, h in BASE_ACCOUNTS]
        (etc / "passwd").write_text("\n".join(passwd) + "\n")
        (etc / "shadow").write_text("".join("%s:*:20000:0:99999:7:::\n" % a[0] for a in BASE_ACCOUNTS))
        (etc / "group").write_text("".join("%s:x:%d:\n" % g for g in BASE_GROUPS))
        (etc / "login.defs").write_text("# shadow\nUID_MIN\t\t\t 1000\nUID_MAX\t\t\t60000\n")
        (etc / "sudoers.d" / "README").write_text("# sudo's own file\n")
        frank = self.root / "home" / "frank" / ".ssh"
        frank.mkdir(parents=True)
        (frank / "authorized_keys").write_text(ED25519_C + "\n")

    def _real_home(self, home):
        return str(self.root) + home if home.startswith("/home/") else home

    # ------------------------------------------------------------------ runner interface

    def bin(self, name):
        return None if name in self.missing else "/usr/sbin/" + name

    def run(self, argv):
        self.calls.append(list(argv))
        tool = os.path.basename(argv[0])
        if tool in self.failures:
            rc, err = self.failures[tool]
            return rc, "", err
        return getattr(self, "_" + tool)(argv[1:])

    # ------------------------------------------------------------------ the tools

    @staticmethod
    def _options(args, flags):
        options = {}
        index = 0
        while index < len(args) - 1:
            arg = args[index]
            if arg in flags:
                options[arg] = True
                index += 1
            else:
                options[arg] = args[index + 1]
                index += 2
        return options, args[-1]

    def _useradd(self, args):
        options, name = self._options(args, {"--create-home", "--user-group"})
        if name in self.accounts():
            return 9, "", "useradd: user '%s' already exists" % name
        uid = max([u for u in self.uids() if 1000 <= u <= 60000] or [999]) + 1
        home = str(self.root / "home" / name)
        gecos = options.get("--comment", "")
        self._append("passwd", "%s:x:%d:%d:%s:%s:%s" % (name, uid, uid, gecos, home, options["--shell"]))
        self._append("shadow", "%s:%s:20000:0:99999:7:::" % (name, options["--password"]))
        self._append("group", "%s:x:%d:" % (name, uid))
        for group in filter(None, options.get("--groups", "").split(",")):
            self._set_member(group, name, True)
        os.makedirs(home)
        (Path(home) / ".profile").write_text("# skel\n")
        return 0, "", ""

    def _usermod(self, args):
        options, name = self._options(args, {"--lock", "--unlock"})
        if name not in self.accounts():
            return 6, "", "usermod: user '%s' does not exist" % name
        shadow = self._fields("shadow", name)
        if options.get("--lock") and not shadow[1].startswith("!"):
            shadow[1] = "!" + shadow[1]
        if options.get("--unlock"):
            if shadow[1] == "!":
                return 1, "", "usermod: unlocking the user's password would result in a passwordless account."
            shadow[1] = shadow[1][1:] if shadow[1].startswith("!") else shadow[1]
        if "--password" in options:
            shadow[1] = options["--password"]
        if "--expiredate" in options:
            shadow[7] = options["--expiredate"]
        self._replace("shadow", name, shadow)
        if "--comment" in options:
            passwd = self._fields("passwd", name)
            passwd[4] = options["--comment"]
            self._replace("passwd", name, passwd)
        if "--groups" in options:
            wanted = set(filter(None, options["--groups"].split(",")))
            for group in self.groups():
                self._set_member(group, name, group in wanted)
        return 0, "", ""

    def _visudo(self, args):
        assert args[:3] == ["-c", "-q", "-f"], args
        text = Path(args[3]).read_text()
        for number, line in enumerate(text.splitlines(), 1):
            if line.startswith("#") or not line.strip():
                continue
            if not re.match(r"^[a-z_][a-z0-9_-]* ALL=\(ALL:ALL\) (NOPASSWD: )?ALL$", line):
                return 1, "", '%s:%d:1: syntax error\n%s\n' % (args[3], number, line)
        return 0, "", ""

    # ------------------------------------------------------------------ the files

    def path(self, relative):
        return self.root / relative.lstrip("/")

    def lines(self, name):
        return self.path("/etc/" + name).read_text().splitlines()

    def _fields(self, name, user):
        for line in self.lines(name):
            fields = line.split(":")
            if fields[0] == user:
                return fields
        raise KeyError(user)

    def _replace(self, name, user, fields):
        lines = [":".join(fields) if line.split(":")[0] == user else line for line in self.lines(name)]
        self.path("/etc/" + name).write_text("\n".join(lines) + "\n")

    def _append(self, name, line):
        with self.path("/etc/" + name).open("a") as handle:
            handle.write(line + "\n")

    def _set_member(self, group, user, member):
        fields = self._fields("group", group)
        members = [m for m in fields[3].split(",") if m and m != user]
        if member:
            members.append(user)
        fields[3] = ",".join(members)
        self._replace("group", group, fields)

    def accounts(self):
        return [line.split(":")[0] for line in self.lines("passwd")]

    def uids(self):
        return [int(line.split(":")[2]) for line in self.lines("passwd")]

    def groups(self):
        return [line.split(":")[0] for line in self.lines("group")]

    def members(self, group):
        return [m for m in self._fields("group", group)[3].split(",") if m]

    def shadow(self, user):
        return self._fields("shadow", user)

    def home(self, user):
        return self.root / "home" / user

    def keys_file(self, user):
        return self.home(user) / ".ssh" / "authorized_keys"

    def sudoers(self, user):
        return self.path("/etc/sudoers.d/orocloud-user-" + user)

    def snapshot(self):
        """Every file and link under the root with a hash of its content (and its mode), to prove nothing changed."""
        found = {}
        for path in sorted(self.root.rglob("*")):
            relative = str(path.relative_to(self.root))
            if path.is_symlink():
                found[relative] = "-> " + os.readlink(path)
            elif path.is_file():
                found[relative] = "%o %s" % (path.stat().st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                found[relative] = "dir %o" % path.stat().st_mode
        return found


# ---------------------------------------------------------------------------------------------- sample keys

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJs9sukLeM8m6SNcuejpUGWhe86U4PeR8nE3V9qZzqZS sample-ed25519"
ED25519_FP = "SHA256:XDR9+E3VOSYeTWjGPMfmO8Tny2KPNEI9Vq5DveYgw0s"
ED25519_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICahx212IfJXLGPL3hYR24jZJCMMVhnsIt/2KcrEr6Nh second-ed25519"
ED25519_B_FP = "SHA256:oCj/Z6V9mJ2WPVB4WN7TUOFU+ZqZnGcx92jwRdQcyew"
ED25519_C = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMOlXzQGKA2fERWN5qAXNnx95duvg9PF7PkSRQTZDVUU third-ed25519"
ED25519_C_FP = "SHA256:Em6nhbl2D+JjIj84V6JccPSHVQRDEkZ2xfaP3tZ+Kl8"
ECDSA256 = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBD87ZsbzgBvkl6E5vaplyM6fHdlln/uVVEsaUxKh"
    "Enhp542oe+4uppTCE+GfVibKm3K1Fb58G0LRS3pCV4D1zi8= sample-ecdsa256"
)
ECDSA256_FP = "SHA256:AdEqUgeBr1aqiJu2iILxXOMnngvyscb3t+FFeomxtns"
ECDSA384 = (
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBFVdmCIoe38Ik1os7fWaUhv3BewCAgHist+W80KB"
    "GM+M7A/PD3mwvT9uXQewxQJCYfWvOZG67B5USB/61eCXLGwZzYX1mLnxbLE8wHfwY0vj6te7cHoTrSKQ53jlYs+Hyw== sample-ecdsa384"
)
ECDSA384_FP = "SHA256:6SWXbv9JrnUz47D2ygJSJ3+vp1uh0iZZaPxEld1AOy8"
ECDSA521 = (
    "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAC2WJxYnLKOPzbtL6QY/d9mYchG7IqPSFpntGp/"
    "igrQmzX+FfbyeNEmf0LI5KyX8maRvoFsTPLAKS687BLlFdB7rwHl+8waLPfLJZmwyGMpCPC2aH3+5NHleK/ntgUsr8kZeVtwYKfVbXRKcGW0QqE6"
    "RwTFhW5AL5+U4FTkxTDHZKK3pA== sample-ecdsa521"
)
ECDSA521_FP = "SHA256:PMeNboRQ6HP8WemDw488xaQhwB10ShzZ5pP4JOEXi1c"
RSA2048 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC3rbzYgiyrQbrLDfFpTZUNgP+Ug6Uc76mzSawnXu0b/EnUewpWfjy6nYZFQ6LT84rUgv4MEypr"
    "7z9dclroNaufrNhQV4GXW7zKhnqMe4E3XfaAxJXWiEwYaTL9VM8QqwzH93yUOWV/sipnqL/QTFv6YilrAuvLkmnMso4uiJNmjzUSrUVmpO9bkzqt"
    "iLpzxZkfF4DKJLdafutQ8ZAkMSuJm2fBT9mXqG7pWubO6KQoxvePFenu+cfp83PwTeE4muflBKyWSUnijofieTHsNm6H8Iwib/tt4pqLu7mxHLPF"
    "IqQOA+U4RIBV639yUIGPvTZCzj4DEWmsRVtzm75ubeb5 sample-rsa2048"
)
RSA2048_FP = "SHA256:b5gBwwp4S5yu6hwvLYZFXngqeEirCOlUlX4r2h8YvAk"
RSA3072 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC1R5LVz9COsSf307q7R9Rvjeu6BLdzNz7Buedy29aSGhIPFt5Tb2rkziTvGFErKn+meb0xIK5v"
    "uy4Khxb/kC1FWuIpz7FohIqJAJt5CNyzZNo7TtPobFzyKc9Cj8YAqWw8cVg0HxMy4F8iWDLsLuSfspJWD24zPooaPY8e4WENcKWdP8xUqvWajE27"
    "yRwPnIlsFZUDA98g6xcTACtmExj2q97Wr5uipBL2T44kjuHWY6in3rWIwwKY/8Ra5lH3wfr/kbU9FOfwCTa5ym6nK7uGlApHEk0jkaHX2EXd0Bcd"
    "bHJ4TqG3vPoSf26d69ej1Rozngq+BbqHN3eIkKfLVib5+GXFPH5/hOIAHJ/VKdlUN4/5s3yEi0W3ahJ4TarwzUXDx9QBAiJdUIDDi/iQZEWp52g0"
    "NYKUPp4NRwFXG75ePJqV4Bsw+6wO8yNoLJXgzwAYgZ8fawC3mW4bA5wAmYNYE37JtGL0swPNNMmGNUvGREvMbl5pkOrITBh/+g2rObc="
    " sample-rsa3072"
)
RSA3072_FP = "SHA256:wAWyzMKvryDqajNoCwp5YvcQ3+vJpzGrNoHDeg0XgYA"
RSA4096 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAACAQC+IG/CKXquqdVPOVZP/qUr479Ezzwx2QYWu6OvPRptztJCppMDcx/xG50Q2NAolBJcSVRrQjBz"
    "NWnyTbSzQ6e6U+GnmxaFgGzxRKq1cB8ZcYKGf3nH0zJOaT26UquKlhVEXOrvMDixLqVwv/y1q21E9U0DrGdONLJWVLPKIXkAYp82f1uRm8P5P4K0"
    "W3Rej/2ZeC7uBmH/N1wAxbkPa5GnhusvBkFgReRNw0/p7VIw0a7Wy4y7jjqUYt6Zzj51Wdp4w/uWOKxK9uaNLpZU1DwLm5fILAddzpxK3qK5Qc9q"
    "+3vZhXdiqKqqWEKkSp8VyqPt1xCVWXblCSbrpicUpAa6TaWkC1FnAjuBsIdMIwZ+QMo0N2ROP+asSzwg0IhTLL1o2dlZdkHdT55ahRSAyMzSsRG9"
    "Ob1P8sQJww/gGpYwbOi+v3Ll8CqnVioyNVMEE+LQG5At5bc16iuw8ocgrw28ZKxBz4QeccfVVyPLHshtUfs1QOOmM1XSGOgUM5nIks5brqgNLm/k"
    "QX6ejq1AZNBfPDLg4fYbMZoZODGQUEZWuGDyeisOkAHJUtGfn+gX2qTr6YKQekVhjGMFic92s0zK2V3lOnL2hNnNc1d0kxLHr+IJcAmKDBUYrIdK"
    "D5U7y3wEHcuWAWZt8lk3ld4AJFbu9wb7CDGpNAJCzV3k8KTxdQ== sample-rsa4096"
)
RSA4096_FP = "SHA256:j9wLRWg+7e1gsgPq8/6/s4y+A5849hORPh7TPrep2gE"
DSA = (
    "ssh-dss AAAAB3NzaC1kc3MAAACBAIGU29cl6LNHkyOYlkZLnEHulmWA+4xMlkpeL3pKz3D7o+5hgkisGdWxoBwzAm1mYL1WfFCnBqTWVBiAh2u5"
    "3X7oAaY3uTax99+21G9/RUNackprnb+fipGo3ItNWl+9KzskNfM/cDwAyIi1SgSf+sw/kUPC0pi/EP4F4j90Uif1AAAAFQCfZI8BG914eVHCbmoD"
    "i03ombSgQQAAAIAC5KNqN0UzI9WiWkh0C6ugHZyVrDRJHPupF6ktLa8cjfONAnTcP2TDT1JCSi5f0qtQmQAE/rNYhva0IRU2hbHR9cJPwILbr0hL"
    "Nkqvam2Il9+WuUCF/ldTkFTFuntgxtOiMmc4Um8qckL9lDFUtjFDrZiZgnV3JV7I5zjU/kYV2gAAAIBsojcmZ1SV+YF3ocrcuAT1WWqYkb+UiNqH"
    "kudCHOrqcVZ1bsEcv04KCttDyBrJG5WIuRYc2cy4lfusVUAn2K1zVrIg0zTUTZl73GBZfewGH5Af0dS3dk6J0mwhF3M/Hun62WIPJZHXFl97uLFu"
    "01THs6+Sc605xuNVQnisWujVoA== sample-dsa1024"
)
