"""The session broker of the lab site (brk1), with real clients, the way staff connect.

home1 (a staff PC in the home zone) opens the VPN to vpn1 with a certificate and a one-time code,
then FreeRDP logs in through the tunnel to the broker brk1, which sends each user to rdp1 or rdp2.
Every RDP connection of these tests comes from the same tunnel address, as they do behind AWS Client
VPN's address translation: only the user name in the connection can keep users apart. Where a user
landed is read on the desktop hosts (the user's X server), the session's state in the session
itself (a program the user started, the display), and the broker's log on the log server log1.

Run on a converged site (`make lab`), as root:  .venv/bin/python -m pytest -q tests/lab/test_broker.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import testinfra
from conftest import INVENTORY, ROOT, VPN
from rdp_client import (
    BACKGROUND,
    PASSWORD,
    broker,
    broker_connections,
    broker_runtime,
    desktop_address,
    end_sessions,
    group_hosts,
    install_rdp_client,
    probe,
    session_display,
    session_host,
)

from lab.state import LabState
from tests.support.hosts import get_host
from tests.support.vpn_client import Session

USERS = ["sato.taro", "suzuki.hanako", "takahashi.ken"]  # the active teleworkers of the lab's staff list
LOG_SERVER = "log1"
ARTIFACTS = ROOT / "artifacts" / "rdp_broker" / "lab"


@pytest.fixture(scope="module")
def tunnel(site: LabState) -> Iterator[Session]:
    """sato.taro's tunnel from home1 through vpn1 (one tunnel for every test user), with the RDP client."""
    host = install_rdp_client()
    session = VPN.connect("sato.taro", "broker")
    yield session
    host.run('for d in /run/rdp-probe/brk-*; do [ -d "$d" ] && sudo rdp_probe stop "$(basename $d)"; done; true')
    session.stop()


@pytest.fixture(scope="module")
def pc(tunnel: Session) -> testinfra.host.Host:
    """home1, the staff PC the RDP client runs on."""
    return get_host(VPN.client)


@pytest.fixture(scope="module")
def entry(site: LabState) -> str:
    """The address staff connect to: the broker's."""
    return desktop_address(site, broker(site))


@pytest.fixture(scope="module")
def clean(site: LabState, pc: testinfra.host.Host) -> Iterator[None]:
    """No session of the test users anywhere, an empty stick table, no desktop host drained."""
    end_sessions(site, USERS)
    broker_runtime(site, "clear table desktops")
    yield
    pc.run('for d in /run/rdp-probe/brk-*; do [ -d "$d" ] && sudo rdp_probe stop "$(basename $d)"; done; true')
    end_sessions(site, USERS)


def login(site: LabState, pc: testinfra.host.Host, entry: str, user: str) -> str:
    """Log user in through the broker until the desktop is drawn; the desktop host they landed on."""
    probe(pc, "start", f"brk-{user}", "--host", entry, "--user", user, "--password", PASSWORD)
    rc, result = probe(pc, "wait-desktop", f"brk-{user}", "--timeout", "120", "--color", BACKGROUND)
    assert rc == 0 and result.get("desktop"), result
    deadline = time.monotonic() + 20
    while (host := session_host(site, user)) is None and time.monotonic() < deadline:
        time.sleep(1)
    assert host, f"no session of {user} on any desktop host"
    return host


def disconnect(pc: testinfra.host.Host, user: str) -> None:
    probe(pc, "stop", f"brk-{user}")


def drain(*hosts: str) -> subprocess.CompletedProcess[str]:
    """What an operator does: list hosts in rdp_broker_drain and run the broker's play."""
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(INVENTORY), "ansible/site.yml"]
    argv += ["--tags", "rdp_broker", "--extra-vars", json.dumps({"rdp_broker_drain": list(hosts)})]
    env = {**os.environ, "ANSIBLE_CONFIG": os.environ.get("ANSIBLE_CONFIG", str(ROOT / "ansible" / "ansible.cfg"))}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1500:]
    return proc


def weight(site: LabState, desk: str) -> str:
    for line in broker_runtime(site, "show servers state desktops").splitlines():
        fields = line.split()
        if len(fields) > 8 and fields[3] == desk:
            return fields[7]
    raise AssertionError(f"{desk} is not a server of the broker")


def test_tw11_two_users_log_in_through_the_broker_and_land_on_hosts_by_load(
    site: LabState, pc: testinfra.host.Host, entry: str, clean: None
) -> None:
    first = login(site, pc, entry, "sato.taro")
    second = login(site, pc, entry, "suzuki.hanako")
    assert {first, second} == set(group_hosts(site, "remote_desktop")), (first, second)


def test_tw07_a_user_who_disconnects_comes_back_to_the_same_session(
    site: LabState, pc: testinfra.host.Host, entry: str, clean: None
) -> None:
    host = session_host(site, "sato.taro") or login(site, pc, entry, "sato.taro")
    display, xorg = session_display(host, "sato.taro")
    desk = get_host(host)
    # the user opens a document in their session
    desk.check_output(
        f"sudo -u sato.taro sh -c 'echo 報告書 > ~/broker-note.txt'; "
        f"sudo -u sato.taro env DISPLAY={display} XAUTHORITY=/home/sato.taro/.Xauthority "
        "setsid -f mousepad /home/sato.taro/broker-note.txt > /dev/null 2>&1"
    )
    time.sleep(3)
    editor = desk.check_output("pgrep -u sato.taro -f 'mousepad /home/sato.taro/broker-note.txt'").split()[0]
    disconnect(pc, "sato.taro")
    time.sleep(3)
    assert desk.run(f"test -d /proc/{editor}").rc == 0, "the document's editor ended with the disconnect"
    since = desk.check_output("date '+%Y-%m-%d %H:%M:%S'")
    # the user connects again, to the broker's address: back on the same host, in the same session
    assert login(site, pc, entry, "sato.taro") == host
    assert session_display(host, "sato.taro") == (display, xorg)
    assert desk.run(f"test -d /proc/{editor}").rc == 0
    environ = desk.check_output(f"sudo tr '\\0' '\\n' < /proc/{editor}/environ")
    assert f"DISPLAY={display}" in environ.split()
    probe(pc, "shot", "brk-sato.taro", "/tmp/brk-sato-back.png")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "reconnected-sato.taro.png").write_bytes(pc.file("/tmp/brk-sato-back.png").content)
    # and the user sees it: the document's window is on the screen they got back
    assert probe(pc, "ocr", "/tmp/brk-sato-back.png", "--expect", "broker-note", "--angle", "0")[0] == 0
    audit = desk.check_output(f"sudo journalctl -t rdp-audit --since '{since}' --no-pager -o cat")
    assert "event=session user=sato.taro" in audit and "kind=reconnect" in audit, audit


def test_tw11_a_drained_host_takes_no_new_user_while_its_user_keeps_working(
    site: LabState, pc: testinfra.host.Host, entry: str, clean: None
) -> None:
    desks = group_hosts(site, "remote_desktop")
    assert desks == ["rdp1", "rdp2"]
    on = {u: session_host(site, u) or login(site, pc, entry, u) for u in ("sato.taro", "suzuki.hanako")}
    worker = next(u for u, h in on.items() if h == "rdp1")  # the drained host's user
    display, xorg = session_display("rdp1", worker)
    kept = broker_connections(site, "rdp1")
    assert kept, "no connection from the broker on rdp1"
    try:
        proc = drain("rdp1")
        assert weight(site, "rdp1") == "0" and weight(site, "rdp2") != "0"
        # the weight went in through the runtime API: no reload, so the broker still counts rdp1's
        # connections, and nothing was cut (the same connections, the same session, a live client)
        assert "RUNNING HANDLER [rdp_broker : Reload haproxy]" not in proc.stdout, proc.stdout[-3000:]
        assert kept <= broker_connections(site, "rdp1")
        assert probe(pc, "alive", f"brk-{worker}")[0] == 0
        # one more connection on rdp2 (a login screen, no user): rdp1 now has the fewest connections,
        # so without the drain the next new user would go there
        before = broker_connections(site, "rdp2")
        probe(pc, "banner", "brk-load", "--host", entry)
        time.sleep(5)
        assert broker_connections(site, "rdp2") - before, "the login-screen connection did not go to rdp2"
        assert login(site, pc, entry, "takahashi.ken") == "rdp2"
        # the drained host's user keeps working: the screen still comes and the session is the same
        probe(pc, "shot", f"brk-{worker}", "/tmp/brk-worker.png")
        _, st = probe(pc, "stats", "/tmp/brk-worker.png", "--color", BACKGROUND)
        assert st["color_share"] > 0.3, st
        assert session_display("rdp1", worker) == (display, xorg)
        # and after a disconnect the drained host's user is still sent back to it
        disconnect(pc, worker)
        time.sleep(2)
        assert login(site, pc, entry, worker) == "rdp1"
    finally:
        probe(pc, "stop", "brk-load")
        drain()
    assert weight(site, "rdp1") != "0"


def test_tw09_the_brokers_connection_lines_reach_the_log_server(
    site: LabState, tunnel: Session, pc: testinfra.host.Host, entry: str, clean: None
) -> None:
    source = tunnel.tunnel_address()
    if session_host(site, "suzuki.hanako") is None:
        login(site, pc, entry, "suzuki.hanako")
    desk = session_host(site, "suzuki.hanako")
    disconnect(pc, "suzuki.hanako")  # the broker writes its line when the connection ends
    wanted = f'TW-09 rdp-broker event=connection user="suzuki.hanako" client={source}:'
    stored = ""
    for _ in range(30):
        stored = get_host(LOG_SERVER).run(f"sudo grep -rhF -- '{wanted}' /var/log/remote/{broker(site)}/").stdout
        if f"host={desk} " in stored:
            break
        time.sleep(1)
    assert wanted in stored and f"host={desk} " in stored, stored
    line = [x for x in stored.splitlines() if f"host={desk} " in x][-1]
    assert " bytes_to_client=" in line and " duration_ms=" in line and "haproxy" in line, line
