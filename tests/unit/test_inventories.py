"""Every inventory shipped with the project describes a consistent site."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from tests.unit.inventory_files import INVENTORIES, resolved

ZONES = {"home", "edge", "desktop", "management", "office"}
# Optional zones a site may add: the VPN tunnel pool (routed to the VPN gateways).
OPTIONAL_ZONES = {"vpn_clients"}


@pytest.mark.parametrize("name", INVENTORIES)
def test_tw11_site_zones_are_the_architecture_zones_and_do_not_overlap(name: str) -> None:
    inv = resolved(name)
    hostvars = next(iter(inv["_meta"]["hostvars"].values()))
    zones = hostvars["site_zones"]
    assert ZONES <= set(zones) <= ZONES | OPTIONAL_ZONES
    nets = [(z, ipaddress.IPv4Network(n)) for z, ns in zones.items() for n in ns]
    for (za, a), (zb, b) in itertools.combinations(nets, 2):
        assert not a.overlaps(b), f"{name}: zone {za} {a} overlaps zone {zb} {b}"


@pytest.mark.parametrize("name", INVENTORIES)
def test_every_role_group_has_a_host(name: str) -> None:
    inv = resolved(name)
    for group in (
        "zone_router",
        "vpn_gateway",
        "remote_desktop",
        "log_server",
        "file_server",
        "chat_server",
        "office_pc",
    ):
        assert inv.get(group, {}).get("hosts"), f"{name}: group {group} has no host"


def test_example_hosts_sit_in_their_zones() -> None:
    inv = resolved("example")
    hv = inv["_meta"]["hostvars"]
    zones = {z: [ipaddress.IPv4Network(n) for n in ns] for z, ns in next(iter(hv.values()))["site_zones"].items()}
    expected = {"remote_desktop": "desktop", "log_server": "management", "file_server": "office", "vpn_gateway": "edge"}
    for group, zone in expected.items():
        for host in inv[group]["hosts"]:
            addr = ipaddress.IPv4Address(hv[host]["ansible_host"])
            assert any(addr in n for n in zones[zone]), f"{host} ({addr}) is not in zone {zone}"
