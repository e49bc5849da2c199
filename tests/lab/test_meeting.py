"""Web meetings on the lab site: a teleworker at home through the VPN and a colleague in the office.

meet1 (edge zone, Debian 12) runs the web_meeting role. Each side runs a real browser: headless
Chromium driven by Selenium (Debian's packages) through the Molecule scenario's probe
(molecule/web_meeting/tests/meeting_probe.py), on home1 connected through vpn1 as sato.taro and on
pc1, an office PC, as tanaka.yui; both join the General Affairs room and each must receive the
other's video and audio (WebRTC's own statistics). The join lines must reach the log server
(TW-09); the home PC without the VPN must not reach the meeting host at all (TW-11). Run after
`make lab`:

    .venv/bin/python -m pytest -q tests/lab/test_meeting.py
"""

from __future__ import annotations

import json
import shlex
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import VPN
from testinfra.host import Host

from lab.state import LabState
from tests.support.hosts import ROOT, get_host
from tests.support.polling import wait_for

MEET = "10.231.32.20"  # meet1's edge-zone address (inventories/lab/hosts.yml)
DOMAIN = "meet.lab.test"  # inventories/lab/group_vars/web_meeting.yml
URL = f"https://{DOMAIN}/"
PASSWORD = "Tw-Lab-Passw0rd!"
TELEWORKER, COLLEAGUE = "sato.taro", "tanaka.yui"  # both General Affairs (somu)
PROBE = ROOT / "molecule" / "web_meeting" / "tests" / "meeting_probe.py"
ARTIFACTS = ROOT / "artifacts" / "web-meeting" / "lab"

REACH = (
    "import socket,sys\ntry:\n socket.create_connection((sys.argv[1], int(sys.argv[2])), 5); print('open')\n"
    "except OSError: print('closed')"
)


def with_browser(name: str) -> Host:
    """The host with Chromium, its driver, Selenium, the site CA in Chromium's trust and the probe."""
    host = get_host(name)
    # the home PC is not managed (no baseline): its package lists may never have been read
    installed = host.run(
        "sudo apt-get update -q >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q"
        " --no-install-recommends chromium chromium-driver python3-selenium libnss3-tools fonts-ipafont-gothic"
    )
    assert installed.rc == 0, installed.stderr[-2000:]
    ca = get_host("meet1").file("/etc/telework-meeting/tls/ca.pem").content_string
    host.run_test(
        f"sudo install -d -m 0700 /etc/meeting-probe && printf %s {shlex.quote(ca)} | sudo tee /etc/meeting-probe/ca.pem"
    )
    host.run_test(f"umask 077; printf %s {shlex.quote(PASSWORD)} | sudo tee /etc/meeting-probe/password >/dev/null")
    host.run_test(
        "sudo mkdir -p /root/.pki/nssdb && (sudo test -f /root/.pki/nssdb/cert9.db"
        " || sudo certutil -d sql:/root/.pki/nssdb -N --empty-password </dev/null)"
    )
    host.run_test(
        "sudo certutil -d sql:/root/.pki/nssdb -A -t C,, -n telework-site-ca -i /etc/meeting-probe/ca.pem </dev/null"
    )
    host.run_test(f"printf %s {shlex.quote(PROBE.read_text())} | sudo tee /usr/local/bin/meeting-probe >/dev/null")
    host.run_test("sudo chmod 0755 /usr/local/bin/meeting-probe")
    host.run_test(f"grep -q {DOMAIN} /etc/hosts || echo '{MEET} {DOMAIN}' | sudo tee -a /etc/hosts >/dev/null")
    return host


@pytest.fixture(scope="module")
def office_pc(site: LabState) -> Host:
    return with_browser("pc1")


@pytest.fixture(scope="module")
def home_pc(site: LabState) -> Iterator[Host]:
    """home1 with a browser, connected through vpn1 as the teleworker."""
    VPN.install_client_tools()
    host = with_browser(VPN.client)
    session = VPN.connect(TELEWORKER, "meeting")
    yield host
    session.stop()


def held(host: Host, out: str) -> list[dict[str, Any]]:
    text = host.run(f"sudo cat {out} 2>/dev/null").stdout
    return [json.loads(x) for x in text.splitlines() if x.startswith("{")]


def receiving(lines: list[dict[str, Any]]) -> bool:
    """The last state line shows the other side's video decoded and audio received."""
    if not lines or "stats" not in lines[-1]:
        return False
    s = lines[-1]["stats"]
    return bool(s.get("feeds", 0) >= 1 and s["video"]["framesDecoded"] >= 30 and s["audio"]["packetsReceived"] >= 50)


def test_tw11_the_home_pc_without_the_vpn_reaches_no_meeting(office_pc: Host) -> None:
    # positive control: the office PC reaches the meeting page (the listener is up)
    assert office_pc.check_output(f"python3 -c {shlex.quote(REACH)} {MEET} 443") == "open"
    home = get_host(VPN.client)
    for port in (443, 3478):
        assert home.check_output(f"python3 -c {shlex.quote(REACH)} {MEET} {port}") == "closed", port


def test_tw08_a_teleworker_at_home_and_a_colleague_in_the_office_see_and_hear_each_other(
    home_pc: Host, office_pc: Host
) -> None:
    tag = uuid.uuid4().hex[:8]
    out_home, out_office = f"/tmp/meet-home-{tag}.jsonl", f"/tmp/meet-office-{tag}.jsonl"
    for host, user, out in ((home_pc, TELEWORKER, out_home), (office_pc, COLLEAGUE, out_office)):
        host.run(
            f"sudo nohup meeting-probe hold --url {URL} --room somu --user {user} --out {out} --seconds 150"
            " >/dev/null 2>&1 &"
        )
    try:
        both = wait_for(lambda: receiving(held(home_pc, out_home)) and receiving(held(office_pc, out_office)), 120, 2)
        assert both, (held(home_pc, out_home)[-2:], held(office_pc, out_office)[-2:])
        home_state, office_state = held(home_pc, out_home)[-1]["state"], held(office_pc, out_office)[-1]["state"]
        assert list(home_state["feeds"].values()) == ["田中 結衣"], home_state
        assert list(office_state["feeds"].values()) == ["佐藤 太郎"], office_state
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "stats.json").write_text(
            json.dumps({"home1": held(home_pc, out_home)[-1], "pc1": held(office_pc, out_office)[-1]}, indent=2)
        )
    finally:
        for host in (home_pc, office_pc):
            host.run("sudo pkill -TERM -f '[m]eeting-probe hold'; true")
    # TW-09: the joins reach the log server, with the teleworker's tunnel address as the source
    command = "sudo grep -rhF -- 'event=join result=success user=' /var/log/remote/meet1/"
    lines = wait_for(lambda: (out := get_host("log1").run(command).stdout) and TELEWORKER in out and out, 60, 2)
    assert f"user={TELEWORKER} room=somu src=10.231.40." in lines, lines
    assert f"user={COLLEAGUE} room=somu src=10.231.35.20" in lines, lines
