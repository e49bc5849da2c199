"""A real OpenVPN client on the staff PC (homepc1) of the scenario, and one-time codes.

Codes come from `oathtool --totp -b SECRET` on the staff PC, as a phone would show them. pam_oath
refuses a code twice (replay), so `fresh_code()` waits for the next 30-second step when the
current one was already used for that user.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROFILES = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "vpn-profiles"
GATEWAY, CLIENT, DESK, OFFICE = "vpngw1", "homepc1", "desk1", "office1"
GATEWAY_HOME, DESK_ADDR, OFFICE_ADDR, GATEWAY_TUNNEL = "10.231.48.10", "10.231.33.10", "10.231.35.10", "10.231.40.1"
UNIT = "openvpn-server@telework"
READY = "Initialization Sequence Completed"

_used_step: dict[str, int] = {}


def get(name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def secret(user: str) -> str:
    return (PROFILES / "secrets" / "totp" / f"{user}.b32").read_text().strip()


def profile(user: str, device: str = "") -> str:
    name = f"molecule-{user}" + (f"-{device}" if device else "") + ".ovpn"
    return (PROFILES / "users" / user / name).read_text()


def fresh_code(user: str, b32: str | None = None) -> str:
    """A code of a time step not used before for this user."""
    step = int(time.time()) // 30
    if _used_step.get(user, -1) >= step:
        time.sleep(30 - time.time() % 30 + 1)
        step = int(time.time()) // 30
    _used_step[user] = step
    return get(CLIENT).check_output(f"oathtool --totp -b {shlex.quote(b32 or secret(user))}").strip()


def wrong_code(user: str) -> str:
    """Six digits that are not the user's code now nor in the accepted window."""
    host = get(CLIENT)
    valid = {
        host.check_output(f"oathtool --totp -b {shlex.quote(secret(user))} --now {shlex.quote(when)}").strip()
        for when in ("now", "-30 seconds", "+30 seconds")
    }
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def server_log(since: float) -> str:
    """The OpenVPN server's and the role's scripts' journal lines since a time. The scripts log with
    the tag vpn-session: journald may not tie a short-lived process to the unit, so both are read."""
    cmd = "sudo journalctl --since @{} --no-pager -o cat {}"
    since_s = int(since) - 1
    return "".join(get(GATEWAY).run(cmd.format(since_s, match)).stdout for match in (f"-u {UNIT}", "-t vpn-session"))


def _stage(name: str, profile_text: str, user: str, code: str) -> str:
    """Put the profile and the credentials on the staff PC; return the directory."""
    host = get(CLIENT)
    d = f"/root/vpntest/{name}"
    host.run(f"sudo rm -rf {d} && sudo install -d -m 0700 {d}")
    for fname, content in (("p.ovpn", profile_text), ("auth", f"{user}\n{code}\n")):
        proc = host.run(f"sudo tee {d}/{fname} > /dev/null <<'EOF_VPNTEST'\n{content}\nEOF_VPNTEST")
        assert proc.rc == 0, proc.stderr
    return d


def attempt(name: str, profile_text: str, user: str, code: str, *extra: str, seconds: int = 20) -> str:
    """Run the client in the foreground until it gives up (or the time is over); return its log."""
    d = _stage(name, profile_text, user, code)
    args = " ".join(shlex.quote(a) for a in extra)
    cmd = (
        f"sudo timeout {seconds} openvpn --config {d}/p.ovpn --auth-user-pass {d}/auth --auth-retry none "
        f"--connect-retry-max 1 --hand-window 10 --verb 3 {args} 2>&1; true"
    )
    return get(CLIENT).run(cmd).stdout


@dataclass
class Session:
    """A client running in the background (a transient systemd unit on the staff PC)."""

    name: str
    directory: str
    log_text: str = ""

    @property
    def unit(self) -> str:
        return f"vpntest-{self.name}"

    def log(self) -> str:
        return get(CLIENT).run(f"sudo cat {self.directory}/client.log").stdout

    def tunnel_address(self) -> str:
        m = re.search(r"net_addr_v4_add: (\d+\.\d+\.\d+\.\d+)/", self.log())
        assert m, self.log()
        return m.group(1)

    def running(self) -> bool:
        return get(CLIENT).run(f"systemctl is-active {self.unit}").stdout.strip() == "active"

    def stop(self) -> None:
        get(CLIENT).run(f"sudo systemctl stop {self.unit}")
        # explicit-exit-notify tells the server, which closes the instance a few seconds later.
        time.sleep(1)


def start(name: str, profile_text: str, user: str, code: str, *extra: str, timeout: float = 25) -> Session:
    """Start the client in the background and wait for the tunnel; fails with the client log."""
    d = _stage(name, profile_text, user, code)
    host = get(CLIENT)
    host.run(f"sudo systemctl stop vpntest-{name}; sudo systemctl reset-failed vpntest-{name}")
    proc = host.run(
        f"sudo systemd-run --unit vpntest-{name} --collect openvpn --config {d}/p.ovpn --auth-user-pass {d}/auth "
        f"--auth-retry none --connect-retry-max 1 --verb 3 --log {d}/client.log "
        + " ".join(shlex.quote(a) for a in extra)
    )
    assert proc.rc == 0, proc.stderr
    session = Session(name, d)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if READY in session.log():
            return session
        time.sleep(0.5)
    log = session.log()
    session.stop()
    raise AssertionError(f"the client did not connect in {timeout} s:\n{log[-3000:]}")


def reaches(src: str, addr: str, port: int, timeout: int = 3) -> bool:
    cmd = f"timeout {timeout} bash -c 'echo > /dev/tcp/{addr}/{port}' 2>/dev/null && echo open || echo closed"
    return get(src).run(cmd).stdout.strip() == "open"


def listen(name: str, port: int) -> None:
    """Something listening on port (python's http.server as a probe)."""
    h = get(name)
    if h.run(f"ss -Hltn 'sport = :{port}'").stdout.strip():
        return
    h.run(f"sudo systemd-run --unit probe-{port} --collect python3 -m http.server {port}")
    h.run(f"for i in $(seq 50); do ss -Hltn 'sport = :{port}' | grep -q . && break; sleep 0.1; done")
