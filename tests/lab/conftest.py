"""Fixtures of the end-to-end tests on the converged lab site (`make lab` first, as root).

Host access, probes, listeners and the VPN client are shared with the Molecule verifiers
(`tests/support/`); this file says which lab they work on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lab.settings import load
from lab.state import LabState
from lab.state import load as load_state
from tests.support.hosts import LAB_INVENTORY, ROOT
from tests.support.listeners import Listeners
from tests.support.vpn_client import VpnSite

INVENTORY = LAB_INVENTORY
__all__ = ["INVENTORY", "ROOT", "VPN"]

# The staff PC home1 in the home zone and the gateway vpn1; the vpn_gateway role wrote the
# profiles and secrets on the controller (operator only).
VPN = VpnSite(
    client="home1",
    gateway="vpn1",
    profiles=Path.home() / ".local/share/telework-vpn/lab",
    site_name="lab",
)


@pytest.fixture(scope="session")
def site() -> LabState:
    state = load_state(load(), "site")
    if state is None or not state.hosts:
        pytest.fail("the lab site is not up: run `make lab` first (as root)")
    return state


@pytest.fixture
def listener() -> Iterator[Callable[[str, int], None]]:
    """listener(host, port): something listens there for the length of one test (asserted)."""
    listeners = Listeners()
    yield listeners.ensure
    listeners.close()
