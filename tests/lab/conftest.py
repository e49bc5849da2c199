"""Helpers for the end-to-end tests on the converged lab site (`make lab` first, as root)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import testinfra

from lab.settings import load
from lab.state import LabState
from lab.state import load as load_state

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "inventories" / "lab"


@pytest.fixture(scope="session")
def site() -> LabState:
    state = load_state(load(), "site")
    if state is None or not state.hosts:
        pytest.fail("the lab site is not up: run `make lab` first (as root)")
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
