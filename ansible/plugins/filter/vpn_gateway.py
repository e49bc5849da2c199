"""Filters of the vpn_gateway role: TOTP secret encodings and IPv4 network notation.

Ansible's own network filters (ansible.utils.ipaddr) need the netaddr library on the
controller; these few need only the standard library.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Callable
from typing import Any


def vpn_gateway_b32_to_hex(secret: str) -> str:
    """Base32 TOTP secret (as authenticator apps show it) -> hex (as pam_oath's usersfile wants it)."""
    text = str(secret).strip().upper().replace(" ", "")
    text += "=" * (-len(text) % 8)
    try:
        return base64.b32decode(text).hex()
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not a base32 TOTP secret: {exc}") from exc


def vpn_gateway_is_cidr(value: Any) -> bool:
    """True for an IPv4 network in CIDR form with no host bits set (10.231.40.0/24)."""
    try:
        ipaddress.IPv4Network(str(value), strict=True)
    except ValueError:
        return False
    return "/" in str(value)


def vpn_gateway_network(value: str) -> str:
    """10.231.40.0/24 -> '10.231.40.0 255.255.255.0' (OpenVPN's notation)."""
    net = ipaddress.IPv4Network(str(value), strict=True)
    return f"{net.network_address} {net.netmask}"


def vpn_gateway_first_host(value: str) -> str:
    """10.231.40.0/24 -> 10.231.40.1 (the gateway's own address in the pool)."""
    net = ipaddress.IPv4Network(str(value), strict=True)
    return str(next(net.hosts()))


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "vpn_gateway_b32_to_hex": vpn_gateway_b32_to_hex,
            "vpn_gateway_is_cidr": vpn_gateway_is_cidr,
            "vpn_gateway_network": vpn_gateway_network,
            "vpn_gateway_first_host": vpn_gateway_first_host,
        }
