"""A staff PC of the lab site (home1) with a real OpenVPN client: profiles and one-time codes.

Shared by the VPN tests and the remote-desktop tests, which reach rdp1 the way staff do: from
the home zone, through vpn1, with the user's certificate and a TOTP code. Profiles and secrets
are read from the controller, where the vpn_gateway role wrote them
(~/.local/share/telework-vpn/lab, operator only).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from conftest import SITE_NAME, lab_host

PROFILES = Path.home() / ".local/share/telework-vpn" / SITE_NAME
CLIENT, GATEWAY = "home1", "vpn1"
READY = "Initialization Sequence Completed"

_used_step: dict[str, int] = {}


def secret(user: str) -> str:
    return (PROFILES / "secrets" / "totp" / f"{user}.b32").read_text().strip()


def profile(user: str) -> str:
    return (PROFILES / "users" / user / f"{SITE_NAME}-{user}.ovpn").read_text()


def fresh_code(user: str, secret_b32: str | None = None) -> str:
    """A code of a 30-second step not used before for this user (codes are refused twice).

    secret_b32: the user's secret as it was (for a user whose secret the gateway has removed).
    """
    step = int(time.time()) // 30
    if _used_step.get(user, -1) >= step:
        time.sleep(30 - time.time() % 30 + 1)
        step = int(time.time()) // 30
    _used_step[user] = step
    key = secret_b32 if secret_b32 is not None else secret(user)
    return lab_host(CLIENT).check_output(f"oathtool --totp -b {shlex.quote(key)}").strip()


def stage(name: str, text: str, user: str, code: str) -> str:
    """Write a profile and its user name + code on the staff PC; returns the directory."""
    host = lab_host(CLIENT)
    d = f"/root/vpntest/{name}"
    host.run(f"sudo rm -rf {d} && sudo install -d -m 0700 {d}")
    for fname, content in (("p.ovpn", text), ("auth", f"{user}\n{code}\n")):
        assert host.run(f"sudo tee {d}/{fname} > /dev/null <<'EOF_VPNTEST'\n{content}\nEOF_VPNTEST").rc == 0
    return d


def install_client_tools(*extra: str) -> None:
    """OpenVPN, oathtool and any extra packages on the staff PC (through the lab's package proxy)."""
    host = lab_host(CLIENT)
    wanted = ["openvpn", "oathtool", *extra]
    missing = [p for p in wanted if host.run(f"dpkg-query -W -f '${{Status}}' {p} | grep -q 'ok installed'").rc]
    if missing:
        proc = host.run(
            "sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive "
            f"apt-get install -y -q --no-install-recommends {' '.join(missing)}"
        )
        assert proc.rc == 0, proc.stderr


def attempt(name: str, text: str, user: str, code: str) -> str:
    """One connection attempt from the staff PC with profile text, user and code; the client's output."""
    d = stage(name, text, user, code)
    cmd = (
        f"sudo timeout 20 openvpn --config {d}/p.ovpn --auth-user-pass {d}/auth --auth-retry none "
        "--connect-retry-max 1 --hand-window 10 --verb 3 2>&1; true"
    )
    return lab_host(CLIENT).run(cmd).stdout


def open_tunnel(user: str, unit: str) -> str:
    """Connect user from the staff PC as systemd unit `unit`; returns the client's log path."""
    d = stage(unit, profile(user), user, fresh_code(user))
    host = lab_host(CLIENT)
    host.run(f"sudo systemctl stop {unit}; sudo systemctl reset-failed {unit}")
    proc = host.run(
        f"sudo systemd-run --unit {unit} --collect openvpn --config {d}/p.ovpn --auth-user-pass {d}/auth "
        f"--auth-retry none --connect-retry-max 1 --verb 3 --log {d}/client.log"
    )
    assert proc.rc == 0, proc.stderr
    log = f"{d}/client.log"
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and READY not in host.run(f"sudo cat {log}").stdout:
        time.sleep(0.5)
    assert READY in host.run(f"sudo cat {log}").stdout, host.run(f"sudo tail -30 {log}").stdout
    return log


def close_tunnel(unit: str) -> None:
    lab_host(CLIENT).run(f"sudo systemctl stop {unit}")


def tunnel_address() -> str:
    """The staff PC's address in the tunnel pool (tun0)."""
    out = lab_host(CLIENT).check_output("ip -4 -o addr show dev tun0")
    return out.split()[3].split("/")[0]
