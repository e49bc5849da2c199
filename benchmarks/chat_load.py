"""Benchmark of the chat server (not a test): N simulated staff connected at once.

    MOLECULE_DISTRO=debian13 .venv/bin/molecule converge -s chat_server    # the hosts, once
    sudo .venv/bin/python benchmarks/chat_load.py [--users 200 2000] [--lab mol-chat-server-debian13]
        [--concurrency 50] [--messages 500]

For each N: N benchmark accounts are added on chat1 the way the role makes staff accounts (local
accounts in tw-staff with a password hash, `newusers` then `gpasswd`, and the active list of
Prosody's staff.json, then a restart), so every login goes the real way: STARTTLS, SASL PLAIN,
Cyrus SASL, saslauthd, PAM. On client1 one asyncio process of slixmpp clients (Debian's package)
then logs all N in, at most --concurrency logins in flight, and keeps them connected; it sends
--messages one-to-one messages between random pairs of them, one after another, and times each
from send to arrival. Reported per N: logins per second (N / time to have all N logged in), the
median and 99th percentile of the message latency, and Prosody's resident memory per connection
((RSS with N connected - RSS before) / N). Written to artifacts/bench-chat.json. The accounts are
removed again at the end (a converge of the scenario also removes them from staff.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from nsenter_host import Host, find_hosts

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Tw-Lab-Passw0rd!"  # noqa: S105 - the lab's test password (molecule/chat_server)
STAFF = "/etc/prosody/telework/staff.json"
SERVER = "10.231.33.30"  # chat1's desktop-zone address in the scenario

LOAD = r"""
import asyncio, json, random, ssl, statistics, sys, time
import slixmpp
n, conc, messages, domain, server = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
password = open("/root/bench-pw").read()
ctx = ssl.create_default_context(cafile="/etc/xmpp-probe/ca.pem")

class C(slixmpp.ClientXMPP):
    def __init__(self, jid):
        super().__init__(jid, password)
        self.ssl_context = ctx
        self.enable_direct_tls = False
        self.enable_starttls = True
        self.enable_plaintext = False
        self.ready = asyncio.Event()
        self.failed = False
        self.got = {}
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("failed_auth", self.fail)
        self.add_event_handler("connection_failed", self.fail)
        self.add_event_handler("message", self.msg)
    async def start(self, _):
        self.send_presence()
        self.ready.set()
    def fail(self, _):
        self.failed = True
        self.ready.set()
    def msg(self, m):
        if m["body"].startswith("bench "):
            self.got[m["body"]] = time.monotonic()

async def main():
    gate = asyncio.Semaphore(conc)
    clients = [C(f"bench{i:05d}@{domain}") for i in range(n)]
    async def one(c):
        async with gate:
            try:
                c.connect(host=server, port=5222)
            except TypeError:
                c.connect(address=(server, 5222))
            try:
                await asyncio.wait_for(c.ready.wait(), 120)
            except asyncio.TimeoutError:
                c.failed = True
    began = time.monotonic()
    await asyncio.gather(*(one(c) for c in clients))
    login_s = time.monotonic() - began
    ok = [c for c in clients if c.ready.is_set() and not c.failed]
    print(json.dumps({"phase": "connected", "ok": len(ok), "login_s": round(login_s, 2)}), flush=True)
    await asyncio.sleep(float(sys.argv[6]))  # the server's memory is read meanwhile
    latencies = []
    rnd = random.Random(7)
    for k in range(messages):
        a, b = rnd.sample(ok, 2)
        body = f"bench {k}"
        sent = time.monotonic()
        a.send_message(mto=b.boundjid.bare, mbody=body, mtype="chat")
        deadline = sent + 10
        while body not in b.got and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        if body in b.got:
            latencies.append((b.got[body] - sent) * 1000)
    lat = sorted(latencies)
    print(json.dumps({
        "phase": "done", "ok": len(ok), "failed": n - len(ok), "login_s": round(login_s, 2),
        "logins_per_s": round(len(ok) / login_s, 1) if login_s else 0,
        "messages": messages, "delivered": len(lat),
        "latency_ms_median": round(statistics.median(lat), 2) if lat else None,
        "latency_ms_p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2) if lat else None,
    }), flush=True)
    for c in ok:
        c.disconnect()
    await asyncio.sleep(2)

asyncio.new_event_loop().run_until_complete(main())
"""


def prosody_rss_kib(server: Host) -> int:
    pid = server.sh("systemctl show -p MainPID --value prosody").strip()
    for line in server.sh(f"cat /proc/{pid}/status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS for prosody")


def add_accounts(server: Host, n: int) -> None:
    lines = "\n".join(f"bench{i:05d}:{PASSWORD}:::bench:/nonexistent:/usr/sbin/nologin" for i in range(n))
    server.sh("newusers", stdin=lines + "\n")
    members = server.sh("getent group tw-staff | cut -d: -f4").strip()
    names = ",".join([m for m in members.split(",") if m] + [f"bench{i:05d}" for i in range(n)])
    server.sh('gpasswd -M "$(cat)" tw-staff >/dev/null', stdin=names)
    doc = json.loads(server.sh(f"cat {STAFF}"))
    doc["active"] = sorted(set(doc["active"]) | {f"bench{i:05d}" for i in range(n)})
    # A restart, not a reload: each N starts from a fresh server, so that the memory Lua keeps
    # from an earlier N does not hide what N connections take.
    server.sh(f"cat > {STAFF} && systemctl restart prosody", stdin=json.dumps(doc))


def remove_accounts(server: Host, n: int) -> None:
    doc = json.loads(server.sh(f"cat {STAFF}"))
    doc["active"] = [a for a in doc["active"] if not a.startswith("bench")]
    server.sh(f"cat > {STAFF} && systemctl reload prosody", stdin=json.dumps(doc))
    server.sh("for u in $(getent passwd | cut -d: -f1 | grep '^bench'); do userdel $u; done", check=False)


def run(server: Host, client: Host, n: int, concurrency: int, messages: int, domain: str) -> dict[str, Any]:
    add_accounts(server, n)
    try:
        time.sleep(5)
        before = prosody_rss_kib(server)
        proc = client.popen(
            f"ulimit -n $(ulimit -Hn); python3 -c {shlex.quote(LOAD)} {n} {concurrency} {messages} {domain} {SERVER} 20"
            " > /root/bench.out 2>/dev/null"
        )
        during = 0
        while proc.poll() is None:
            out = client.sh("cat /root/bench.out", check=False)
            if '"phase": "connected"' in out and not during:
                time.sleep(5)
                during = prosody_rss_kib(server)
            time.sleep(1)
        lines = [json.loads(x) for x in client.sh("cat /root/bench.out").splitlines() if x.startswith("{")]
        done: dict[str, Any] = next(x for x in lines if x["phase"] == "done")
        done["users"] = n
        done["prosody_rss_kib_before"] = before
        done["prosody_rss_kib_connected"] = during
        done["kib_per_connection"] = round((during - before) / max(done["ok"], 1), 1) if during else None
        return done
    finally:
        remove_accounts(server, n)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lab", default="mol-chat-server-debian13")
    p.add_argument("--users", type=int, nargs="+", default=[200, 2000])
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--messages", type=int, default=500)
    p.add_argument("--domain", default="chat.molecule.example")
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (nsenter into the lab hosts)")
    server, client = find_hosts(
        args.lab, ("chat1", "client1"), "MOLECULE_DISTRO=debian13 molecule converge -s chat_server"
    )
    ca = server.sh("cat /etc/prosody/telework/tls/ca.pem")
    client.sh(f"mkdir -p /etc/xmpp-probe && printf '%s' {shlex.quote(ca)} > /etc/xmpp-probe/ca.pem")
    client.sh(f"umask 077; printf '%s' {shlex.quote(PASSWORD)} > /root/bench-pw")
    release = server.sh(". /etc/os-release; echo $VERSION_ID").strip()
    prosody = server.sh("dpkg-query -W -f '${Version}' prosody").strip()
    results = []
    for n in args.users:
        r = run(server, client, n, args.concurrency, args.messages, args.domain)
        print(json.dumps(r), flush=True)
        results.append(r)
    argv = sys.argv[1:]
    out = {
        "command": "sudo .venv/bin/python benchmarks/chat_load.py " + shlex.join(argv),
        "debian": release,
        "prosody": prosody,
        "cpus": os.cpu_count(),
        "results": results,
    }
    path = ROOT / "artifacts" / "bench-chat.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
