"""Fixtures of the lab tests; the shared view of the lab is in labview.py."""

import pytest
from labview import with_role


@pytest.fixture(scope="session")
def nat_node():
    (nat,) = with_role("nat")
    return nat
