"""Staff RDP logins on the lab site, as staff make them: from home1 through vpn1 to the broker.

Shared by the remote-desktop and broker tests. The client is FreeRDP under Xvfb (the probe of the
remote_desktop Molecule scenario, copied to home1 with its test-only packages). Staff connect to the
session broker (group rdp_broker), which sends each user to a desktop host (group remote_desktop):
where a user landed is read on the desktop hosts themselves (their X server, the connection from
the broker), not from the broker's view.
"""

from __future__ import annotations

import json
import time
from typing import Any

import testinfra
from conftest import ROOT, VPN

from lab.state import LabState
from tests.support.hosts import get_host
from tests.support.rdp import connections_from

PROBE = ROOT / "molecule" / "remote_desktop" / "files" / "rdp_probe.py"
PASSWORD = "Tw-Lab-Passw0rd!"  # lab-only, inventories/lab/group_vars/all/staff_passwords.yml
BACKGROUND = "28,59,94"  # remote_desktop_background_color of the role, in 0-255
BROKER_SOCKET = "/run/haproxy/admin.sock"


def group_hosts(site: LabState, group: str) -> list[str]:
    return sorted(name for name, hs in site.hosts.items() if group in hs.groups)


def desktop_address(site: LabState, name: str) -> str:
    return site.hosts[name].interfaces["desktop"].split("/")[0]


def broker(site: LabState) -> str:
    brokers = group_hosts(site, "rdp_broker")
    assert brokers, "the lab has no session broker (group rdp_broker)"
    return brokers[0]


def install_rdp_client() -> testinfra.host.Host:
    """FreeRDP, Xvfb, OCR and image tools and the probe on the staff PC."""
    host = get_host(VPN.client)
    release = host.run(". /etc/os-release; echo $VERSION_ID").stdout.strip()
    freerdp = "freerdp3-x11" if release == "13" else "freerdp2-x11"
    VPN.install_client_tools(
        freerdp, "xvfb", "xauth", "xclip", "imagemagick", "tesseract-ocr", "tesseract-ocr-eng", "python3-pil"
    )
    host.ansible("copy", f"src={PROBE} dest=/usr/local/bin/rdp_probe mode=0755", check=False, become=True)
    return host


def probe(host: testinfra.host.Host, *args: str) -> tuple[int, dict[str, Any]]:
    out = host.run("sudo rdp_probe " + " ".join(f"'{a}'" for a in args))
    lines = out.stdout.strip().splitlines()
    try:
        return out.rc, json.loads(lines[-1]) if lines else {}
    except ValueError:
        return out.rc, {"raw": out.stdout}


def session_host(site: LabState, user: str) -> str | None:
    """The desktop host where user's session (its X server) runs."""
    found = [h for h in group_hosts(site, "remote_desktop") if get_host(h).run(f"pgrep -u {user} Xorg").rc == 0]
    assert len(found) <= 1, f"{user} has sessions on {found}"
    return found[0] if found else None


def session_display(host: str, user: str) -> tuple[str, str]:
    """(display, X server PID) of user's session on host."""
    out = get_host(host).check_output(f"pgrep -u {user} -a Xorg")
    pid, _, argv = out.splitlines()[0].partition(" ")
    display = next(a for a in argv.split() if a.startswith(":"))
    return display, pid


def end_sessions(site: LabState, users: list[str]) -> None:
    for desk in group_hosts(site, "remote_desktop"):
        for user in users:
            get_host(desk).run(
                f"sudo loginctl terminate-user {user} 2>/dev/null; sudo faillock --user {user} --reset 2>/dev/null"
            )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(session_host(site, u) for u in users):
        time.sleep(1)


def broker_runtime(site: LabState, command: str) -> str:
    return get_host(broker(site)).check_output(f"echo '{command}' | sudo socat stdio {BROKER_SOCKET}")


def broker_connections(site: LabState, desk: str) -> set[str]:
    """Source ports of the established connections from the broker to desk's RDP port."""
    return connections_from(get_host(desk), desktop_address(site, broker(site)), 3389)
