"""Benchmark of the session broker (not a test): HAProxy's CPU and memory for N RDP connections.

    sudo .venv/bin/python benchmarks/rdp_broker.py [--sessions 50 200] [--kbit 500] [--seconds 30]

Needs the rdp_broker Molecule scenario converged (default lab mol-rdp-broker-debian13:
`MOLECULE_DISTRO=debian13 molecule converge -s rdp_broker`). The broker relays bytes in TCP mode
and never looks past the connection request, so its cost depends on the number of connections and
the bytes per second, not on what the bytes are: for the measurement xrdp on desk1 and desk2 is
replaced by a stand-in that answers the RDP connection request with a connection confirm and then
sends --kbit kbit/s of screen updates per connection (0.1-0.5 Mbit/s is office work over RDP; the
client sends 1/10 of that back, input and acknowledgements). client1 opens the connections, each
with its own user name in the cookie, so they spread over both hosts and fill the stick table.
xrdp is started again at the end.

Measured on the broker: the HAProxy worker's CPU time over --seconds (user + system, as a share of
one core), its memory (PSS and RSS) with the connections open against the idle worker, and the
kernel's socket memory, and the bytes per second it carried both ways (its own counters).
Writes artifacts/bench-rdp-broker.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.settings import load
from lab.state import load as load_state

ROOT = Path(__file__).resolve().parents[1]
BROKER, DESKS, CLIENT = "brk1", ("desk1", "desk2"), "client1"
BROKER_ADDR = "10.231.33.5"

# The stand-in desktop host: X.224 connection confirm, then a steady stream per connection.
SERVER = r"""
import asyncio, sys
RATE = int(sys.argv[1]) * 1000 // 8  # bytes per second per connection
CC = bytes.fromhex("030000130ed000001234000201080001000000")
async def serve(reader, writer):
    try:
        await reader.readexactly(4)
        await reader.read(4096)
        writer.write(CC)
        chunk = b"\x00" * max(1, RATE // 10)
        async def drain_input():
            while await reader.read(65536):
                pass
        asyncio.create_task(drain_input())
        while True:
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(0.1)
    except Exception:
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(serve, "0.0.0.0", 3389, backlog=1024)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""

# The clients: N connections with their own cookie, each reading the stream and sending a tenth back.
CLIENTS = r"""
import asyncio, sys, json, time
N, RATE, SECONDS, HOST = int(sys.argv[1]), int(sys.argv[2]) * 1000 // 8, float(sys.argv[3]), sys.argv[4]
got = [0]
async def one(i, ready):
    cookie = f"Cookie: mstshash=bench{i:04d}\r\n".encode()
    body = b"\xe0\x00\x00\x00\x00\x00" + cookie + bytes.fromhex("0100080001000000")
    pkt = bytes([3, 0]) + (4 + 1 + len(body)).to_bytes(2, "big") + bytes([len(body)]) + body
    reader, writer = await asyncio.open_connection(HOST, 3389)
    writer.write(pkt)
    await reader.readexactly(19)
    ready.append(i)
    up = b"\x00" * max(1, RATE // 100)
    end = time.monotonic() + SECONDS + 30
    while time.monotonic() < end:
        data = await reader.read(65536)
        if not data:
            break
        got[0] += len(data)
        writer.write(up)
    writer.close()
async def main():
    ready = []
    tasks = [asyncio.create_task(one(i, ready)) for i in range(N)]
    while len(ready) < N:
        await asyncio.sleep(0.2)
    print(json.dumps({"open": len(ready)}), flush=True)
    await asyncio.gather(*tasks, return_exceptions=True)
asyncio.run(main())
"""


class Hosts:
    def __init__(self, lab: str) -> None:
        state = load_state(load(), lab)
        if state is None or not state.hosts:
            raise SystemExit(f"lab {lab} is not up (converge the rdp_broker scenario first)")
        self.leaders = {name: hs.leader_pid for name, hs in state.hosts.items()}

    def argv(self, host: str, script: str) -> list[str]:
        return ["nsenter", "-t", str(self.leaders[host]), "-a", "sh", "-c", script]

    def run(self, host: str, script: str, timeout: float = 120) -> str:
        proc = subprocess.run(self.argv(host, script), capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{host}: `{script}` failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout


def worker(hosts: Hosts) -> int:
    """PID of the HAProxy worker (the child of the master)."""
    master = hosts.run(BROKER, "systemctl show -p MainPID --value haproxy").strip()
    return int(hosts.run(BROKER, f"pgrep -P {master} haproxy").split()[0])


def cpu_seconds(hosts: Hosts, pid: int) -> float:
    fields = hosts.run(BROKER, f"cat /proc/{pid}/stat").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


def memory(hosts: Hosts, pid: int) -> dict[str, int]:
    rollup = hosts.run(BROKER, f"cat /proc/{pid}/smaps_rollup")
    kib = {line.split()[0].rstrip(":"): int(line.split()[1]) for line in rollup.splitlines()[1:] if line.split()}
    sockstat = hosts.run(BROKER, "cat /proc/net/sockstat")
    pages = int(sockstat.split("TCP:")[1].split("mem")[1].split()[0])
    return {"pss_kib": kib["Pss"], "rss_kib": kib["Rss"], "tcp_mem_kib": pages * 4}


def frontend_bytes(hosts: Hosts) -> int:
    """Bytes the RDP entry has carried both ways (HAProxy's counters bin + bout)."""
    out = hosts.run(BROKER, "echo 'show stat' | socat stdio /run/haproxy/admin.sock")
    header = out.splitlines()[0].lstrip("# ").split(",")
    for line in out.splitlines()[1:]:
        row = dict(zip(header, line.split(","), strict=False))
        if row.get("pxname") == "rdp" and row.get("svname") == "FRONTEND":
            return int(row["bin"]) + int(row["bout"])
    raise SystemExit("no frontend rdp in show stat")


def measure(hosts: Hosts, sessions: int, kbit: int, seconds: float) -> dict[str, Any]:
    hosts.run(BROKER, "echo 'clear table desktops' | socat stdio /run/haproxy/admin.sock")
    pid = worker(hosts)
    idle = memory(hosts, pid)
    clients = subprocess.Popen(
        hosts.argv(CLIENT, f"python3 -c '{CLIENTS}' {sessions} {kbit} {seconds} {BROKER_ADDR}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert clients.stdout is not None
    opened = json.loads(clients.stdout.readline() or "{}").get("open", 0)
    time.sleep(3)
    start_cpu, start_bytes, start = cpu_seconds(hosts, pid), frontend_bytes(hosts), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    cpu = (cpu_seconds(hosts, pid) - start_cpu) / elapsed
    mbit = (frontend_bytes(hosts) - start_bytes) * 8 / elapsed / 1e6
    busy = memory(hosts, pid)
    table = hosts.run(BROKER, "echo 'show table desktops' | socat stdio /run/haproxy/admin.sock")
    clients.kill()
    clients.wait()
    return {
        "sessions": sessions,
        "opened": opened,
        "kbit_per_session": kbit,
        "relayed_mbit_per_s": round(mbit, 1),
        "cpu_share_of_one_core": round(cpu, 3),
        "idle": idle,
        "with_sessions": busy,
        "pss_per_session_kib": round((busy["pss_kib"] - idle["pss_kib"]) / max(1, sessions), 1),
        "stick_entries": sum(1 for line in table.splitlines() if line.startswith("0x")),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lab", default="mol-rdp-broker-debian13")
    p.add_argument("--sessions", type=int, nargs="+", default=[50, 200])
    p.add_argument("--kbit", type=int, default=500)
    p.add_argument("--seconds", type=float, default=30)
    args = p.parse_args()
    hosts = Hosts(args.lab)
    results = []
    for desk in DESKS:
        hosts.run(desk, "systemctl stop xrdp")
        hosts.run(desk, f"systemd-run --unit bench-rdp-standin --collect python3 -c '{SERVER}' {args.kbit}")
    try:
        time.sleep(2)
        for n in args.sessions:
            result = measure(hosts, n, args.kbit, args.seconds)
            print(json.dumps(result), flush=True)
            results.append(result)
            time.sleep(3)
    finally:
        for desk in DESKS:
            hosts.run(desk, "systemctl stop bench-rdp-standin; systemctl start xrdp")
    version = hosts.run(BROKER, "haproxy -v").splitlines()[0]
    out = ROOT / "artifacts" / "bench-rdp-broker.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"haproxy": version, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
