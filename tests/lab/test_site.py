"""The lab site as a whole: every host up and wired as the inventory says, zones isolated."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable

import pytest
from conftest import lab_host, reaches

from lab.state import LabState

INTERNET = ["203.0.113.80", "192.0.2.1", "1.1.1.1"]


def test_every_inventory_host_is_up_and_answers(site: LabState) -> None:
    for name in site.hosts:
        assert lab_host(name).run("systemctl is-system-running").stdout.strip() in ("running", "degraded"), name


def test_every_host_has_the_zone_addresses_of_the_inventory(site: LabState) -> None:
    for name, hs in site.hosts.items():
        out = json.loads(lab_host(name).run("ip -j -4 addr show").stdout)
        have = {i["ifname"]: f"{a['local']}/{a['prefixlen']}" for i in out for a in i["addr_info"]}
        for zone, addr in hs.interfaces.items():
            assert have.get(zone) == str(ipaddress.IPv4Interface(addr)), f"{name}: {zone}"


@pytest.mark.parametrize("src", ["rdp1", "log1", "fs1", "home1"])
def test_tw11_lab_hosts_cannot_reach_the_internet(site: LabState, src: str) -> None:
    for addr in INTERNET:
        assert not reaches(src, addr, 80), f"{src} reached {addr}"


def test_tw12_apt_works_through_the_package_proxy(site: LabState) -> None:
    proc = lab_host("pc1").run("sudo apt-get update -q")
    assert proc.rc == 0, proc.stderr


@pytest.mark.parametrize(
    ("src", "dst", "addr", "port"),
    [
        ("rdp1", "fs1", "10.231.35.10", 445),
        ("rdp1", "chat1", "10.231.35.11", 5222),
        ("rdp1", "log1", "10.231.34.10", 6514),
        ("fs1", "log1", "10.231.34.10", 6514),
        ("vpn1", "brk1", "10.231.33.5", 3389),  # RDP from the edge to the session broker
        ("brk1", "rdp1", "10.231.33.10", 3389),  # the broker to the desktops (same zone)
        ("brk1", "rdp2", "10.231.33.11", 3389),
    ],
)
def test_tw11_allowed_flows_cross_the_zone_router(
    site: LabState, listener: Callable[[str, int], None], src: str, dst: str, addr: str, port: int
) -> None:
    listener(dst, port)
    assert reaches(src, addr, port)


@pytest.mark.parametrize(
    ("src", "dst", "addr", "port"),
    [
        ("fs1", "rdp1", "10.231.33.10", 3389),  # office may not open the desktop zone
        ("rdp1", "fs1", "10.231.35.10", 22),  # no SSH between zones
        ("vpn1", "fs1", "10.231.35.10", 445),  # the edge reaches only RDP
        ("home1", "rdp1", "10.231.33.10", 3389),  # home reaches nothing but the VPN gateway
        ("home1", "log1", "10.231.34.10", 6514),
        ("vpn1", "rdp1", "10.231.33.10", 3389),  # desktops take RDP from the session broker only
        ("vpn1", "rdp2", "10.231.33.11", 3389),
        ("rdp2", "rdp1", "10.231.33.10", 3389),  # not even from the same zone
        ("rdp1", "brk1", "10.231.33.5", 10000),  # the brokers' peers port: other brokers only
    ],
)
def test_tw11_other_flows_are_blocked(
    site: LabState, listener: Callable[[str, int], None], src: str, dst: str, addr: str, port: int
) -> None:
    listener(dst, port)
    assert not reaches(src, addr, port)
