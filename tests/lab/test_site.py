"""The lab site as a whole: every host up and wired as the inventory says, zones isolated."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
from collections.abc import Callable, Iterator

import pytest
from conftest import VPN

from lab.state import LabState
from tests.support.hosts import get_host
from tests.support.listeners import machine_listener
from tests.support.network import assert_blocked, reaches, temporary_route
from tests.support.nftables import rule_counter

# A public address that answers on port 80 whenever the internet is reachable at all.
PUBLIC = ("1.1.1.1", 80)
HOME_GATEWAY = "10.231.48.10"  # vpn1 in the home zone


def machine_reaches(addr: str, port: int) -> bool:
    try:
        with socket.create_connection((addr, port), timeout=3):
            return True
    except OSError:
        return False


def uplink_address() -> str:
    """The machine's own address on its way out (its default route)."""
    route = subprocess.run(["ip", "-4", "-j", "route", "get", PUBLIC[0]], capture_output=True, text=True, check=True)
    return str(json.loads(route.stdout)[0]["prefsrc"])


@pytest.fixture(scope="module")
def outside() -> Iterator[list[tuple[str, int]]]:
    """Addresses outside the site that answer: a listener on the machine's uplink address (a host
    routed out through the machine would reach it), and the public address when the machine
    reaches it."""
    with machine_listener() as port:
        targets = [(uplink_address(), port)]
        if machine_reaches(*PUBLIC):
            targets.append(PUBLIC)
        yield targets


def test_every_inventory_host_is_up_and_answers(site: LabState) -> None:
    for name in site.hosts:
        assert get_host(name).run("systemctl is-system-running").stdout.strip() in ("running", "degraded"), name


def test_every_host_has_the_zone_addresses_of_the_inventory(site: LabState) -> None:
    for name, hs in site.hosts.items():
        out = json.loads(get_host(name).run("ip -j -4 addr show").stdout)
        have = {i["ifname"]: f"{a['local']}/{a['prefixlen']}" for i in out for a in i["addr_info"]}
        for zone, addr in hs.interfaces.items():
            assert have.get(zone) == str(ipaddress.IPv4Interface(addr)), f"{name}: {zone}"


@pytest.mark.parametrize("src", ["rdp1", "log1", "fs1", "home1"])
def test_tw11_lab_hosts_cannot_reach_the_internet(site: LabState, outside: list[tuple[str, int]], src: str) -> None:
    for addr, port in outside:
        # Positive control: the address answers the machine, which is where a way out would lead.
        assert machine_reaches(addr, port), f"{addr}:{port} does not answer the machine itself"
        assert not reaches(src, addr, port), f"{src} reached {addr}:{port}"


def test_tw12_apt_works_through_the_package_proxy(site: LabState) -> None:
    proc = get_host("pc1").run("sudo apt-get update -q")
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
    ("src", "dst", "addr", "port", "allowed"),
    [
        ("fs1", "rdp1", "10.231.33.10", 3389, "brk1"),  # office may not open the desktop zone
        ("rdp1", "fs1", "10.231.35.10", 22, "fs1"),  # no SSH between zones
        ("vpn1", "fs1", "10.231.35.10", 445, "rdp1"),  # the edge reaches only RDP
        ("home1", "rdp1", "10.231.33.10", 3389, "brk1"),  # home reaches nothing but the VPN gateway
        ("home1", "log1", "10.231.34.10", 6514, "rdp1"),
        ("home1", "fs1", "10.231.35.10", 445, "rdp1"),  # a home PC never reaches the file shares
        ("vpn1", "rdp1", "10.231.33.10", 3389, "brk1"),  # desktops take RDP from the session broker only
        ("vpn1", "rdp2", "10.231.33.11", 3389, "brk1"),
        ("rdp2", "rdp1", "10.231.33.10", 3389, "brk1"),  # not even from the same zone
        ("rdp1", "brk1", "10.231.33.5", 10000, "brk1"),  # the brokers' peers port: other brokers only
    ],
)
def test_tw11_other_flows_are_blocked(
    site: LabState, listener: Callable[[str, int], None], src: str, dst: str, addr: str, port: int, allowed: str
) -> None:
    """`allowed` is a host the same port answers (its own or an allowed flow): the positive control."""
    listener(dst, port)
    if src != "home1":
        assert_blocked(src, addr, port, answers_from=allowed)
        return
    # The home zone has no route into the site: give home1 one through vpn1, as an attacker on
    # the staff PC could. The site has no way back to the home zone either, so a refusal alone
    # would prove nothing: vpn1's drop rule must count the probe.
    dropped = rule_counter(VPN.gateway, "vpn_gateway", "forward", "not an allowed flow")
    with temporary_route(src, "10.231.32.0/20", via=HOME_GATEWAY, towards=addr):
        assert_blocked(src, addr, port, answers_from=allowed)
    assert rule_counter(VPN.gateway, "vpn_gateway", "forward", "not an allowed flow") > dropped
