"""A real OpenVPN client on a staff PC, one-time codes, and the gateway's log.

One helper for the Molecule scenario (vpn_gateway: homepc1 and vpngw1) and the lab site (home1
and vpn1): a `VpnSite` names the staff PC, the gateway and where the vpn_gateway role wrote the
profiles and secrets on the controller. Codes come from `oathtool --totp -b SECRET` on the staff
PC, as a phone would show them. pam_oath refuses a code twice (replay), so `fresh_code()` waits
for the next 30-second step when the current one was already used for that user.
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from testinfra.host import Host

from tests.support.hosts import get_host

READY = "Initialization Sequence Completed"
SERVER_UNIT = "openvpn-server@telework"

# The last 30-second step whose code was used, per user (a code is refused the second time).
_used_step: dict[str, int] = {}


@dataclass
class Session:
    """A client running in the background (the transient systemd unit vpntest-NAME on the staff PC)."""

    client: str
    name: str
    directory: str

    @property
    def unit(self) -> str:
        return f"vpntest-{self.name}"

    def log(self) -> str:
        return get_host(self.client).run(f"sudo cat {self.directory}/client.log").stdout

    def tunnel_address(self) -> str:
        m = re.search(r"net_addr_v4_add: (\d+\.\d+\.\d+\.\d+)/", self.log())
        assert m, self.log()
        return m.group(1)

    def running(self) -> bool:
        return get_host(self.client).run(f"systemctl is-active {self.unit}").stdout.strip() == "active"

    def stop(self) -> None:
        get_host(self.client).run(f"sudo systemctl stop {self.unit}")
        # explicit-exit-notify tells the server, which closes the instance a few seconds later.
        time.sleep(1)


@dataclass(frozen=True)
class VpnSite:
    """The staff PC, the gateway and the controller's copy of the profiles of one site."""

    client: str  # the staff PC the OpenVPN client runs on
    gateway: str
    profiles: Path  # vpn_gateway_profiles_dir on the controller
    site_name: str  # profiles are named SITE-USER[-DEVICE].ovpn

    def client_host(self) -> Host:
        return get_host(self.client)

    def gateway_host(self) -> Host:
        return get_host(self.gateway)

    # --- what the role wrote on the controller -------------------------------------------------

    def secret(self, user: str) -> str:
        return (self.profiles / "secrets" / "totp" / f"{user}.b32").read_text().strip()

    def profile(self, user: str, device: str = "") -> str:
        name = f"{self.site_name}-{user}" + (f"-{device}" if device else "") + ".ovpn"
        return (self.profiles / "users" / user / name).read_text()

    # --- one-time codes ------------------------------------------------------------------------

    def fresh_code(self, user: str, secret_b32: str | None = None) -> str:
        """A code of a 30-second step later than any used before for this user.

        The gateway (pam_oath, window 1 by default) accepts the codes of the steps before, of and
        after now, and refuses any step not later than the last it accepted (a replay). So when this
        step is used up the next one serves at once; only a third code within one step waits.
        secret_b32: the user's secret as it was (for a user whose secret the gateway has removed).
        """
        now_step = int(time.time()) // 30
        target = max(now_step, _used_step.get(user, -1) + 1)
        if target > now_step + 1:
            time.sleep((target - 1) * 30 - time.time() + 1)
        _used_step[user] = target
        key = secret_b32 if secret_b32 is not None else self.secret(user)
        at = target * 30 + 15  # the middle of the step
        return self.client_host().check_output(f"oathtool --totp -b {shlex.quote(key)} --now @{at}").strip()

    def wrong_code(self, user: str) -> str:
        """Six digits that are neither the user's code now nor one of the accepted window."""
        valid = {
            self.client_host()
            .check_output(f"oathtool --totp -b {shlex.quote(self.secret(user))} --now {shlex.quote(w)}")
            .strip()
            for w in ("now", "-30 seconds", "+30 seconds")
        }
        return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)

    # --- the client ----------------------------------------------------------------------------

    def install_client_tools(self, *extra: str) -> None:
        """OpenVPN, oathtool and any extra packages on the staff PC (through the package proxy)."""
        host = self.client_host()
        wanted = ["openvpn", "oathtool", *extra]
        missing = [p for p in wanted if host.run(f"dpkg-query -W -f '${{Status}}' {p} | grep -q 'ok installed'").rc]
        if missing:
            proc = host.run(
                "sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive "
                f"apt-get install -y -q --no-install-recommends {' '.join(missing)}"
            )
            assert proc.rc == 0, proc.stderr

    def stage(self, name: str, profile_text: str, user: str, code: str) -> str:
        """Put a profile and its user name + code on the staff PC; return the directory."""
        host = self.client_host()
        d = f"/root/vpntest/{name}"
        host.run(f"sudo rm -rf {d} && sudo install -d -m 0700 {d}")
        for fname, content in (("p.ovpn", profile_text), ("auth", f"{user}\n{code}\n")):
            proc = host.run(f"sudo tee {d}/{fname} > /dev/null <<'EOF_VPNTEST'\n{content}\nEOF_VPNTEST")
            assert proc.rc == 0, proc.stderr
        return d

    def attempt(self, name: str, profile_text: str, user: str, code: str, *extra: str, seconds: int = 20) -> str:
        """Run the client in the foreground until it gives up (or the time is over); return its log."""
        d = self.stage(name, profile_text, user, code)
        args = " ".join(shlex.quote(a) for a in extra)
        cmd = (
            f"sudo timeout {seconds} openvpn --config {d}/p.ovpn --auth-user-pass {d}/auth --auth-retry none "
            f"--connect-retry-max 1 --hand-window 10 --verb 3 {args} 2>&1; true"
        )
        out: str = self.client_host().run(cmd).stdout
        assert "OpenVPN" in out, f"the client did not run:\n{out[-2000:]}"
        return out

    def start(self, name: str, profile_text: str, user: str, code: str, *extra: str, timeout: float = 25) -> Session:
        """Start the client in the background and wait for the tunnel; fails with the client log."""
        d = self.stage(name, profile_text, user, code)
        host = self.client_host()
        unit = f"vpntest-{name}"
        host.run(f"sudo systemctl stop {unit}; sudo systemctl reset-failed {unit}")
        proc = host.run(
            f"sudo systemd-run --unit {unit} --collect openvpn --config {d}/p.ovpn --auth-user-pass {d}/auth "
            f"--auth-retry none --connect-retry-max 1 --verb 3 --log {d}/client.log "
            + " ".join(shlex.quote(a) for a in extra)
        )
        assert proc.rc == 0, proc.stderr
        session = Session(self.client, name, d)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY in session.log():
                return session
            time.sleep(0.5)
        log = session.log()
        session.stop()
        raise AssertionError(f"the client did not connect in {timeout} s:\n{log[-3000:]}")

    def connect(self, user: str, name: str, device: str = "") -> Session:
        """`user` connected with their own profile and a fresh code, as session `name`."""
        return self.start(name, self.profile(user, device), user, self.fresh_code(user))

    # --- the gateway ---------------------------------------------------------------------------

    def server_log(self, since: float) -> str:
        """The OpenVPN server's and the role's scripts' journal lines since a time. The scripts log
        with the tag vpn-session: journald may not tie a short-lived process to the unit, so both
        are read."""
        cmd = "sudo journalctl --since @{} --no-pager -o cat {}"
        since_s = int(since) - 1
        gateway = self.gateway_host()
        return "".join(
            gateway.run(cmd.format(since_s, match)).stdout for match in (f"-u {SERVER_UNIT}", "-t vpn-session")
        )


def with_certificate(profile_text: str, cert_pem: str, key_pem: str) -> str:
    """The profile with its <cert> and <key> blocks replaced."""
    text = re.sub(r"<cert>.*?</cert>", lambda _: f"<cert>\n{cert_pem}</cert>", profile_text, flags=re.S)
    return re.sub(r"<key>.*?</key>", lambda _: f"<key>\n{key_pem}</key>", text, flags=re.S)
