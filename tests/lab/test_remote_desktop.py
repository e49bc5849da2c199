"""The remote-desktop host of the lab site (rdp1), proved with a real RDP client.

Where the client runs: on rdp1 itself, connecting to rdp1's desktop-zone address. The lab's only
other way in is through the VPN gateway (vpn1), whose role lands separately; a client on rdp1
exercises the same xrdp listener, TLS, PAM stack, session and watermark, and needs no route the
architecture forbids. The fixture installs the test client there (freerdp, xvfb, imagemagick,
tesseract, xclip, python3-pil: test-only packages, left installed) and copies the probe of the
Molecule scenario. Screenshots go to artifacts/remote_desktop/lab/.

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
from conftest import ROOT, lab_host

from lab.state import LabState

PROBE = ROOT / "molecule" / "remote_desktop" / "files" / "rdp_probe.py"
ARTIFACTS = ROOT / "artifacts" / "remote_desktop" / "lab"
PASSWORD = "Tw-Lab-Passw0rd!"  # lab-only, inventories/lab/group_vars/all/staff_passwords.yml
BACKGROUND = "28,59,94"
TEST_USERS = ["sato.taro", "suzuki.hanako", "takahashi.ken"]


@pytest.fixture(scope="module")
def rdp(site: LabState) -> Iterator[testinfra.host.Host]:
    """rdp1, with the RDP test client installed on it."""
    if "rdp1" not in site.hosts:
        pytest.fail("the lab site has no rdp1")
    host = lab_host("rdp1")
    release = host.run(". /etc/os-release; echo $VERSION_ID").stdout.strip()
    freerdp = "freerdp3-x11" if release == "13" else "freerdp2-x11"
    packages = f"{freerdp} xvfb xauth xclip imagemagick tesseract-ocr tesseract-ocr-eng python3-pil"
    install = host.run(f"sudo apt-get install -y -q --no-install-recommends {packages}")
    assert install.rc == 0, install.stderr
    host.ansible("copy", f"src={PROBE} dest=/usr/local/bin/rdp_probe mode=0755", check=False, become=True)
    yield host
    for name in ("lab-sato", "lab-greedy", "lab-denied"):
        host.run(f"sudo rdp_probe stop {name}")
    for user in TEST_USERS:
        host.run(f"sudo loginctl terminate-user {user} 2>/dev/null")


@pytest.fixture(scope="module")
def address(site: LabState) -> str:
    return site.hosts["rdp1"].interfaces["desktop"].split("/")[0]


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
def sato(rdp: testinfra.host.Host, address: str) -> Iterator[dict[str, Any]]:
    rdp.run("sudo loginctl terminate-user sato.taro 2>/dev/null; sudo faillock --user sato.taro --reset")
    since = now(rdp)
    probe(rdp, "start", "lab-sato", "--host", address, "--user", "sato.taro", "--password", PASSWORD)
    _, result = probe(rdp, "wait-desktop", "lab-sato", "--timeout", "120", "--color", BACKGROUND)
    for _ in range(30):  # the watermark's manager finds a new session within 2 s
        if "sato.taro" in rdp.run("sudo cat /run/tw-watermark/status").stdout:
            break
        time.sleep(1)
    time.sleep(5)
    probe(rdp, "shot", "lab-sato", "/tmp/lab-sato.png")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "desktop-sato.taro.png").write_bytes(rdp.file("/tmp/lab-sato.png").content)
    yield {**result, "since": since}
    probe(rdp, "stop", "lab-sato")


def test_staff_login_on_the_site_gets_a_desktop(sato: dict[str, Any], rdp: testinfra.host.Host) -> None:
    assert sato.get("desktop"), sato
    _, st = probe(rdp, "stats", "/tmp/lab-sato.png", "--color", BACKGROUND)
    assert st["dark_share"] < 0.5 and st["stddev"] > 20 and st["color_share"] > 0.3, st


def test_tw10_watermark_on_the_site_names_user_and_host(sato: dict[str, Any], rdp: testinfra.host.Host) -> None:
    assert probe(rdp, "ocr", "/tmp/lab-sato.png", "--expect", "sato.taro", "--angle", "-25")[0] == 0
    assert probe(rdp, "ocr", "/tmp/lab-sato.png", "--expect", "rdp1", "--angle", "-25")[0] == 0


def test_tw09_site_login_is_logged_with_user_and_source(
    sato: dict[str, Any], rdp: testinfra.host.Host, address: str
) -> None:
    lines = rdp.run(f"sudo journalctl -t rdp-audit --since '{sato['since']}' --no-pager -o cat").stdout
    assert f"event=login result=success user=sato.taro src={address}" in lines, lines


def test_tw01_tw02_site_refuses_drive_and_clipboard(rdp: testinfra.host.Host, address: str) -> None:
    rdp.run("sudo loginctl terminate-user suzuki.hanako 2>/dev/null; sudo faillock --user suzuki.hanako --reset")
    extra = ["--drive", "/tmp/lab-share", "--clipboard", "--printer"]
    probe(rdp, "start", "lab-greedy", "--host", address, "--user", "suzuki.hanako", "--password", PASSWORD, *extra)
    try:
        _, result = probe(rdp, "wait-desktop", "lab-greedy", "--timeout", "120", "--color", BACKGROUND)
        assert result.get("desktop"), result
        assert "/drive:probe," in rdp.run("sudo cat /run/rdp-probe/lab-greedy/argv").stdout
        assert "server announces" not in rdp.run("sudo cat /run/rdp-probe/lab-greedy/freerdp.log").stdout
        assert "thinclient_drives" not in rdp.run("findmnt -rn -o TARGET").stdout
        probe(rdp, "clip-set", "lab-greedy", "TW02-LAB-FROM-CLIENT")
        time.sleep(3)
        display = re.search(r"Xorg (:\d+)", rdp.run("pgrep -u suzuki.hanako -a Xorg").stdout)
        assert display is not None
        read = (
            f"sudo -u suzuki.hanako env DISPLAY={display.group(1)} XAUTHORITY=/home/suzuki.hanako/.Xauthority "
            "timeout 10 python3 -c \"import gi; gi.require_version('Gtk','3.0'); from gi.repository import Gtk, Gdk; "
            'print(Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD).wait_for_text())"'
        )
        assert "TW02-LAB-FROM-CLIENT" not in rdp.run(read).stdout
    finally:
        probe(rdp, "stop", "lab-greedy")


@pytest.mark.parametrize(
    ("version", "accepted"), [("TLSv1", False), ("TLSv1_1", False), ("TLSv1_2", True), ("TLSv1_3", True)]
)
def test_tw08_site_speaks_tls_12_or_newer_only(
    rdp: testinfra.host.Host, address: str, version: str, accepted: bool
) -> None:
    rc, result = probe(rdp, "tls", "--host", address, "--version", version)
    assert result.get("negotiation") == "selected", result
    assert (rc == 0 and result["handshake"]) is accepted, result


def test_tw13_disabled_user_cannot_log_in_on_the_site(rdp: testinfra.host.Host, address: str) -> None:
    since = now(rdp)
    probe(rdp, "start", "lab-denied", "--host", address, "--user", "ito.jiro", "--password", PASSWORD)
    _, result = probe(rdp, "wait-desktop", "lab-denied", "--timeout", "15", "--color", BACKGROUND)
    probe(rdp, "stop", "lab-denied")
    assert not result.get("desktop"), result
    lines = rdp.run(f"sudo journalctl -t rdp-audit --since '{since}' --no-pager -o cat").stdout
    assert f"event=login result=failure user=ito.jiro src={address}" in lines, lines
