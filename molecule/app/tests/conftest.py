# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app scenario's node, as its inventory describes it, reached with testinfra's podman backend."""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

SCENARIO = Path(__file__).resolve().parents[1]
ROOT = SCENARIO.parents[1]
INVENTORY = SCENARIO / "inventory" / "app.orocloud.yml"


def _env():
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".build" / "collections"))
    env.setdefault("OROCLOUD_LAB_DIR", str(ROOT / ".build" / "lab"))
    return env


@functools.cache
def inventory():
    out = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(INVENTORY), "--list"],
        check=True, capture_output=True, text=True, env=_env(),
    ).stdout
    return json.loads(out, object_hook=lambda d: d["__ansible_unsafe"] if set(d) == {"__ansible_unsafe"} else d)


@pytest.fixture(scope="session")
def name():
    (host,) = inventory()["orocloud"]["hosts"]
    return host


@pytest.fixture(scope="session")
def hostvars(name):
    return inventory()["_meta"]["hostvars"][name]


@pytest.fixture(scope="session")
def host(name):
    return testinfra.get_host("podman://" + name)


@pytest.fixture(scope="session")
def address(hostvars):
    return hostvars["orocloud_address"]


@pytest.fixture(scope="session")
def console(host):
    """Run bin/console of the current release as the application's user."""

    def run(*args):
        return host.run("runuser -u www-data -- php /var/www/oro/current/bin/console" + " %s" * len(args), *args)

    return run


@pytest.fixture(scope="session")
def playbook(tmp_path_factory):
    """Run a playbook (YAML text) against the scenario's inventory; returns (rc, output with folded blanks)."""

    def run(text, *args):
        path = tmp_path_factory.mktemp("playbook") / "playbook.yml"
        path.write_text(text)
        result = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(INVENTORY), str(path), *args],
            check=False, capture_output=True, text=True, env=_env(), cwd=str(ROOT),
        )
        return result.returncode, " ".join((result.stdout + result.stderr).split())

    return run
