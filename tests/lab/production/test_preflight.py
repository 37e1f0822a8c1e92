"""A machine that cannot run the lab gets told what is missing and how to fix it, not a stack trace."""

import os
import subprocess
import sys
from pathlib import Path

from labview import ROOT, inventory_source


def _run(argv, **env):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", **env)
    result = subprocess.run(argv, check=False, capture_output=True, text=True, env=env)
    # Messages may be wrapped to the terminal's width: compare them with the white space folded.
    result.stdout, result.stderr = " ".join(result.stdout.split()), " ".join(result.stderr.split())
    return result


def _broken_conf(tmp_path):
    conf = Path(os.environ["CONTAINERS_CONF"]).read_text().replace('runtime = "runc"', 'runtime = "runc-missing"')
    path = tmp_path / "containers.conf"
    path.write_text(conf)
    return str(path)


def test_preflight_names_the_missing_runtime_and_the_fix(tmp_path):
    result = _run([str(ROOT / "lab" / "preflight.sh")], CONTAINERS_CONF=_broken_conf(tmp_path))
    assert result.returncode == 1
    assert "cannot find its OCI runtime runc-missing" in result.stderr
    assert "apt-get install" in result.stderr
    assert "Traceback" not in result.stderr


def test_create_stops_with_the_preflight_message(tmp_path):
    playbook = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory_source()]
    result = _run(
        [*playbook, str(ROOT / "molecule" / "shared" / "create.yml")],
        CONTAINERS_CONF=_broken_conf(tmp_path),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
    )
    output = result.stdout + " " + result.stderr
    assert result.returncode != 0
    assert "cannot find its OCI runtime runc-missing" in output
    assert "Traceback" not in output


def test_preflight_passes_with_the_lab_settings():
    result = _run([str(ROOT / "lab" / "preflight.sh")])
    assert result.returncode == 0, result.stderr
