"""The remote-desktop host of the lab site (rdp1), reached the way staff reach it.

The client is the staff PC home1 in the home zone: it connects to vpn1 with the user's
certificate and a one-time code (real OpenVPN), then a real RDP client (FreeRDP under Xvfb)
logs in to rdp1 through the tunnel. Server-side facts (sessions, clipboard, audit log) are read
on rdp1; the audit line must reach the log server log1. The fixture installs the test client on
home1 (freerdp, xvfb, imagemagick, tesseract, xclip, python3-pil: test-only packages, left
installed) and copies the probe of the Molecule scenario. Screenshots go to
artifacts/remote_desktop/lab/.

Run on a converged site (`make lab`), as root:  .venv/bin/python -m pytest -q tests/lab/test_remote_desktop.py
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import testinfra
from conftest import ROOT, VPN

from lab.state import LabState
from tests.support.hosts import get_host
from tests.support.vpn_client import Session

PROBE = ROOT / "molecule" / "remote_desktop" / "files" / "rdp_probe.py"
ARTIFACTS = ROOT / "artifacts" / "remote_desktop" / "lab"
PASSWORD = "Tw-Lab-Passw0rd!"  # lab-only, inventories/lab/group_vars/all/staff_passwords.yml
BACKGROUND = "28,59,94"
TEST_USERS = ["sato.taro", "suzuki.hanako", "takahashi.ken"]
LOG_SERVER = "log1"


@pytest.fixture(scope="module")
def rdp(site: LabState) -> Iterator[testinfra.host.Host]:
    """rdp1, the session host (server-side checks)."""
    if "rdp1" not in site.hosts:
        pytest.fail("the lab site has no rdp1")
    host = get_host("rdp1")
    yield host
    for user in TEST_USERS:
        host.run(f"sudo loginctl terminate-user {user} 2>/dev/null")


@pytest.fixture(scope="module")
def tunnel(site: LabState) -> Iterator[Session]:
    """sato.taro's tunnel from home1 through vpn1, with the RDP test client installed on home1."""
    host = get_host(VPN.client)
    release = host.run(". /etc/os-release; echo $VERSION_ID").stdout.strip()
    freerdp = "freerdp3-x11" if release == "13" else "freerdp2-x11"
    VPN.install_client_tools(
        freerdp, "xvfb", "xauth", "xclip", "imagemagick", "tesseract-ocr", "tesseract-ocr-eng", "python3-pil"
    )
    host.ansible("copy", f"src={PROBE} dest=/usr/local/bin/rdp_probe mode=0755", check=False, become=True)
    session = VPN.connect("sato.taro", "rdp")
    yield session
    for name in ("lab-sato", "lab-greedy", "lab-denied"):
        host.run(f"sudo rdp_probe stop {name}")
    session.stop()


@pytest.fixture(scope="module")
def pc(tunnel: Session) -> testinfra.host.Host:
    """home1, connected through vpn1 as sato.taro, with the RDP test client installed."""
    return get_host(VPN.client)


@pytest.fixture(scope="module")
def address(site: LabState) -> str:
    return site.hosts["rdp1"].interfaces["desktop"].split("/")[0]


@pytest.fixture(scope="module")
def source(tunnel: Session) -> str:
    """The staff PC's tunnel address: what rdp1 sees as the source (no NAT on the way)."""
    return tunnel.tunnel_address()


def probe(host: testinfra.host.Host, *args: str) -> tuple[int, dict[str, Any]]:
    out = host.run("sudo rdp_probe " + " ".join(f"'{a}'" for a in args))
    lines = out.stdout.strip().splitlines()
    try:
        return out.rc, json.loads(lines[-1]) if lines else {}
    except ValueError:
        return out.rc, {"raw": out.stdout}


def now(host: testinfra.host.Host) -> str:
    return host.run("date '+%Y-%m-%d %H:%M:%S'").stdout.strip()


@pytest.fixture(scope="module")
def sato(rdp: testinfra.host.Host, pc: testinfra.host.Host, address: str) -> Iterator[dict[str, Any]]:
    rdp.run("sudo loginctl terminate-user sato.taro 2>/dev/null; sudo faillock --user sato.taro --reset")
    since = now(rdp)
    probe(pc, "start", "lab-sato", "--host", address, "--user", "sato.taro", "--password", PASSWORD)
    _, result = probe(pc, "wait-desktop", "lab-sato", "--timeout", "120", "--color", BACKGROUND)
    for _ in range(30):  # the watermark's manager finds a new session within 2 s
        if "sato.taro" in rdp.run("sudo cat /run/tw-watermark/status").stdout:
            break
        time.sleep(1)
    deadline = time.monotonic() + 45  # the watermark's window needs a moment to draw
    while True:
        time.sleep(3)
        probe(pc, "shot", "lab-sato", "/tmp/lab-sato.png")
        seen = probe(pc, "ocr", "/tmp/lab-sato.png", "--expect", "sato.taro", "--angle", "-25")[0] == 0
        if seen or time.monotonic() > deadline:
            break
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "desktop-sato.taro.png").write_bytes(pc.file("/tmp/lab-sato.png").content)
    yield {**result, "since": since}
    probe(pc, "stop", "lab-sato")


def test_tw04_staff_pc_through_the_vpn_gets_a_desktop(sato: dict[str, Any], pc: testinfra.host.Host) -> None:
    assert sato.get("desktop"), sato
    _, st = probe(pc, "stats", "/tmp/lab-sato.png", "--color", BACKGROUND)
    assert st["dark_share"] < 0.5 and st["stddev"] > 20 and st["color_share"] > 0.3, st


def test_tw10_watermark_on_the_site_names_user_and_host(sato: dict[str, Any], pc: testinfra.host.Host) -> None:
    assert probe(pc, "ocr", "/tmp/lab-sato.png", "--expect", "sato.taro", "--angle", "-25")[0] == 0
    assert probe(pc, "ocr", "/tmp/lab-sato.png", "--expect", "rdp1", "--angle", "-25")[0] == 0


def test_tw09_site_login_reaches_the_log_server_with_user_and_source(sato: dict[str, Any], source: str) -> None:
    wanted = f"event=login result=success user=sato.taro src={source}"
    stored = ""
    for _ in range(30):  # forwarded within seconds (RELP over TLS, log_forwarding)
        stored = get_host(LOG_SERVER).run(f"sudo grep -rhF -- '{wanted}' /var/log/remote/rdp1/").stdout
        if stored:
            break
        time.sleep(1)
    assert wanted in stored and "rdp-audit" in stored, stored


def test_tw01_tw02_site_refuses_drive_and_clipboard(
    rdp: testinfra.host.Host, pc: testinfra.host.Host, address: str
) -> None:
    rdp.run("sudo loginctl terminate-user suzuki.hanako 2>/dev/null; sudo faillock --user suzuki.hanako --reset")
    extra = ["--drive", "/tmp/lab-share", "--clipboard", "--printer"]
    probe(pc, "start", "lab-greedy", "--host", address, "--user", "suzuki.hanako", "--password", PASSWORD, *extra)
    try:
        _, result = probe(pc, "wait-desktop", "lab-greedy", "--timeout", "120", "--color", BACKGROUND)
        assert result.get("desktop"), result
        assert "/drive:probe," in pc.run("sudo cat /run/rdp-probe/lab-greedy/argv").stdout
        assert "server announces" not in pc.run("sudo cat /run/rdp-probe/lab-greedy/freerdp.log").stdout
        assert "thinclient_drives" not in rdp.run("findmnt -rn -o TARGET").stdout
        # Positive controls: the client's clipboard holds the text, and the server's reader works
        # (it sees what the session itself copies).
        assert probe(pc, "clip-set", "lab-greedy", "TW02-LAB-FROM-CLIENT")[0] == 0
        own = pc.run("sudo rdp_probe clip-get lab-greedy")
        assert own.rc == 0 and "TW02-LAB-FROM-CLIENT" in own.stdout, own.stdout + own.stderr
        time.sleep(3)
        display = re.search(r"Xorg (:\d+)", rdp.run("pgrep -u suzuki.hanako -a Xorg").stdout)
        assert display is not None
        as_user = (
            f"sudo -u suzuki.hanako env DISPLAY={display.group(1)} XAUTHORITY=/home/suzuki.hanako/.Xauthority "
            "timeout 10 python3 -c \"import gi; gi.require_version('Gtk','3.0'); from gi.repository import Gtk, Gdk, GLib; "
            "cb=Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD); "
        )
        seen = rdp.run(as_user + 'print(cb.wait_for_text())"')
        assert seen.rc == 0, seen.stderr
        assert "TW02-LAB-FROM-CLIENT" not in seen.stdout
        rdp.run(
            as_user + "cb.set_text('TW02-LAB-SESSION-OWN',-1); cb.store(); "
            'GLib.timeout_add_seconds(6, Gtk.main_quit); Gtk.main()" >/dev/null 2>&1 &'
        )
        time.sleep(2)
        control = rdp.run(as_user + 'print(cb.wait_for_text())"')
        assert control.rc == 0 and "TW02-LAB-SESSION-OWN" in control.stdout, control.stdout + control.stderr
    finally:
        probe(pc, "stop", "lab-greedy")


@pytest.mark.parametrize(
    ("version", "accepted"), [("TLSv1", False), ("TLSv1_1", False), ("TLSv1_2", True), ("TLSv1_3", True)]
)
def test_tw08_site_speaks_tls_12_or_newer_only(
    pc: testinfra.host.Host, address: str, version: str, accepted: bool
) -> None:
    rc, result = probe(pc, "tls", "--host", address, "--version", version)
    assert result.get("negotiation") == "selected", result
    assert (rc == 0 and result["handshake"]) is accepted, result
    if not accepted:  # refused by the server (its alert), not by the client's own TLS library
        assert "NO_PROTOCOLS_AVAILABLE" not in result["error"], result
        assert re.search(r"(?i)protocol.version|unsupported.protocol", result["error"]), result


def test_tw13_disabled_user_cannot_log_in_on_the_site(
    sato: dict[str, Any], rdp: testinfra.host.Host, pc: testinfra.host.Host, address: str, source: str
) -> None:
    # Positive control: the same client, address and password gave sato.taro a desktop.
    assert sato.get("desktop"), sato
    since = now(rdp)
    probe(pc, "start", "lab-denied", "--host", address, "--user", "ito.jiro", "--password", PASSWORD)
    _, result = probe(pc, "wait-desktop", "lab-denied", "--timeout", "15", "--color", BACKGROUND)
    probe(pc, "stop", "lab-denied")
    assert not result.get("desktop"), result
    lines = rdp.run(f"sudo journalctl -t rdp-audit --since '{since}' --no-pager -o cat").stdout
    assert f"event=login result=failure user=ito.jiro src={source}" in lines, lines
