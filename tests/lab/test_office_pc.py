"""Office PCs on the lab site: pc1 is sato.taro's, operated from home by them alone.

home1 connects to vpn1 as the owner (real OpenVPN, certificate + one-time code): the gateway gives
the owner their fixed tunnel address and a route to pc1 alone, the gateway and the zone router let
that address through to pc1:3389, and a real RDP client (FreeRDP under Xvfb) logs in to the owner's
desktop; the login line with the tunnel address reaches the log server (TW-09). Another
teleworker's tunnel, with a valid certificate and code, cannot even open a TCP connection to
pc1:3389 (TW-11), while it still reaches the desktops' broker (positive control). Run after
`make lab`:

    .venv/bin/python -m pytest -q tests/lab/test_office_pc.py
"""

from __future__ import annotations

import ipaddress
import shlex

from conftest import VPN
from rdp_client import BACKGROUND, PASSWORD, broker, desktop_address, install_rdp_client, probe

from lab.state import LabState
from tests.support.hosts import get_host
from tests.support.polling import wait_for

OWNER, OTHER = "sato.taro", "suzuki.hanako"  # inventories/lab/group_vars/all/office_pcs.yml: pc1 is sato.taro's
PC = "10.231.35.20"  # pc1's office-zone address
POOL = ipaddress.IPv4Network("10.231.40.0/24")  # site_zones.vpn_clients
FIXED = set(list(POOL.hosts())[-64:])  # vpn_gateway_fixed_address_count: the owners' addresses
REACH = (
    "import socket,sys\ntry:\n socket.create_connection((sys.argv[1], int(sys.argv[2])), 5); print('open')\n"
    "except OSError: print('closed')"
)


def reach(address: str, port: int) -> str:
    return str(get_host(VPN.client).check_output(f"python3 -c {shlex.quote(REACH)} {address} {port}"))


def test_tw04_tw09_tw11_the_owner_reaches_their_office_pc_through_the_vpn_and_logs_in(site: LabState) -> None:
    home = install_rdp_client()
    session = VPN.connect(OWNER, "office-pc")
    try:
        tunnel = session.tunnel_address()
        assert ipaddress.IPv4Address(tunnel) in FIXED, tunnel  # the owner's fixed address
        assert reach(PC, 3389) == "open"
        probe(home, "start", "lab-office-pc", "--host", PC, "--user", OWNER, "--password", PASSWORD)
        _, result = probe(home, "wait-desktop", "lab-office-pc", "--timeout", "120", "--color", BACKGROUND)
        probe(home, "stop", "lab-office-pc")
        assert result.get("desktop"), result
        # nothing else of pc1 is open to the tunnel (its SSH, say), though pc1 listens there
        get_host("pc1").run_test("sudo ss -tlnH 'sport = :22' | grep -q :22")
        assert reach(PC, 22) == "closed"
    finally:
        session.stop()
    # TW-09: the login, with the tunnel address as the source, is on the log server
    command = f"sudo grep -rhF -- 'event=login result=success user={OWNER} src={tunnel}' /var/log/remote/pc1/"
    assert wait_for(lambda: get_host("log1").run(command).stdout.strip(), 60, 2), command


def test_tw11_another_teleworkers_tunnel_cannot_open_the_owners_pc(site: LabState) -> None:
    get_host("pc1").run_test("sudo ss -tlnH 'sport = :3389' | grep -q 3389")  # positive control: xrdp listens
    session = VPN.connect(OTHER, "office-pc-other")
    try:
        tunnel = session.tunnel_address()
        assert ipaddress.IPv4Address(tunnel) not in FIXED, tunnel  # suzuki.hanako owns no PC here
        # positive control: this tunnel works, and reaches the desktops' broker
        assert reach(desktop_address(site, broker(site)), 3389) == "open"
        assert reach(PC, 3389) == "closed"
        routes = get_host(VPN.client).check_output("ip -4 route")
        assert PC not in routes, routes  # no route to pc1 is even pushed
    finally:
        session.stop()
