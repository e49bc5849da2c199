"""Tests for the baseline role's preflight: `x is telework.platform.baseline_cidr` (no netaddr needed)."""

from __future__ import annotations

import ipaddress
from typing import Any


def baseline_cidr(value: Any) -> bool:
    """True for an IPv4 or IPv6 network or address ("10.0.0.0/8", "192.0.2.1", "2001:db8::/32")."""
    try:
        ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return False
    return True


class TestModule:
    def tests(self) -> dict[str, Any]:
        return {"baseline_cidr": baseline_cidr}
