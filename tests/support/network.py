"""TCP probes from a host, and routes a test adds for the length of a block.

A negative network test proves the positive first: `assert_blocked()` shows that the
destination answers (from a host that is allowed to reach it) before it shows that the source
is refused, and a probe that did not run (no bash, a typo in the address) fails the test instead
of reading as "closed".
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from tests.support.hosts import get_host


class Outcome(StrEnum):
    """What a TCP connection attempt from a host ran into."""

    OPEN = "open"  # the connection was made
    REFUSED = "refused"  # an RST or ICMP port unreachable: the address answered, nothing took it
    NO_ROUTE = "no route"  # no route, or ICMP host/network unreachable on the way
    TIMEOUT = "timeout"  # no answer at all: dropped on the way (or nobody there)


def tcp_probe(src: str, addr: str, port: int, timeout: int = 3) -> Outcome:
    """Try one TCP connection from host `src` to addr:port (bash's /dev/tcp) and say what happened."""
    ipaddress.ip_address(addr)  # a name or a typo would be a DNS failure, not a refusal
    proc = get_host(src).run(f"timeout {timeout} bash -c {shlex.quote(f'exec 3<>/dev/tcp/{addr}/{port}')}")
    if proc.rc == 0:
        return Outcome.OPEN
    if proc.rc == 124:
        return Outcome.TIMEOUT
    if proc.rc == 1 and "Connection refused" in proc.stderr:
        return Outcome.REFUSED
    if proc.rc == 1 and ("No route to host" in proc.stderr or "Network is unreachable" in proc.stderr):
        return Outcome.NO_ROUTE
    raise AssertionError(f"the probe from {src} to {addr}:{port} did not run (rc {proc.rc}): {proc.stderr.strip()}")


def reaches(src: str, addr: str, port: int, timeout: int = 3) -> bool:
    """True when a TCP connection from host src to addr:port succeeds."""
    return tcp_probe(src, addr, port, timeout) is Outcome.OPEN


def assert_blocked(src: str, addr: str, port: int, *, answers_from: str) -> Outcome:
    """src cannot connect to addr:port, which does answer when asked from host `answers_from`.

    The positive control comes first: without it, a port where nothing listens or an address
    that never answers would pass for a blocked flow. Returns what src ran into.
    """
    control = tcp_probe(answers_from, addr, port)
    assert control is Outcome.OPEN, (
        f"positive control failed: {answers_from} gets {control} from {addr}:{port}, "
        f"so a refusal seen from {src} would prove nothing"
    )
    outcome = tcp_probe(src, addr, port)
    assert outcome is not Outcome.OPEN, f"{src} reached {addr}:{port}"
    return outcome


def route_of(name: str, addr: str) -> str:
    """The route host `name` takes to addr (`ip route get`), e.g. '10.231.35.10 dev tun0 src ...'."""
    proc = get_host(name).run(f"ip -4 -o route get {addr}")
    assert proc.rc == 0, f"{name} has no route to {addr}: {proc.stderr.strip()}"
    return proc.stdout.strip()


@contextmanager
def temporary_route(
    name: str, to: str, *, via: str | None = None, dev: str | None = None, towards: str | None = None
) -> Iterator[None]:
    """A route on host `name` for the length of the block, checked in place before the block runs.

    `towards`: the address the block probes (default: the first host of `to`); the route the host
    takes there must be this one, not a more specific route it already had (a VPN tunnel's, say).
    A route of the host for exactly `to` is refused: the block would replace it, and removing the
    temporary one afterwards would leave the host without it.
    """
    assert via or dev, "a route needs a gateway or a device"
    target = " ".join(part for part in (to, f"via {via}" if via else "", f"dev {dev}" if dev else "") if part)
    host = get_host(name)
    existing = host.run(f"ip -4 route show exact {shlex.quote(to)}")
    assert existing.rc == 0, f"could not list the routes of {name}: {existing.stderr.strip()}"
    assert not existing.stdout.strip(), f"{name} already has a route for {to}: {existing.stdout.strip()}"
    added = host.run(f"sudo ip route add {target}")
    assert added.rc == 0, f"could not add the route {target} on {name}: {added.stderr.strip()}"
    try:
        probed = towards or str(next(ipaddress.ip_network(to, strict=False).hosts()))
        assert ipaddress.ip_address(probed) in ipaddress.ip_network(to, strict=False), (probed, to)
        taken = route_of(name, probed)
        assert (via is None or f"via {via} " in taken) and (dev is None or f"dev {dev} " in taken), (
            f"{name} does not use the route {target}: {taken}"
        )
        yield
    finally:
        removed = host.run(f"sudo ip route del {target}")
    assert removed.rc == 0, f"could not remove the route {target} on {name}: {removed.stderr.strip()}"
