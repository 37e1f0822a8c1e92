"""Make `ansible_collections.orocloud.ops` importable for pytest, the way ansible-core finds it, and
run the tests with ansible-core's own defaults.

The checkout is linked at `.build/collections/ansible_collections/orocloud/ops` (`make collection`);
ANSIBLE_COLLECTIONS_PATH may point elsewhere, so the finder is given both.
"""

import os
from pathlib import Path

import pytest
from ansible.module_utils.common import warnings
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

_ROOT = Path(__file__).resolve().parent.parent

# ansible-core's defaults, not the recommended ansible.cfg of the working directory (a caller such as
# molecule that sets its own configuration keeps it).
os.environ.setdefault("ANSIBLE_CONFIG", str(Path(__file__).resolve().parent / "ansible.cfg"))
_PATHS = [str(_ROOT / ".build" / "collections")]
_PATHS += [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]

_AnsibleCollectionFinder(paths=_PATHS)._install()  # pylint: disable=protected-access


@pytest.fixture(autouse=True)
def _module_warnings_per_test(monkeypatch):
    """ansible-core keeps a module's warnings and deprecations in globals: each test starts with none."""
    monkeypatch.setattr(warnings, "_global_warnings", {})
    monkeypatch.setattr(warnings, "_global_deprecations", {})
