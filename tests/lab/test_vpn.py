"""The VPN on the lab site, end to end: home1 (a staff PC in the home zone) connects to vpn1 with
a real OpenVPN client, its certificate and a code from `oathtool --totp -b`, and reaches the RDP
port of the session broker brk1 (the desktops' address for staff) and nothing else (TW-04..09, TW-11).

Profiles and secrets are read from the controller, where the vpn_gateway role wrote them
(~/.local/share/telework-vpn/lab, operator only). Run after `make lab`, as root:

    .venv/bin/python -m pytest -q tests/lab/test_vpn.py
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator

import pytest
from conftest import lab_host, reaches, start_listener, stop_listener
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from vpn_client import (
    CLIENT,
    GATEWAY,
    PROFILES,
    READY,
    attempt,
    close_tunnel,
    fresh_code,
    install_client_tools,
    open_tunnel,
    profile,
    secret,
)

from lab.state import LabState

GATEWAY_HOME, RDP_ADDR, FS_ADDR = "10.231.48.10", "10.231.33.5", "10.231.35.10"  # RDP_ADDR: the broker brk1
UNIT = "openvpn-server@telework"
USER, OTHER = "sato.taro", "suzuki.hanako"  # active members of the telework group (staff.yml)


def server_log(since: float) -> str:
    cmd = "sudo journalctl --since @{} --no-pager -o cat {}"
    since_s = int(since) - 1
    return "".join(
        lab_host(GATEWAY).run(cmd.format(since_s, match)).stdout for match in (f"-u {UNIT}", "-t vpn-session")
    )


@pytest.fixture(scope="module")
def client_tools(site: LabState) -> Iterator[None]:
    """OpenVPN and oathtool on the staff PC; something listening on the ports the tests probe."""
    install_client_tools()
    started = [(h, p) for h, p in (("brk1", 3389), ("fs1", 445)) if start_listener(h, p)]
    yield
    for h, p in started:
        stop_listener(h, p)


@pytest.fixture(scope="module")
def tunnel(client_tools: None) -> Iterator[str]:
    """sato.taro connected from home1; yields the client's log file on home1."""
    log = open_tunnel(USER, "vpntest-lab")
    yield log
    close_tunnel("vpntest-lab")


def test_tw04_home_pc_connects_with_certificate_and_code_and_reaches_the_rdp_entry(tunnel: str) -> None:
    assert reaches(CLIENT, RDP_ADDR, 3389)
    assert re.search(
        r"Data Channel: cipher '(AES-256-GCM|CHACHA20-POLY1305)'", lab_host(CLIENT).check_output(f"sudo cat {tunnel}")
    )


def test_tw11_tunnel_reaches_nothing_but_rdp(tunnel: str) -> None:
    host = lab_host(CLIENT)
    assert "default" not in host.check_output("ip -4 route show")
    host.run("sudo ip route replace 10.231.35.0/24 dev tun0")
    try:
        assert not reaches(CLIENT, FS_ADDR, 445)  # the office zone stays unreachable
    finally:
        host.run("sudo ip route del 10.231.35.0/24 dev tun0")
    assert not reaches(CLIENT, RDP_ADDR, 22)
    assert reaches(CLIENT, RDP_ADDR, 3389)


def test_tw09_connection_is_logged_on_the_gateway(tunnel: str) -> None:
    lab_host(CLIENT).run("sudo systemctl stop vpntest-lab")
    deadline = time.monotonic() + 30  # the server closes the instance seconds after the exit notice
    out = ""
    while time.monotonic() < deadline:
        out = lab_host(GATEWAY).run("sudo journalctl -t vpn-session --no-pager -o cat").stdout
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
    host = lab_host(CLIENT)
    valid = {
        host.check_output(f"oathtool --totp -b {secret(OTHER)} --now '{w}'").strip()
        for w in ("now", "-30 seconds", "+30 seconds")
    }
    code = next(c for c in ("000000", "111111", "222222") if c not in valid)
    out = attempt("wrong", profile(OTHER), OTHER, code)
    assert READY not in out and "AUTH_FAILED" in out
    assert "PLUGIN_AUTH_USER_PASS_VERIFY status=1" in server_log(since)
    lab_host(GATEWAY).run(f"sudo faillock --dir /var/lib/vpn_gateway/telework/faillock --user {OTHER} --reset")


def test_tw05_certificate_of_another_ca_is_refused(client_tools: None) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, OTHER)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "another CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    text = re.sub(r"<cert>.*?</cert>", lambda _: f"<cert>\n{cert_pem}</cert>", profile(OTHER), flags=re.S)
    text = re.sub(r"<key>.*?</key>", lambda _: f"<key>\n{key_pem}</key>", text, flags=re.S)
    since = time.time()
    out = attempt("otherca", text, OTHER, fresh_code(OTHER))
    assert READY not in out
    assert "VERIFY ERROR" in server_log(since)


def test_tw05_disabled_and_non_telework_users_have_no_profile_and_are_not_let_in(site: LabState) -> None:
    # staff.yml: ito.jiro is disabled, tanaka.yui is not in the telework group.
    for user in ("ito.jiro", "tanaka.yui"):
        assert not (PROFILES / "users" / user).exists(), user
        assert not lab_host(GATEWAY).file(f"/etc/openvpn/server/telework/ccd/{user}").exists, user
    assert lab_host(GATEWAY).file("/etc/openvpn/server/telework/crl.pem").exists


def test_tw11_home_zone_reaches_only_the_vpn_port_of_vpn1(client_tools: None) -> None:
    assert not reaches(CLIENT, GATEWAY_HOME, 22)
    assert not reaches(CLIENT, RDP_ADDR, 3389)
