"""Filters of the vpn_gateway role: TOTP secret encodings and IPv4 network notation.

Ansible's own network filters (ansible.utils.ipaddr) need the netaddr library on the
controller; these few need only the standard library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
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


def vpn_gateway_flow_errors(flows: Any, zones: Any) -> list[str]:
    """What is wrong with vpn_gateway_flows, one sentence per flow ([] when nothing is)."""
    errors = []
    for flow in flows or []:
        name = flow.get("name", "?")
        to_zones, to_cidrs = list(flow.get("to_zones") or []), list(flow.get("to_cidrs") or [])
        ports, ranges = list(flow.get("ports") or []), list(flow.get("port_ranges") or [])
        unknown = [z for z in to_zones if z not in (zones or {})]
        if unknown:
            errors.append(f"flow {name}: to_zones {', '.join(unknown)} are not zones of site_zones")
        bad = [c for c in to_cidrs if not vpn_gateway_is_cidr(c)]
        if bad:
            errors.append(f"flow {name}: to_cidrs {', '.join(map(str, bad))} are not IPv4 networks in CIDR form")
        if not to_zones and not to_cidrs:
            errors.append(f"flow {name}: no destination (to_zones or to_cidrs)")
        wrong = [str(p) for p in ports if not 1 <= int(p) <= 65535] + port_ranges_invalid(ranges)
        if wrong:
            errors.append(f"flow {name}: ports {', '.join(wrong)} are not ports 1-65535 or ranges first-last")
        if not ports and not ranges:
            errors.append(f"flow {name}: no ports (ports or port_ranges)")
    return errors


def vpn_gateway_user_flow_errors(flows: Any, zones: Any, user_ids: Any) -> list[str]:
    """What is wrong with vpn_gateway_user_flows: the errors of any flow, a user not in the staff
    list, a destination given as zones (a user flow names its hosts)."""
    known = {str(u) for u in user_ids or []}
    errors = vpn_gateway_flow_errors(flows, zones)
    errors += [f"user {f.get('user')} is not in the staff list" for f in flows or [] if str(f.get("user")) not in known]
    errors += [
        f"flow {f.get('name', '?')}: a user flow goes to to_cidrs only" for f in flows or [] if f.get("to_zones")
    ]
    return errors


def port_ranges_invalid(ranges: Any) -> list[str]:
    """Entries that are not "first-last" with 1 <= first < last <= 65535 (flows of vpn_gateway and zone_router)."""
    bad = []
    for r in ranges:
        first, _, last = str(r).partition("-")
        if not (first.isdigit() and last.isdigit() and 1 <= int(first) < int(last) <= 65535):
            bad.append(str(r))
    return bad


def vpn_gateway_user_addresses(users: Any, pool: str, count: int = 64) -> dict[str, str]:
    """A fixed tunnel address for each user of the per-user flows, from the top `count` of the pool.

    Each user's place comes from a hash of their id (then the next free place), so that adding
    or removing one user moves no one else unless two hash to the same place; the same users,
    pool and count always give the same addresses (the gateway gives them, the zone router's
    rules match them).
    """
    ids = sorted({str(u) for u in users or []})
    block = vpn_gateway_fixed_block(pool, count)
    if len(ids) > len(block):
        raise ValueError(f"{len(ids)} users with their own flows, but only {len(block)} fixed addresses in {pool}")
    taken: dict[int, str] = {}
    for uid in ids:
        place = int.from_bytes(hashlib.sha256(uid.encode()).digest()[:4], "big") % len(block)
        while place in taken:
            place = (place + 1) % len(block)
        taken[place] = uid
    return {uid: str(block[place]) for place, uid in sorted(taken.items(), key=lambda kv: kv[1])}


def vpn_gateway_fixed_block(pool: str, count: int = 64) -> list[ipaddress.IPv4Address]:
    """The top `count` host addresses of the pool: kept out of the dynamic range, given per user."""
    hosts = list(ipaddress.IPv4Network(str(pool), strict=True).hosts())
    count = int(count)
    if not 1 <= count <= len(hosts) - 8:
        raise ValueError(f"{count} fixed addresses do not fit in {pool} (at most {len(hosts) - 8})")
    return hosts[-count:]


def vpn_gateway_dynamic_range(pool: str, count: int = 64) -> str:
    """'first last netmask' of the dynamic range (ifconfig-pool): the pool's hosts below the fixed block."""
    net = ipaddress.IPv4Network(str(pool), strict=True)
    hosts = list(net.hosts())
    fixed = vpn_gateway_fixed_block(pool, count)
    return f"{hosts[1]} {hosts[len(hosts) - len(fixed) - 1]} {net.netmask}"


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
            "vpn_gateway_flow_errors": vpn_gateway_flow_errors,
            "vpn_gateway_user_flow_errors": vpn_gateway_user_flow_errors,
            "port_ranges_invalid": port_ranges_invalid,
            "vpn_gateway_network": vpn_gateway_network,
            "vpn_gateway_user_addresses": vpn_gateway_user_addresses,
            "vpn_gateway_dynamic_range": vpn_gateway_dynamic_range,
            "vpn_gateway_first_host": vpn_gateway_first_host,
        }
