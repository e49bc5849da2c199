"""Benchmark of the VPN gateway (not a test): connect time and tunnel throughput.

    sudo .venv/bin/python benchmarks/vpn.py [--runs 5]                 # the Molecule scenario's lab
    sudo .venv/bin/python benchmarks/vpn.py --lab site --client home1 --gateway vpn1 --desktop rdp1 \\
        --desktop-addr 10.231.33.10 --users sato.taro,suzuki.hanako --profiles ~/.local/share/telework-vpn/lab

Needs a converged gateway: `MOLECULE_DISTRO=debian13 molecule converge -s vpn_gateway` (the
default target) or the lab site (`make lab`).

- connect time: from starting `openvpn` on the staff PC until it logs "Initialization Sequence
  Completed" (TLS handshake, certificate check, one-time code through PAM, push), median of --runs.
  Codes come from oathtool on the staff PC; a code is used once, so runs cycle through --users
  and wait for a new 30-second step when needed.
- throughput: iperf3 (TCP, --seconds) from the staff PC to the desktop host's port 3389 through
  the tunnel, against the same staff PC to the gateway's home address without the tunnel
  (for that one measurement a rule accepting tcp/5201 from the staff PC is inserted at the top
  of the gateway's table inet vpn_gateway and removed again). Printed as a ratio.

Commands run inside the lab hosts with nsenter (as `python -m lab exec` does). Writes
artifacts/bench-vpn.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.settings import load
from lab.state import load as load_state

ROOT = Path(__file__).resolve().parents[1]
READY = "Initialization Sequence Completed"


class Hosts:
    def __init__(self, lab: str) -> None:
        state = load_state(load(), lab)
        if state is None or not state.hosts:
            raise SystemExit(f"lab {lab} is not up (converge the vpn_gateway scenario or the site first)")
        self.leaders = {name: hs.leader_pid for name, hs in state.hosts.items()}

    def run(self, host: str, script: str, check: bool = True, timeout: float = 120) -> str:
        argv = ["nsenter", "-t", str(self.leaders[host]), "-a", "sh", "-c", script]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise SystemExit(f"{host}: `{script}` failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout


def default_profiles() -> Path:
    found = sorted((Path.home() / ".ansible/tmp").glob("molecule.*.vpn_gateway/vpn-profiles"))
    if not found:
        raise SystemExit("no profiles found: converge the vpn_gateway scenario or pass --profiles")
    return found[-1]


def profile_path(profiles: Path, user: str) -> Path:
    found = sorted((profiles / "users" / user).glob("*.ovpn"))
    if not found:
        raise SystemExit(f"no profile for {user} under {profiles}/users/{user}")
    return found[0]


class Codes:
    """One-time codes from oathtool on the staff PC; never the same step twice for a user."""

    def __init__(self, hosts: Hosts, client: str, profiles: Path) -> None:
        self.hosts, self.client, self.profiles = hosts, client, profiles
        # A code of the current step may have been used by an earlier run: start with the next step.
        self.used: dict[str, int] = {}
        self.start_step = int(time.time()) // 30

    def fresh(self, user: str) -> str:
        step = int(time.time()) // 30
        if max(self.used.get(user, -1), self.start_step) >= step:
            time.sleep(30 - time.time() % 30 + 1)
            step = int(time.time()) // 30
        self.used[user] = step
        secret = (self.profiles / "secrets" / "totp" / f"{user}.b32").read_text().strip()
        return self.hosts.run(self.client, f"oathtool --totp -b {shlex.quote(secret)}").strip()


def stage(hosts: Hosts, client: str, profiles: Path, user: str, code: str) -> str:
    d = f"/root/vpnbench/{user}"
    text = profile_path(profiles, user).read_text()
    hosts.run(client, f"rm -rf {d} && install -d -m 0700 {d}")
    auth = f"umask 077; printf '%s\\n%s\\n' {user} {code} > {d}/auth"
    hosts.run(client, f"cat > {d}/p.ovpn <<'EOF_BENCH'\n{text}\nEOF_BENCH\n{auth}")
    return d


def connect_once(hosts: Hosts, client: str, d: str) -> float:
    """Seconds from starting openvpn until the tunnel is up, measured on the staff PC itself."""
    script = (
        f"rm -f {d}/log; t0=$(date +%s.%N); "
        f"openvpn --config {d}/p.ovpn --auth-user-pass {d}/auth --auth-retry none --connect-retry-max 1 "
        f"--verb 3 --daemon vpnbench --writepid {d}/pid --log {d}/log; "
        f"i=0; until grep -q '{READY}' {d}/log 2>/dev/null; do "
        "i=$((i+1)); [ $i -gt 3000 ] && exit 3; sleep 0.01; done; "
        't1=$(date +%s.%N); python3 -c "print($t1 - $t0)"'
    )
    out = hosts.run(client, script, timeout=60).strip().splitlines()[-1]
    return float(out)


def disconnect(hosts: Hosts, client: str, d: str) -> None:
    hosts.run(client, f"[ -f {d}/pid ] && kill $(cat {d}/pid) 2>/dev/null; sleep 1; true", check=False)


def ensure_iperf3(hosts: Hosts, host: str) -> None:
    if hosts.run(host, "command -v iperf3", check=False).strip():
        return
    hosts.run(
        host, "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q iperf3 >/dev/null"
    )


def iperf(hosts: Hosts, client: str, server: str, addr: str, port: int, seconds: int) -> float:
    """Mbit/s received by iperf3 from client to server:port (TCP)."""
    hosts.run(server, f"pkill -f 'iperf3 -s -p {port}' ; true", check=False)
    hosts.run(server, f"iperf3 -s -p {port} -1 -D", timeout=30)
    time.sleep(0.5)
    out = hosts.run(client, f"iperf3 -c {addr} -p {port} -t {seconds} -J", timeout=seconds + 60)
    result: dict[str, Any] = json.loads(out)
    return float(result["end"]["sum_received"]["bits_per_second"]) / 1e6


def main() -> int:
    p = argparse.ArgumentParser(description="Benchmark of the VPN gateway: connect time and tunnel throughput")
    p.add_argument("--lab", default="mol-vpn-gateway-debian13")
    p.add_argument("--client", default="homepc1")
    p.add_argument("--gateway", default="vpngw1")
    p.add_argument("--desktop", default="desk1")
    p.add_argument("--desktop-addr", default="10.231.33.10")
    p.add_argument("--gateway-addr", default="10.231.48.10", help="the gateway's address in the home zone")
    p.add_argument("--client-addr", default="10.231.48.100", help="the staff PC's address in the home zone")
    p.add_argument("--users", default="alice.ito,bob.sato", help="comma-separated active VPN users")
    p.add_argument("--profiles", type=Path, default=None, help="vpn_gateway_profile_dir on this controller")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--seconds", type=int, default=5, help="length of each iperf3 run")
    args = p.parse_args()

    hosts = Hosts(args.lab)
    profiles = args.profiles or default_profiles()
    users = args.users.split(",")
    codes = Codes(hosts, args.client, profiles)

    samples: list[float] = []
    for i in range(args.runs):
        user = users[i % len(users)]
        d = stage(hosts, args.client, profiles, user, codes.fresh(user))
        try:
            samples.append(connect_once(hosts, args.client, d))
        finally:
            disconnect(hosts, args.client, d)

    for h in (args.client, args.gateway, args.desktop):
        ensure_iperf3(hosts, h)
    user = users[0]
    d = stage(hosts, args.client, profiles, user, codes.fresh(user))
    try:
        connect_once(hosts, args.client, d)
        tunnel = iperf(hosts, args.client, args.desktop, args.desktop_addr, 3389, args.seconds)
    finally:
        disconnect(hosts, args.client, d)
    rule = f"ip saddr {args.client_addr} tcp dport 5201 accept comment '\"vpnbench\"'"
    hosts.run(args.gateway, f"nft insert rule inet vpn_gateway input {rule}")
    try:
        direct = iperf(hosts, args.client, args.gateway, args.gateway_addr, 5201, args.seconds)
    finally:
        handles = hosts.run(args.gateway, "nft -a list chain inet vpn_gateway input", check=False)
        for line in handles.splitlines():
            if "vpnbench" in line and "# handle" in line:
                hosts.run(args.gateway, f"nft delete rule inet vpn_gateway input handle {line.split()[-1]}")

    release = hosts.run(args.gateway, ". /etc/os-release; echo $VERSION_ID").strip()
    result = {
        "lab": args.lab,
        "debian": release,
        "connect_seconds": samples,
        "connect_median_seconds": statistics.median(samples),
        "tunnel_mbit_per_s": tunnel,
        "direct_mbit_per_s": direct,
        "ratio": tunnel / direct,
    }
    out = ROOT / "artifacts" / "bench-vpn.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"command: {' '.join(shlex.quote(a) for a in sys.argv)}")
    print(f"lab {args.lab} (Debian {release}), gateway {args.gateway}, staff PC {args.client}")
    ms = [1000 * x for x in samples]
    print(
        f"connect time (start to '{READY}', polled every 10 ms): median {statistics.median(ms):.0f} ms "
        f"of {len(ms)} (min {min(ms):.0f}, max {max(ms):.0f})"
    )
    print(f"throughput through the tunnel to {args.desktop}:3389: {tunnel:.0f} Mbit/s")
    print(f"throughput without the tunnel to the gateway's home address: {direct:.0f} Mbit/s")
    print(f"ratio tunnel/direct: {result['ratio']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
