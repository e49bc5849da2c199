"""The VPN on the lab site, end to end: home1 (a staff PC in the home zone) connects to vpn1 with
a real OpenVPN client, its certificate and a code from `oathtool --totp -b`, and reaches rdp1's
RDP port and nothing else (TW-04..09, TW-11).

Profiles and secrets are read from the controller, where the vpn_gateway role wrote them
(~/.local/share/telework-vpn/lab, operator only). Run after `make lab`, as root:

    .venv/bin/python -m pytest -q tests/lab/test_vpn.py
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from conftest import VPN

from lab.state import LabState
from tests.support.certificates import client_certificate, other_ca
from tests.support.hosts import get_host
from tests.support.listeners import Listeners
from tests.support.network import Outcome, assert_blocked, reaches, tcp_probe, temporary_route
from tests.support.nftables import rule_counter
from tests.support.vpn_client import READY, Session, with_certificate

CLIENT, GATEWAY = VPN.client, VPN.gateway
GATEWAY_HOME, RDP_ADDR, FS_ADDR = "10.231.48.10", "10.231.33.10", "10.231.35.10"
USER, OTHER = "sato.taro", "suzuki.hanako"  # active members of the telework group (staff.yml)


@pytest.fixture(scope="module")
def client_tools(site: LabState) -> Iterator[None]:
    """OpenVPN and oathtool on the staff PC; something listening on the ports the tests probe."""
    VPN.install_client_tools()
    listeners = Listeners()
    for name, port in (("rdp1", 3389), ("fs1", 445)):
        listeners.ensure(name, port)
    yield
    listeners.close()


@pytest.fixture(scope="module")
def tunnel(client_tools: None) -> Iterator[Session]:
    """sato.taro connected from home1."""
    session = VPN.connect(USER, "lab")
    yield session
    session.stop()


def test_tw04_home_pc_connects_with_certificate_and_code_and_reaches_rdp1(tunnel: Session) -> None:
    assert reaches(CLIENT, RDP_ADDR, 3389)
    assert re.search(r"Data Channel: cipher '(AES-256-GCM|CHACHA20-POLY1305)'", tunnel.log())


def test_tw11_tunnel_reaches_nothing_but_rdp(tunnel: Session) -> None:
    assert "default" not in get_host(CLIENT).check_output("ip -4 route show")
    assert reaches(CLIENT, RDP_ADDR, 3389)
    # fs1's SMB port answers the desktop zone (an allowed flow), never the tunnel, even routed there.
    with temporary_route(CLIENT, "10.231.35.0/24", dev="tun0"):
        assert_blocked(CLIENT, FS_ADDR, 445, answers_from="rdp1")
    assert_blocked(CLIENT, RDP_ADDR, 22, answers_from="rdp1")
    assert reaches(CLIENT, RDP_ADDR, 3389)


def test_tw09_connection_is_logged_on_the_gateway(tunnel: Session) -> None:
    tunnel.stop()
    deadline = time.monotonic() + 30  # the server closes the instance seconds after the exit notice
    out = ""
    while time.monotonic() < deadline:
        out = get_host(GATEWAY).run("sudo journalctl -t vpn-session --no-pager -o cat").stdout
        if f"event=disconnect user={USER}" in out:
            break
        time.sleep(1)
    assert re.search(
        rf"event=connect user={re.escape(USER)} cn={re.escape(USER)} real_address=10\.231\.48\.100:\d+ tunnel_address=10\.231\.40\.\d+ start=",
        out,
    ), out[-2000:]
    assert re.search(
        rf"event=disconnect user={re.escape(USER)} .* end=\S+ duration=\d+s bytes_received=[1-9]\d* bytes_sent=[1-9]\d*",
        out,
    ), out[-2000:]


def test_tw04_wrong_code_is_refused(client_tools: None) -> None:
    since = time.time()
    out = VPN.attempt("wrong", VPN.profile(OTHER), OTHER, VPN.wrong_code(OTHER))
    assert READY not in out and "AUTH_FAILED" in out
    assert "PLUGIN_AUTH_USER_PASS_VERIFY status=1" in VPN.server_log(since)
    get_host(GATEWAY).run(f"sudo faillock --dir /var/lib/vpn_gateway/telework/faillock --user {OTHER} --reset")


def test_tw05_certificate_of_another_ca_is_refused(client_tools: None) -> None:
    cert, key = client_certificate(OTHER, *other_ca("another CA"))
    since = time.time()
    out = VPN.attempt("otherca", with_certificate(VPN.profile(OTHER), cert, key), OTHER, VPN.fresh_code(OTHER))
    assert READY not in out
    assert "VERIFY ERROR" in VPN.server_log(since)


def test_tw05_disabled_and_non_telework_users_get_no_profile_and_no_client_config(site: LabState) -> None:
    gateway = get_host(GATEWAY)
    # Positive control: an active teleworker has both, where the test looks for them.
    assert (VPN.profiles / "users" / USER / f"lab-{USER}.ovpn").exists()
    assert gateway.file(f"/etc/openvpn/server/telework/ccd/{USER}").exists
    # staff.yml: ito.jiro is disabled, tanaka.yui is not in the telework group.
    for user in ("ito.jiro", "tanaka.yui"):
        assert not (VPN.profiles / "users" / user).exists(), user
        assert not gateway.file(f"/etc/openvpn/server/telework/ccd/{user}").exists, user
    assert gateway.file("/etc/openvpn/server/telework/crl.pem").exists


def test_tw11_home_zone_reaches_neither_the_ssh_of_vpn1_nor_the_site_directly(client_tools: None) -> None:
    gateway = get_host(GATEWAY)
    # sshd listens on every address of vpn1 (the home one too). No lab host may reach its home
    # address on 22 (vpn1's own traffic there is filtered as well), so the positive control is
    # vpn1's "only the VPN port" rule counting the probe: it reached vpn1 and was dropped there.
    assert gateway.socket("tcp://0.0.0.0:22").is_listening
    refused = rule_counter(GATEWAY, "vpn_gateway", "input", "only the VPN port from outside")
    assert tcp_probe(CLIENT, GATEWAY_HOME, 22) is Outcome.TIMEOUT
    assert rule_counter(GATEWAY, "vpn_gateway", "input", "only the VPN port from outside") > refused
    # Routed at the site through vpn1 (no tunnel): the site has no way back to the home zone, so
    # a refusal alone proves nothing; vpn1's drop rule must count the probe. No tunnel may be up:
    # its route to the desktop zone would carry the probe instead (temporary_route checks).
    dropped = rule_counter(GATEWAY, "vpn_gateway", "forward", "not an allowed flow")
    with temporary_route(CLIENT, "10.231.32.0/20", via=GATEWAY_HOME, towards=RDP_ADDR):
        assert_blocked(CLIENT, RDP_ADDR, 3389, answers_from=GATEWAY)
    assert rule_counter(GATEWAY, "vpn_gateway", "forward", "not an allowed flow") > dropped
    assert gateway.sysctl("net.ipv4.ip_forward") == 1  # vpn1 does forward: its rules refuse
