"""RDP connections as a desktop host sees them: which connections come from a given address.

Shared by the rdp_broker scenario (molecule/rdp_broker) and the site tests (tests/lab): where a
connection through the session broker landed is read on the desktop hosts themselves, never from
the broker's own view, so the broker cannot prove itself right.
"""

from __future__ import annotations

from testinfra.host import Host


def connections_from(host: Host, source: str, port: int = 3389) -> set[str]:
    """Source ports of the established TCP connections from `source` to `port` on `host`."""
    out = host.check_output(f"ss -Htn state established '( sport = :{port} )'")
    ports = set()
    for line in out.splitlines():
        peer_address, _, peer_port = line.split()[-1].rpartition(":")
        if peer_address.strip("[]").removeprefix("::ffff:") == source:
            ports.add(peer_port)
    return ports
