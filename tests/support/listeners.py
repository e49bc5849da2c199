"""Something listening on a port, asserted to be listening before a test relies on it.

`Listeners.ensure(host, port)` leaves a service that already listens alone and otherwise starts
a probe server (python's http.server as a transient systemd unit) and waits until the port is
bound; `close()` stops only the probe servers it started, so none ever takes the place of the
real service. `machine_listener()` listens on the machine that runs the tests (every address):
an "outside" address that answers whenever it is reachable.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.hosts import get_host

UNIT_PREFIX = "test-listener"


def listening(name: str, port: int) -> bool:
    """True when a TCP socket of host `name` listens on port (any address)."""
    return bool(get_host(name).run(f"ss -Hltn 'sport = :{port}'").stdout.strip())


def start_listener(name: str, port: int, timeout: float = 10) -> bool:
    """Make sure something listens on port of host `name`; True when a probe server was started.

    Fails, with the probe unit's journal, when the port is still not bound after `timeout`.
    """
    if listening(name, port):
        return False
    host = get_host(name)
    unit = f"{UNIT_PREFIX}-{port}"
    host.run(f"sudo systemctl stop {unit}; sudo systemctl reset-failed {unit}")
    started = host.run(
        f"sudo systemd-run --unit {unit} --collect python3 -m http.server --bind 0.0.0.0 --directory /tmp {port}"
    )
    assert started.rc == 0, f"could not start a listener on {name}:{port}: {started.stderr.strip()}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(name, port):
            return True
        time.sleep(0.2)
    journal = host.run(f"sudo journalctl -u {unit} -n 20 --no-pager").stdout
    raise AssertionError(f"the listener on {name}:{port} is not listening after {timeout} s:\n{journal}")


def stop_listener(name: str, port: int) -> None:
    get_host(name).run(f"sudo systemctl stop {UNIT_PREFIX}-{port}")


class Listeners:
    """The probe servers one fixture started; `close()` stops them."""

    def __init__(self) -> None:
        self.started: list[tuple[str, int]] = []

    def ensure(self, name: str, port: int) -> None:
        if start_listener(name, port):
            self.started.append((name, port))
        assert listening(name, port), f"nothing listens on {name}:{port}"

    def close(self) -> None:
        for name, port in reversed(self.started):
            stop_listener(name, port)
        self.started.clear()


@contextmanager
def machine_listener() -> Iterator[int]:
    """A TCP listener on every address of the machine running the tests; yields its port.

    Each connection is accepted and closed at once.
    """
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()
