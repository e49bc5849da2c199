"""Benchmark of the log pipeline (not a test): messages per second one client sustains into the
log server over RELP/TLS with zero loss.

    MOLECULE_DISTRO=debian13 .venv/bin/molecule converge -s log_server     # the hosts, once
    sudo .venv/bin/python benchmarks/log_throughput.py [--messages 200000] [--runs 3]
        [--lab mol-log-server-debian13] [--window 1024] [--server-ack write|memory]

Each run writes N numbered messages as fast as possible from the client into rsyslog's local
syslog socket (/run/systemd/journal/syslog, the socket journald forwards to; journald itself is
bypassed so its rate limit does not drop any), then polls the server's store until all N are
there, and checks that every sequence number arrived exactly once. Throughput = N / (time from
the first send until the last message is stored), timed on this machine; the median of the runs
is reported and written to artifacts/bench-log.json.

--window and --server-ack reconfigure the lab hosts in place for a tuning experiment (RELP
window and queue batch of the client; whether the server acknowledges after writing or once the
message is in memory). `molecule converge -s log_server` puts the role's settings back.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from nsenter_host import Host, find_hosts

ROOT = Path(__file__).resolve().parents[1]
STORE = "/var/log/remote"
SOCKET = "/run/systemd/journal/syslog"
PAYLOAD = "telework log pipeline benchmark 0123456789 abcdefghijklmnopqrstuvwxyz"

GENERATOR = r"""
import socket, sys
n, run, path, payload = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(path)
prefix = ("<14>twbench: run=%s seq=" % run).encode()
tail = (" " + payload).encode()
for i in range(1, n + 1):
    s.send(prefix + str(i).encode() + tail)
"""


def reconfigure(server: Host, client: Host, window: int | None, server_ack: str | None) -> None:
    if window is not None:
        client.sh(
            f'sed -i -E \'s/windowSize="[0-9]+"/windowSize="{window}"/; '
            f's/queue.dequeueBatchSize="[0-9]+"/queue.dequeueBatchSize="{window}"/\' /etc/rsyslog.conf'
            " && rsyslogd -N1 >/dev/null 2>&1 && systemctl restart rsyslog"
        )
    if server_ack is not None:
        queue = (
            'queue.type="Direct"'
            if server_ack == "write"
            else 'queue.type="LinkedList" queue.size="200000" queue.dequeueBatchSize="1024"'
        )
        pattern = '^ruleset\\(name="logServerRemote" .*\\) \\{'
        replacement = f'ruleset(name="logServerRemote" {queue}) {{'
        server.sh(
            f"sed -i -E 's/{pattern}/{replacement}/' /etc/rsyslog.d/50-log-server.conf"
            " && rsyslogd -N1 >/dev/null 2>&1 && systemctl restart rsyslog"
        )
    time.sleep(3)


def stored_count(server: Host, client: str, run: str) -> int:
    out = server.sh(f"cat {STORE}/{client}/*.log | grep -cF 'twbench: run={run} ' || true")
    return int(out.strip() or 0)


def one_run(server: Host, client: Host, n: int, timeout: float) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    started = time.monotonic()
    gen = subprocess.run(
        client.argv("python3", "-c", GENERATOR, str(n), run, SOCKET, PAYLOAD), capture_output=True, text=True
    )
    sent = time.monotonic() - started
    if gen.returncode != 0:
        raise RuntimeError(f"generator failed: {gen.stderr.strip()}")
    count = 0
    while time.monotonic() - started < timeout:
        count = stored_count(server, client.name, run)
        if count >= n:
            break
        time.sleep(0.2)
    stored = time.monotonic() - started
    time.sleep(2)  # a duplicate would arrive right behind the last message
    seqs = server.sh(
        f"cat {STORE}/{client.name}/*.log | grep -F 'twbench: run={run} ' | sed -E 's/.* seq=([0-9]+) .*/\\1/'"
    ).split()
    distinct = set(seqs)
    return {
        "run": run,
        "sent_seconds": round(sent, 3),
        "stored_seconds": round(stored, 3),
        "stored": len(seqs),
        "distinct": len(distinct),
        "missing": n - len(distinct & {str(i) for i in range(1, n + 1)}),
        "duplicates": len(seqs) - len(distinct),
        "msgs_per_second": round(n / stored) if len(seqs) >= n else 0,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    distro = os.environ.get("MOLECULE_DISTRO", "debian13")
    p.add_argument("--lab", default=f"mol-log-server-{distro}")
    p.add_argument("--server", default="log1")
    p.add_argument("--client", default="client1")
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--window", type=int, help="set the client's RELP window and queue batch (experiment)")
    p.add_argument("--server-ack", choices=["write", "memory"], help="server acknowledges after write or in memory")
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (nsenter into the lab hosts)")

    server, client = find_hosts(
        args.lab, (args.server, args.client), "MOLECULE_DISTRO=... molecule converge -s log_server"
    )
    reconfigure(server, client, args.window, args.server_ack)
    window = re.search(r'windowSize="(\d+)"', client.sh("cat /etc/rsyslog.conf"))
    ack = "write" if 'queue.type="Direct"' in server.sh("cat /etc/rsyslog.d/50-log-server.conf") else "memory"
    releases = client.sh(". /etc/os-release; echo $VERSION_ID").strip()

    argv = sys.argv[1:] if "--lab" in sys.argv else [*sys.argv[1:], "--lab", args.lab]
    command = "sudo .venv/bin/python benchmarks/log_throughput.py " + shlex.join(argv)
    result: dict[str, Any] = {
        "command": command.strip(),
        "lab": args.lab,
        "debian": releases,
        "messages": args.messages,
        "relp_window": int(window[1]) if window else None,
        "server_ack": ack,
        "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release, "load_average_1m": os.getloadavg()[0]},
        "runs": [],
    }
    for i in range(args.runs):
        load = os.getloadavg()[0]
        r = one_run(server, client, args.messages, args.timeout)
        r["load_average_1m_before"] = round(load, 2)
        result["runs"].append(r)
        print(
            f"run {i + 1}: {r['msgs_per_second']} msg/s (sent in {r['sent_seconds']} s, all stored after "
            f"{r['stored_seconds']} s), stored {r['stored']}, missing {r['missing']}, duplicates {r['duplicates']}"
            f" (machine load {load:.1f})",
            flush=True,
        )
    lossless = all(r["missing"] == 0 and r["duplicates"] == 0 for r in result["runs"])
    result["zero_loss"] = lossless
    result["median_msgs_per_second"] = statistics.median(r["msgs_per_second"] for r in result["runs"])

    print(f"command: {result['command']}")
    print(
        f"Debian {releases}, RELP window {result['relp_window']}, server acknowledges after {ack}: "
        f"median {result['median_msgs_per_second']} msg/s over {args.runs} runs of {args.messages}, "
        f"{'no message lost or duplicated' if lossless else 'LOSS OR DUPLICATES (see runs)'}"
    )
    out = ROOT / "artifacts" / "bench-log.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"written: {out.relative_to(ROOT)}")
    return 0 if lossless else 1


if __name__ == "__main__":
    raise SystemExit(main())
