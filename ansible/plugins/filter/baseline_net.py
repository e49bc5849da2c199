"""Address filters for the baseline role's preflight (no netaddr on the controller needed)."""

from __future__ import annotations

import ipaddress
from typing import Any


def baseline_ip_in_any(address: Any, networks: list[Any]) -> bool:
    """True when address lies in one of networks (entries that are no network are ignored)."""
    try:
        ip = ipaddress.ip_address(str(address).strip())
    except ValueError:
        return False
    for net in networks or []:
        try:
            if ip in ipaddress.ip_network(str(net), strict=False):
                return True
        except ValueError:
            continue
    return False


def baseline_ip_family(networks: list[Any], family: int) -> list[str]:
    """The entries of networks that are of IP version family (4 or 6), normalised."""
    result = []
    for net in networks or []:
        try:
            parsed = ipaddress.ip_network(str(net), strict=False)
        except ValueError:
            continue
        if parsed.version == family:
            result.append(str(parsed))
    return result


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "baseline_ip_in_any": baseline_ip_in_any,
            "baseline_ip_family": baseline_ip_family,
        }
