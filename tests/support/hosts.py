"""Hosts reached the way Ansible reaches them (testinfra's ansible backend and an inventory).

When Molecule runs the tests, MOLECULE_INVENTORY_FILE names the scenario's inventory; otherwise
the hosts are those of the lab site (inventories/lab, or the copy LAB_INVENTORY names: a second lab
beside the site, lab/README.md). Every host a test asks for is recorded, so
that a failing test can show the journal of the hosts it touched (molecule/conftest.py).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import testinfra
from testinfra.host import Host

ROOT = Path(__file__).resolve().parents[2]
LAB_INVENTORY = Path(os.environ.get("LAB_INVENTORY") or ROOT / "inventories" / "lab")

_touched: set[str] = set()


def inventory() -> str:
    """The inventory the hosts come from: the Molecule scenario's, or the lab site's."""
    return os.environ.get("MOLECULE_INVENTORY_FILE") or str(LAB_INVENTORY)


@functools.cache
def _connect(name: str, inventory_path: str) -> Host:
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory_path}")


def get_host(name: str) -> Host:
    """The host `name` of the inventory (one connection per host for the whole run)."""
    _touched.add(name)
    return _connect(name, inventory())


def touched() -> set[str]:
    """Names of the hosts asked for since the last `forget_touched()`."""
    return set(_touched)


def forget_touched() -> None:
    _touched.clear()
