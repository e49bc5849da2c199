"""The remote-desktop hosts of the lab site (rdp1, rdp2), reached the way staff reach them.

The client is the staff PC home1 in the home zone: it connects to vpn1 with the user's
certificate and a one-time code (real OpenVPN), then a real RDP client (FreeRDP under Xvfb)
logs in through the tunnel to the session broker brk1, which sends the user to a desktop host.
Server-side facts (sessions, clipboard, audit log) are read on the host the user landed on; the
audit line must reach the log server log1. The desktop hosts see the broker as the source of every
connection (its log line names the client: tests/lab/test_broker.py). The fixture installs the
test client on home1 (freerdp, xvfb, imagemagick, tesseract, xclip, python3-pil: test-only
packages, left installed) and copies the probe of the Molecule scenario. Screenshots go to
artifacts/remote_desktop/lab/.

Run on a converged site (`make lab`), as root:  .venv/bin/python -m pytest -q tests/lab/test_remote_desktop.py
"""

from __future__ import annotations

import json
import re
import shlex
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import testinfra
from conftest import ROOT, VPN
from rdp_client import (
    BACKGROUND,
    PASSWORD,
    broker,
    desktop_address,
    end_sessions,
    group_hosts,
    install_rdp_client,
    probe,
    session_host,
)

from lab.state import LabState
from tests.support.hosts import get_host
from tests.support.polling import wait_for
from tests.support.vpn_client import Session

ARTIFACTS = ROOT / "artifacts" / "remote_desktop" / "lab"
TEST_USERS = ["sato.taro", "suzuki.hanako", "takahashi.ken"]
LOG_SERVER = "log1"


@pytest.fixture(scope="module")
def desks(site: LabState) -> Iterator[list[str]]:
    """The session hosts (server-side checks); the test users' sessions are ended afterwards."""
    names = group_hosts(site, "remote_desktop")
    if "rdp1" not in names:
        pytest.fail("the lab site has no rdp1")
    yield names
    end_sessions(site, TEST_USERS)


@pytest.fixture(scope="module")
def tunnel(site: LabState) -> Iterator[Session]:
    """sato.taro's tunnel from home1 through vpn1, with the RDP test client installed on home1."""
    host = install_rdp_client()
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
    """The address staff connect to: the session broker's."""
    return desktop_address(site, broker(site))


def now(host: testinfra.host.Host) -> str:
    return host.run("date '+%Y-%m-%d %H:%M:%S'").stdout.strip()


@pytest.fixture(scope="module")
def sato(site: LabState, desks: list[str], pc: testinfra.host.Host, address: str) -> Iterator[dict[str, Any]]:
    end_sessions(site, ["sato.taro"])
    probe(pc, "start", "lab-sato", "--host", address, "--user", "sato.taro", "--password", PASSWORD)
    _, result = probe(pc, "wait-desktop", "lab-sato", "--timeout", "120", "--color", BACKGROUND)
    host = session_host(site, "sato.taro")
    assert host in desks, f"sato.taro's session is on {host}"
    rdp = get_host(host)
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
    yield {**result, "host": host}
    probe(pc, "stop", "lab-sato")


def test_tw04_staff_pc_through_the_vpn_gets_a_desktop(sato: dict[str, Any], pc: testinfra.host.Host) -> None:
    assert sato.get("desktop"), sato
    _, st = probe(pc, "stats", "/tmp/lab-sato.png", "--color", BACKGROUND)
    assert st["dark_share"] < 0.5 and st["stddev"] > 20 and st["color_share"] > 0.3, st


def test_tw10_watermark_on_the_site_names_user_and_host(sato: dict[str, Any], pc: testinfra.host.Host) -> None:
    assert probe(pc, "ocr", "/tmp/lab-sato.png", "--expect", "sato.taro", "--angle", "-25")[0] == 0
    assert probe(pc, "ocr", "/tmp/lab-sato.png", "--expect", sato["host"], "--angle", "-25")[0] == 0


FILE_SERVER = "10.231.35.10"  # fs1's office-zone address (inventories/lab/group_vars/remote_desktop.yml)


def test_tw13_the_session_opens_the_users_shares_with_the_login_password_and_saves_there(
    site: LabState, sato: dict[str, Any]
) -> None:
    """The desktops' own client path: at login the session mounts (GVfs) the shares fs1 lists for the
    user, with the password typed at the RDP login and no second one; a document saved through the
    session's mount is on fs1, and the write is on the log server with the desktop as its client."""
    desk, fs1 = get_host(sato["host"]), get_host("fs1")
    desk_address = desktop_address(site, sato["host"])

    def sessions() -> list[dict[str, Any]]:
        status = json.loads(fs1.check_output("sudo /usr/local/sbin/file-server-passdb status"))
        return [c for c in status["connections"] if c["user"] == "sato.taro"]

    held = wait_for(lambda: [c for c in sessions() if "somu" in c["shares"]], 60, step=2)
    assert held, f"fs1 holds no share of sato.taro's session: {sessions()}"
    bookmarks = desk.file("/home/sato.taro/.config/gtk-3.0/bookmarks").content_string
    assert f"smb://{FILE_SERVER}/somu/ 総務課" in bookmarks, bookmarks
    assert f"smb://{FILE_SERVER}/zaimu/" not in bookmarks, bookmarks  # another department's share
    # Save through the session's own mount: the gio client on the session's D-Bus, as sato.taro.
    session_pid = desk.check_output("pgrep -u sato.taro -x xfce4-session | head -1")
    bus = desk.check_output(f"sudo cat /proc/{session_pid}/environ | tr '\\0' '\\n' | grep ^DBUS_SESSION_BUS_ADDRESS=")
    name = f"e2e-gvfs-{uuid.uuid4().hex[:10]}.txt"
    saved = desk.run(
        f"echo 'saved in the session' | sudo -u sato.taro env {shlex.quote(bus)} gio save smb://{FILE_SERVER}/somu/{name}"
    )
    assert saved.rc == 0, saved.stderr
    assert fs1.file(f"/srv/shares/somu/{name}").content_string == "saved in the session\n"
    pattern = shlex.quote(name[0] + "[" + name[1] + "]" + name[2:])  # the grep does not match its own command line
    line = wait_for(
        lambda: get_host(LOG_SERVER).run(f"sudo grep -rh -- {pattern} /var/log/remote/fs1/").stdout, 60, step=1
    )
    assert f"smbd_audit: sato.taro|{desk_address}|somu|openat|ok|w|/srv/shares/somu/{name}" in line, line


def test_tw09_site_login_reaches_the_log_server_with_user_and_source(sato: dict[str, Any], address: str) -> None:
    # the source a desktop host sees is the broker (whose own line names the client)
    wanted = f"event=login result=success user=sato.taro src={address}"
    stored = ""
    for _ in range(30):  # forwarded within seconds (RELP over TLS, log_forwarding)
        stored = get_host(LOG_SERVER).run(f"sudo grep -rhF -- '{wanted}' /var/log/remote/{sato['host']}/").stdout
        if stored:
            break
        time.sleep(1)
    assert wanted in stored and "rdp-audit" in stored, stored


def test_tw01_tw02_site_refuses_drive_and_clipboard(
    site: LabState, desks: list[str], pc: testinfra.host.Host, address: str
) -> None:
    end_sessions(site, ["suzuki.hanako"])
    extra = ["--drive", "/tmp/lab-share", "--clipboard", "--printer"]
    probe(pc, "start", "lab-greedy", "--host", address, "--user", "suzuki.hanako", "--password", PASSWORD, *extra)
    try:
        _, result = probe(pc, "wait-desktop", "lab-greedy", "--timeout", "120", "--color", BACKGROUND)
        assert result.get("desktop"), result
        host = session_host(site, "suzuki.hanako")
        assert host in desks, f"suzuki.hanako's session is on {host}"
        rdp = get_host(host)
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
    sato: dict[str, Any], desks: list[str], pc: testinfra.host.Host, address: str
) -> None:
    # Positive control: the same client, address and password gave sato.taro a desktop.
    assert sato.get("desktop"), sato
    since = {d: now(get_host(d)) for d in desks}
    probe(pc, "start", "lab-denied", "--host", address, "--user", "ito.jiro", "--password", PASSWORD)
    _, result = probe(pc, "wait-desktop", "lab-denied", "--timeout", "15", "--color", BACKGROUND)
    probe(pc, "stop", "lab-denied")
    assert not result.get("desktop"), result
    lines = "".join(
        get_host(d).run(f"sudo journalctl -t rdp-audit --since '{since[d]}' --no-pager -o cat").stdout for d in desks
    )
    assert f"event=login result=failure user=ito.jiro src={address}" in lines, lines
