# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the module tests: modules run as on a managed node, and the operation log they write."""

from __future__ import annotations

import pytest

from ansible_collections.orocloud.ops.tests.unit.plugins.module_utils.test_operation_log import ModuleLog


@pytest.fixture(autouse=True)
def _as_on_a_target(monkeypatch):
    """Results go to stdout as on a managed node, whatever controller code other tests imported."""
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False)


@pytest.fixture
def oplog(monkeypatch, tmp_path):
    """The operation log in tmp_path, syslog a list."""
    return ModuleLog(monkeypatch, str(tmp_path / "oplog" / "operations.log"))
