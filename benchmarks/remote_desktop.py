"""Benchmark of a remote-desktop host (not a test): login-to-desktop time and memory per session.

    sudo .venv/bin/python benchmarks/remote_desktop.py [--lab mol-remote-desktop-debian13]
        [--desktop desk1] [--client client1] [--runs 5] [--sessions 3] [--no-firefox]

Needs a converged remote-desktop host and a client host with the probe of the Molecule scenario
(FreeRDP under Xvfb), for example after
`MOLECULE_DISTRO=debian13 .venv/bin/molecule converge -s remote_desktop`. It

1. logs in `--runs` times as one staff user with a fresh session each time and times FreeRDP's
   start until the desktop is drawn (the desktop background covers a quarter of the screen),
   then the same for reconnecting to a running session;
2. opens `--sessions` sessions at once, starts LibreOffice Writer (and Firefox ESR on an internal
   system unless --no-firefox) in each, and sums the memory of each session's processes from
   /proc (PSS and RSS, smem-style): the user's processes, the session's watermark and its share
   of the xrdp and sesman processes. It also reads the host's MemAvailable before and after.

Prints medians and a sizing table and writes artifacts/bench-remote-desktop.json.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.settings import load
from lab.state import LabState
from lab.state import load as load_state

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Tw-Lab-Passw0rd!"  # noqa: S105 - the lab's and the scenario's test-only password
BACKGROUND = "28,59,94"

# Memory of one session in /proc: PSS and RSS (kB) of every process of a uid, or of given pids.
MEMORY_SCRIPT = r"""
import json, os, sys
want_uid = int(sys.argv[1]) if sys.argv[1] != "-" else None
want_pids = {int(p) for p in sys.argv[2].split(",") if p} if len(sys.argv) > 2 else set()
pss = rss = n = 0
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        if want_uid is not None and os.stat(f"/proc/{pid}").st_uid != want_uid:
            continue
        if want_uid is None and int(pid) not in want_pids:
            continue
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
            elif line.startswith("Rss:"):
                rss += int(line.split()[1])
        n += 1
    except OSError:
        pass
print(json.dumps({"pss_kb": pss, "rss_kb": rss, "processes": n}))
"""

# AWS general-purpose instances (vCPU, GiB); m6i and m7i have the same shapes.
INSTANCES = [("m7i.xlarge", 4, 16), ("m7i.2xlarge", 8, 32), ("m7i.4xlarge", 16, 64), ("m7i.8xlarge", 32, 128)]


class Lab:
    def __init__(self, name: str) -> None:
        state: LabState | None = load_state(load(), name)
        if state is None or not state.hosts:
            raise SystemExit(f"lab {name} is not up (see `python -m lab status`)")
        self.state = state

    def run(self, host: str, command: str, check: bool = True) -> str:
        pid = self.state.hosts[host].leader_pid
        proc = subprocess.run(
            ["nsenter", "-t", str(pid), "-a", "sh", "-c", command], capture_output=True, text=True, check=False
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"{host}: {command}: rc={proc.returncode} {proc.stderr.strip()[-500:]}")
        return proc.stdout

    def address(self, host: str, zone: str = "desktop") -> str:
        return self.state.hosts[host].interfaces[zone].split("/")[0]


def probe(lab: Lab, client: str, *args: str) -> dict[str, Any]:
    out = lab.run(client, "rdp_probe " + shlex.join(args), check=False).strip()
    try:
        result: dict[str, Any] = json.loads(out.splitlines()[-1]) if out else {}
    except ValueError:
        result = {"raw": out}
    return result


def end_sessions(lab: Lab, desktop: str, users: list[str]) -> None:
    """End the users' sessions through logind (X servers clean up), SIGKILL only what is left."""
    for user in users:
        lab.run(desktop, f"loginctl terminate-user {user} 2>/dev/null", check=False)
    for _ in range(30):
        if not lab.run(desktop, "pgrep -f 'Xorg :[0-9]' || true", check=False).strip():
            return
        time.sleep(1)
    for user in users:
        lab.run(desktop, f"pkill -KILL -u {user}", check=False)


def login_times(lab: Lab, desktop: str, client: str, user: str, runs: int) -> tuple[list[float], list[float]]:
    """Seconds from FreeRDP's start to a drawn desktop: fresh sessions, then reconnects."""
    host = lab.address(desktop)
    fresh, again = [], []
    for _ in range(runs):
        end_sessions(lab, desktop, [user])
        probe(lab, client, "start", "bench", "--host", host, "--user", user, "--password", PASSWORD)
        result = probe(lab, client, "wait-desktop", "bench", "--timeout", "120", "--color", BACKGROUND)
        probe(lab, client, "stop", "bench")
        if result.get("desktop"):
            fresh.append(float(result["seconds"]))
        time.sleep(2)
        probe(lab, client, "start", "bench", "--host", host, "--user", user, "--password", PASSWORD)
        result = probe(lab, client, "wait-desktop", "bench", "--timeout", "120", "--color", BACKGROUND)
        probe(lab, client, "stop", "bench")
        if result.get("desktop"):
            again.append(float(result["seconds"]))
    end_sessions(lab, desktop, [user])
    return fresh, again


def mem_available_kb(lab: Lab, host: str) -> int:
    for line in lab.run(host, "cat /proc/meminfo").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    raise RuntimeError("no MemAvailable")


def memory_of(lab: Lab, host: str, uid: str, pids: list[int] | None = None) -> dict[str, int]:
    args = shlex.join(["python3", "-c", MEMORY_SCRIPT, uid, ",".join(str(p) for p in pids or [])])
    return dict(json.loads(lab.run(host, args)))


def pids_of(lab: Lab, host: str, pattern: str) -> list[int]:
    return [int(p) for p in lab.run(host, f"pgrep -f {shlex.quote(pattern)} || true", check=False).split()]


def session_memory(
    lab: Lab, desktop: str, client: str, users: list[str], firefox_url: str | None
) -> tuple[list[dict[str, Any]], int]:
    """Open one session per user with Writer (and Firefox) and measure each; returns the host delta too."""
    host = lab.address(desktop)
    end_sessions(lab, desktop, users)
    lab.run(desktop, "sync; echo 1 > /proc/sys/vm/drop_caches 2>/dev/null || true", check=False)
    before = mem_available_kb(lab, desktop)
    for i, user in enumerate(users):
        probe(lab, client, "start", f"mem{i}", "--host", host, "--user", user, "--password", PASSWORD)
        probe(lab, client, "wait-desktop", f"mem{i}", "--timeout", "120", "--color", BACKGROUND)
    displays: dict[str, str] = {}
    for user in users:
        out = lab.run(desktop, f"pgrep -u {user} -a Xorg", check=False)
        displays[user] = next((w for w in out.split() if w.startswith(":") and w[1:].isdigit()), ":10")
        env = f"DISPLAY={displays[user]} XAUTHORITY=/home/{user}/.Xauthority HOME=/home/{user} LANG=ja_JP.UTF-8"
        lab.run(desktop, f"runuser -u {user} -- env {env} setsid -f soffice --writer --nologo >/dev/null 2>&1")
        if firefox_url:
            lab.run(
                desktop,
                f"runuser -u {user} -- env {env} setsid -f firefox-esr {shlex.quote(firefox_url)} >/dev/null 2>&1",
            )
    time.sleep(45)  # let Writer and Firefox finish starting and settle
    for user in users:  # the applications must really be up
        if not lab.run(desktop, f"pgrep -u {user} -f soffice.bin || true", check=False).strip():
            raise RuntimeError(f"LibreOffice Writer did not start for {user}")
    after = mem_available_kb(lab, desktop)
    # shared per-connection processes: xrdp's children and (0.10) sesexec, split evenly
    shared_pids = [p for p in pids_of(lab, desktop, "^/usr/sbin/xrdp") + pids_of(lab, desktop, "xrdp-sesexec")]
    shared = memory_of(lab, desktop, "-", shared_pids)
    results = []
    for user in users:
        uid = lab.run(desktop, f"id -u {user}").strip()
        mine = memory_of(lab, desktop, uid)
        watermark = memory_of(lab, desktop, "-", pids_of(lab, desktop, f"tw_watermark.py --display {displays[user]} "))
        pss = mine["pss_kb"] + watermark["pss_kb"] + shared["pss_kb"] // len(users)
        rss = mine["rss_kb"] + watermark["rss_kb"] + shared["rss_kb"] // len(users)
        results.append(
            {
                "user": user,
                "pss_mib": round(pss / 1024, 1),
                "rss_mib": round(rss / 1024, 1),
                "user_processes": mine["processes"],
                "watermark_pss_mib": round(watermark["pss_kb"] / 1024, 1),
            }
        )
    for i in range(len(users)):
        probe(lab, client, "stop", f"mem{i}")
    end_sessions(lab, desktop, users)
    return results, (before - after) // len(users)


def sizing(per_user_mib: float, users_per_vcpu: float, reserve_gib: float, headroom: float) -> list[dict[str, Any]]:
    """Hosts per instance type for 50, 140 and 200 concurrent users, N+1."""
    rows = []
    for seats in (50, 140, 200):
        for name, vcpu, gib in INSTANCES:
            by_memory = math.floor((gib - reserve_gib) * 1024 / (per_user_mib * (1 + headroom)))
            by_cpu = math.floor(vcpu * users_per_vcpu)
            per_host = max(1, min(by_memory, by_cpu))
            hosts = math.ceil(seats / per_host) + 1
            rows.append({"seats": seats, "instance": name, "users_per_host": per_host, "hosts": hosts})
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lab", default="mol-remote-desktop-debian13")
    p.add_argument("--desktop", default="desk1")
    p.add_argument("--client", default="client1")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--sessions", type=int, default=3)
    p.add_argument("--no-firefox", action="store_true", help="measure with LibreOffice Writer only")
    p.add_argument("--users-per-vcpu", type=float, default=4.0, help="sizing assumption (not measured)")
    args = p.parse_args()
    lab = Lab(args.lab)
    directory = json.loads(lab.run(args.desktop, "cat /etc/telework-desktop/users.json"))
    users = sorted(directory)
    if len(users) < args.sessions:
        raise SystemExit(f"only {len(users)} staff users on {args.desktop}, asked for {args.sessions} sessions")
    release = lab.run(args.desktop, ". /etc/os-release; echo $VERSION_ID").strip()
    xrdp = lab.run(args.desktop, "dpkg-query -W -f='${Version}' xrdp").strip()
    systems = json.loads(lab.run(args.desktop, "cat /usr/lib/firefox-esr/distribution/policies.json"))
    home = systems["policies"]["Homepage"]["URL"]

    fresh, again = login_times(lab, args.desktop, args.client, users[0], args.runs)
    per_session, host_delta_kb = session_memory(
        lab, args.desktop, args.client, users[: args.sessions], None if args.no_firefox else home
    )
    pss = statistics.median(s["pss_mib"] for s in per_session)
    rss = statistics.median(s["rss_mib"] for s in per_session)
    command = "sudo .venv/bin/python benchmarks/remote_desktop.py " + shlex.join(sys.argv[1:])
    apps = "LibreOffice Writer" + ("" if args.no_firefox else " + Firefox ESR")
    result: dict[str, Any] = {
        "command": command.strip(),
        "desktop": {"debian": release, "xrdp": xrdp, "lab": args.lab},
        "login_to_desktop_seconds": {"new_session": fresh, "reconnect": again},
        "median_login_new_s": round(statistics.median(fresh), 2) if fresh else None,
        "median_login_reconnect_s": round(statistics.median(again), 2) if again else None,
        "applications": apps,
        "sessions": per_session,
        "median_session_pss_mib": pss,
        "median_session_rss_mib": rss,
        "host_memavailable_drop_per_session_mib": round(host_delta_kb / 1024, 1),
    }
    assumptions = {"per_user_mib": pss, "headroom": 0.5, "reserve_gib": 3.0, "users_per_vcpu": args.users_per_vcpu}
    result["sizing_assumptions"] = assumptions
    result["sizing"] = sizing(pss, args.users_per_vcpu, assumptions["reserve_gib"], assumptions["headroom"])

    print(f"command: {result['command']}")
    print(f"desktop: Debian {release}, xrdp {xrdp}")
    print(f"login to desktop, new session: median {result['median_login_new_s']} s of {len(fresh)} {fresh}")
    print(f"login to desktop, reconnect:   median {result['median_login_reconnect_s']} s of {len(again)} {again}")
    print(f"memory per session with {apps} open ({len(per_session)} sessions at once):")
    for s in per_session:
        print(f"  {s['user']}: PSS {s['pss_mib']} MiB, RSS {s['rss_mib']} MiB (watermark {s['watermark_pss_mib']} MiB)")
    drop = result["host_memavailable_drop_per_session_mib"]
    print(f"  median PSS {pss} MiB, RSS {rss} MiB; host MemAvailable drop {drop} MiB/session")
    print(f"sizing (N+1 hosts; {pss} MiB/user +50% headroom, 3 GiB for the system, {args.users_per_vcpu} users/vCPU):")
    for row in result["sizing"]:
        print(
            f"  {row['seats']:>4} users  {row['instance']:<12} {row['users_per_host']:>3}/host  {row['hosts']:>3} hosts"
        )
    out = ROOT / "artifacts" / "bench-remote-desktop.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"written: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
