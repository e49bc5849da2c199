"""Which address a host gets, where the spec leaves it open.

- On the control network: the address the spec names, else the one the host had in the last
  `up` of its lab, else the lowest free address of the pool (Settings.control_pool). Addresses
  held by other labs are never handed out, and a spec that names one is refused with the lab
  that holds it.
- In a zone: the lowest free address from .10 upwards (`lab.spec` asks for it while parsing).

Both are pure functions of what they are given, so the same inputs give the same addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Container, Mapping

from lab.errors import LabError

# First host address handed out in a zone when the spec does not name one.
FIRST_AUTO_HOST = 10


def allocate_control_addresses(
    wanted: Mapping[str, str | None],
    previous: Mapping[str, str],
    held_by_other_labs: Mapping[str, str],
    pool: ipaddress.IPv4Network,
) -> dict[str, str]:
    """A control address per host of `wanted` (host -> the address its spec names, or None).

    previous: host -> the address it had in this lab; held_by_other_labs: address -> lab name.
    Hosts that name an address are placed first, then the others in the order of `wanted`.
    """
    result: dict[str, str] = {}
    for host, addr in wanted.items():
        if addr is not None:
            owner = held_by_other_labs.get(addr)
            if owner is not None:
                raise LabError(
                    f"address clash: control address {addr} of host {host} is used by lab {owner}",
                    f"take lab {owner} down first (`python -m lab down --lab {owner}`) or pick another address",
                )
            result[host] = addr
    used = set(held_by_other_labs) | set(result.values())
    for host in wanted:
        if host in result:
            continue
        before = previous.get(host, "")
        if before and before not in used:
            result[host] = before
        else:
            for cand in pool.hosts():
                if str(cand) not in used:
                    result[host] = str(cand)
                    break
            else:
                raise LabError(f"no free control address left in {pool}", "take unused labs down")
        used.add(result[host])
    return result


def first_free_zone_address(
    subnet: ipaddress.IPv4Network, used: Container[ipaddress.IPv4Address]
) -> ipaddress.IPv4Address | None:
    """The lowest host address of subnet from .FIRST_AUTO_HOST upwards that is not in used."""
    for candidate in list(subnet.hosts())[FIRST_AUTO_HOST - 1 :]:
        if candidate not in used:
            return candidate
    return None
