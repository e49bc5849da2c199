"""The register of office PCs (office_pcs): who owns which PC, for every role that reads it.

office_pc (on each PC: its owner's account and no one else's), vpn_gateway and zone_router (each
owner's tunnel reaches their own PC on 3389 and nothing else there) read one list, so that the
PC, the gateway and the router never disagree about whose PC is whose.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any


def office_pc_errors(pcs: Iterable[Any], users: Iterable[Mapping[str, Any]]) -> list[str]:
    """What is wrong with the register, one message each ([] = nothing)."""
    entries = list(pcs or [])
    staff = {u.get("id") for u in users or []}
    errors: list[str] = []
    for i, pc in enumerate(entries):
        if not isinstance(pc, Mapping):
            errors.append(f"entry {i + 1} is not a mapping of name, owner and address")
            continue
        missing = [k for k in ("name", "owner", "address") if not pc.get(k)]
        if missing:
            errors.append(f"entry {i + 1} ({pc.get('name', '?')}) has no {', '.join(missing)}")
            continue
        try:
            ipaddress.IPv4Address(str(pc["address"]))
        except ValueError:
            errors.append(f"{pc['name']}: address {pc['address']} is not an IPv4 address")
        if pc["owner"] not in staff:
            errors.append(f"{pc['name']}: owner {pc['owner']} is not in the staff list (telework_users)")
    good = [pc for pc in entries if isinstance(pc, Mapping)]
    for key, what in (("name", "PC name"), ("owner", "owner"), ("address", "address")):
        twice = sorted(str(v) for v, n in Counter(pc.get(key) for pc in good if pc.get(key)).items() if n > 1)
        if twice:
            errors.append(f"{what} given to more than one PC: {', '.join(twice)} (one PC per owner, one owner per PC)")
    return errors


def office_pc_owners(
    pcs: Iterable[Mapping[str, Any]], users: Iterable[Mapping[str, Any]], group: str = ""
) -> list[dict[str, str]]:
    """The PCs whose owner may operate them from home now: active, and in `group` if given.

    Each is {name, owner, address}, sorted by owner; a PC whose owner is disabled, gone or
    outside the group is left out, so that its owner's tunnel reaches nothing there.
    """
    active = {
        u["id"] for u in users or [] if u.get("state") == "active" and (not group or group in (u.get("groups") or []))
    }
    return sorted(
        (
            {"name": str(pc["name"]), "owner": str(pc["owner"]), "address": str(pc["address"])}
            for pc in pcs or []
            if pc.get("owner") in active
        ),
        key=lambda pc: pc["owner"],
    )


def office_pc_vpn_flows(owners: Iterable[Mapping[str, Any]], port: int = 3389) -> list[dict[str, Any]]:
    """vpn_gateway_user_flows from office_pc_owners: each owner's tunnel to their own PC's RDP port."""
    return [
        {
            "name": f"office-pc-{pc['name']}",
            "user": pc["owner"],
            "to_cidrs": [f"{pc['address']}/32"],
            "proto": "tcp",
            "ports": [int(port)],
        }
        for pc in owners or []
    ]


def office_pc_router_flows(
    owners: Iterable[Mapping[str, Any]], addresses: Mapping[str, str], port: int = 3389
) -> list[dict[str, Any]]:
    """zone_router_user_flows from office_pc_owners and the tunnel addresses the gateway gives them."""
    return [
        {
            "name": f"office-pc-{pc['name']}-{pc['owner']}",
            "from_address": addresses[pc["owner"]],
            "to_address": pc["address"],
            "proto": "tcp",
            "ports": [int(port)],
        }
        for pc in owners or []
        if pc["owner"] in addresses
    ]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "office_pc_errors": office_pc_errors,
            "office_pc_owners": office_pc_owners,
            "office_pc_vpn_flows": office_pc_vpn_flows,
            "office_pc_router_flows": office_pc_router_flows,
        }
