"""Helpers for the end-to-end tests on the converged lab site (`make lab` first, as root).

The tests run against inventories/lab (lab `site`). LAB_INVENTORY=<directory> points them at a copy
of that inventory with its own `lab_name` and `site_name` (a second lab beside the site, e.g. for a
branch's own end-to-end run).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import testinfra
import yaml

from lab.settings import load
from lab.state import LabState
from lab.state import load as load_state

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = Path(os.environ.get("LAB_INVENTORY", ROOT / "inventories" / "lab"))


def _site_setting(name: str, default: str) -> str:
    """A plain value of the inventory's group_vars/all (lab_name, site_name)."""
    for path in sorted((INVENTORY / "group_vars" / "all").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if name in data:
            return str(data[name])
    return default


LAB_NAME = _site_setting("lab_name", "site")
SITE_NAME = _site_setting("site_name", "lab")


@pytest.fixture(scope="session")
def site() -> LabState:
    state = load_state(load(), LAB_NAME)
    if state is None or not state.hosts:
        pytest.fail(f"the lab {LAB_NAME} is not up: run `make lab` first (as root)")
    return state


@functools.cache
def lab_host(name: str) -> testinfra.host.Host:
    """A lab host reached the way Ansible reaches it (SSH as admin, inventory settings)."""
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def reaches(src: str, addr: str, port: int, timeout: int = 3) -> bool:
    """True when a TCP connection from host src to addr:port succeeds."""
    cmd = f"timeout {timeout} bash -c 'echo > /dev/tcp/{addr}/{port}' 2>/dev/null && echo open || echo closed"
    return lab_host(src).run(cmd).stdout.strip() == "open"


def start_listener(name: str, port: int) -> bool:
    """Make sure something listens on port of host name; True when a probe server was started.

    When no service listens there yet, a probe server (python's http.server) is started; stop it
    with stop_listener() so it never takes the place of the real service later.
    """
    h = lab_host(name)
    if h.run(f"ss -Hltn 'sport = :{port}'").stdout.strip():
        return False
    h.run(f"sudo systemd-run --unit lab-probe-{port} --collect python3 -m http.server {port}")
    h.run(f"for i in $(seq 50); do ss -Hltn 'sport = :{port}' | grep -q . && break; sleep 0.1; done")
    return True


def stop_listener(name: str, port: int) -> None:
    lab_host(name).run(f"sudo systemctl stop lab-probe-{port}")


@pytest.fixture
def listener() -> Iterator[Callable[[str, int], None]]:
    """listener(host, port): something listens there for the length of one test."""
    started: list[tuple[str, int]] = []

    def ensure(name: str, port: int) -> None:
        if start_listener(name, port):
            started.append((name, port))

    yield ensure
    for name, port in started:
        stop_listener(name, port)
