"""Benchmark of the web meetings (not a test): participants in one room until frames drop.

    MOLECULE_DISTRO=debian12 .venv/bin/molecule converge -s web_meeting    # the hosts, once
    sudo .venv/bin/python benchmarks/meeting_load.py [--max 8] [--window 10] [--lab mol-web-meeting-debian12]

For N = 2, 3, ... --max, headless Chromium browsers on client1 (the scenario's probe,
molecule/web_meeting/tests/meeting_probe.py `load`) sign in and join the ward-wide room one after
another, each sending Chromium's fake 640x480 camera and microphone; once every browser receives
every other one, the decoded frames of every feed are counted over --window seconds. Reported per
N: join time (sign-in to joined, median), decoded frames per second per received feed (median
and lowest), and Janus's CPU over the same window (utime + stime of its process, as % of one
core, and per participant). Frames "drop" when the lowest feed falls below 0.8 of the median of
the 2-participant run. All browsers run on the same 2-core machine as Janus: which of the two
runs out first is part of the result. Written to artifacts/bench-meeting.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from nsenter_host import Host, find_hosts

ROOT = Path(__file__).resolve().parents[1]
URL = "https://meet.molecule.example/"
USERS = ["sato.taro", "tanaka.yui", "suzuki.hanako", "kato.mai"]  # active members of the ward room
MARKER = "/tmp/meeting-load.measuring"


def janus_ticks(server: Host) -> int:
    pid = server.sh("systemctl show -p MainPID --value janus").strip()
    fields = server.sh(f"cat /proc/{pid}/stat").rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15 of stat)


def run(server: Host, client: Host, n: int, window: float) -> dict[str, Any]:
    users = " ".join(f"--user {u}" for u in USERS)
    client.sh(f"rm -f {MARKER} /root/meeting-load.out")
    proc = client.popen(
        f"meeting-probe load --url {URL} --room zencho --count {n} {users} --window {window} --marker {MARKER}"
        " > /root/meeting-load.out 2>/root/meeting-load.err"
    )
    hz = int(server.sh("getconf CLK_TCK").strip())
    cpu = None
    while proc.poll() is None:
        if client.sh(f"test -f {MARKER} && echo yes", check=False).strip() == "yes":
            start, began = janus_ticks(server), time.monotonic()
            while client.sh(f"test -f {MARKER} && echo yes", check=False).strip() == "yes":
                time.sleep(0.2)
            cpu = (janus_ticks(server) - start) / hz / (time.monotonic() - began) * 100
        time.sleep(0.2)
    out = client.sh("cat /root/meeting-load.out", check=False).strip().splitlines()
    if not out:
        raise RuntimeError(client.sh("tail -20 /root/meeting-load.err", check=False))
    result: dict[str, Any] = json.loads(out[-1])
    fps = result.get("fps_per_feed") or [0.0]
    result["join_s_median"] = round(statistics.median(result.get("join_s") or [0.0]), 2)
    result["fps_median"] = round(statistics.median(fps), 1)
    result["fps_lowest"] = round(min(fps), 1)
    result["janus_cpu_percent"] = round(cpu, 1) if cpu is not None else None
    result["janus_cpu_percent_per_participant"] = round(cpu / n, 1) if cpu is not None else None
    return result


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lab", default="mol-web-meeting-debian12")
    p.add_argument("--max", type=int, default=8)
    p.add_argument("--window", type=float, default=10)
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (nsenter into the lab hosts)")
    server, client = find_hosts(
        args.lab, ("meet1", "client1"), "MOLECULE_DISTRO=debian12 molecule converge -s web_meeting"
    )
    # the probe's trust in the site CA and its password file, as the scenario's tests set them up
    ca = server.sh("cat /etc/telework-meeting/tls/ca.pem")
    client.sh("install -d -m 0700 /etc/meeting-probe && cat > /etc/meeting-probe/ca.pem", stdin=ca)
    client.sh("umask 077; cat > /etc/meeting-probe/password", stdin="Tw-Lab-Passw0rd!")
    client.sh(
        "mkdir -p /root/.pki/nssdb && (test -f /root/.pki/nssdb/cert9.db || certutil -d sql:/root/.pki/nssdb -N"
        " --empty-password </dev/null) && certutil -d sql:/root/.pki/nssdb -A -t C,, -n telework-site-ca"
        " -i /etc/meeting-probe/ca.pem </dev/null"
    )
    results = []
    baseline = None
    for n in range(2, args.max + 1):
        r = run(server, client, n, args.window)
        baseline = baseline or r["fps_median"]
        r["frames_drop"] = r["fps_lowest"] < 0.8 * baseline
        print(json.dumps(r), flush=True)
        results.append(r)
        if r["frames_drop"]:
            break
    out = {
        "command": "sudo .venv/bin/python benchmarks/meeting_load.py " + " ".join(sys.argv[1:]),
        "janus": server.sh("dpkg-query -W -f '${Version}' janus").strip(),
        "cpus": os.cpu_count(),
        "results": results,
    }
    path = ROOT / "artifacts" / "bench-meeting.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
