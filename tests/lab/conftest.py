"""Fixtures of the end-to-end tests on the converged lab site (`make lab` first, as root).

Host access, probes, listeners and the VPN client are shared with the Molecule verifiers
(`tests/support/`); this file says which lab they work on: inventories/lab (lab `site`), or the
copy that LAB_INVENTORY=<directory> names, with its own `lab_name` and `site_name` (a second lab
beside the site, e.g. for a branch's own end-to-end run: lab/README.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from lab.settings import load
from lab.state import LabState
from lab.state import load as load_state
from tests.support.hosts import LAB_INVENTORY, ROOT
from tests.support.listeners import Listeners
from tests.support.vpn_client import VpnSite

INVENTORY = LAB_INVENTORY
__all__ = ["INVENTORY", "LAB_NAME", "ROOT", "SITE_NAME", "VPN"]


def _site_setting(name: str, default: str) -> str:
    """A plain value of the inventory's group_vars/all (lab_name, site_name)."""
    for path in sorted((INVENTORY / "group_vars" / "all").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if name in data:
            return str(data[name])
    return default


LAB_NAME = _site_setting("lab_name", "site")
SITE_NAME = _site_setting("site_name", "lab")

# The staff PC home1 in the home zone and the gateway vpn1; the vpn_gateway role wrote the
# profiles and secrets on the controller (operator only).
VPN = VpnSite(
    client="home1",
    gateway="vpn1",
    profiles=Path.home() / ".local/share/telework-vpn" / SITE_NAME,
    site_name=SITE_NAME,
)


@pytest.fixture(scope="session")
def site() -> LabState:
    state = load_state(load(), LAB_NAME)
    if state is None or not state.hosts:
        pytest.fail(f"the lab {LAB_NAME} is not up: run `make lab` first (as root)")
    return state


@pytest.fixture
def listener() -> Iterator[Callable[[str, int], None]]:
    """listener(host, port): something listens there for the length of one test (asserted)."""
    listeners = Listeners()
    yield listeners.ensure
    listeners.close()
