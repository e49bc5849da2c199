"""Benchmark of the file server (not a test): what SMB3 encryption costs, and how soon a disabled
user's open connection ends.

    MOLECULE_DISTRO=debian13 .venv/bin/molecule converge -s file_server      # the hosts, once
    sudo .venv/bin/python benchmarks/file_shares.py [--runs 3] [--big-mib 1024] [--small-files 5000]
    make bench-file-server                                                  # both, then the hosts removed

Transfers run on the scenario's lab link, from client1 (Debian's smbclient) to fs1 (the role's
Samba), user sato.taro on the somu share: one large file (--big-mib MiB of random data) written
and read back, and --small-files files of 10 KiB written with `mput`. Each kind runs --runs times
with the role's configuration (`server smb encrypt = required`) and as many times with encryption
switched off on fs1 (`server smb encrypt = off`, this benchmark's change only; the role's
smb.conf is put back at the end, whatever happens). The cipher of each mode is read from fs1's
`smbstatus --json` while a connection is held, so the comparison is known to be encrypted
against plain. Reported: the median seconds and MiB/s of each kind and mode, and the ratio
plain / encrypted throughput (how many times faster the link would be without encryption).

Revocation: a connection of kato.mai is held open, then the scenario's converge runs with
`--tags staff` and kato.mai disabled; measured is the time from the start of that run until fs1
holds no session of hers (and the whole run's time); then she is made active again. Median of
--runs. Results go to artifacts/bench-file-server.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from nsenter_host import Host, find_hosts

ROOT = Path(__file__).resolve().parents[1]
LAB = "mol-file-server-debian13"
SERVER_ADDRESS = "10.231.33.20"
USER, SHARE, PASSWORD = "sato.taro", "somu", "Tw-Lab-Passw0rd!"
REVOKED = "kato.mai"
CONFIG = "/etc/samba/smb.conf"
WORK = "/var/tmp/tw-bench"


def hosts() -> tuple[Host, Host]:
    return find_hosts(LAB, ("fs1", "client1"), "MOLECULE_DISTRO=debian13 molecule converge -s file_server")


def smb(user: str, commands: str) -> str:
    return (
        f"smbclient //{SERVER_ADDRESS}/{SHARE} -A {WORK}/auth-{user} -c {shlex.quote(commands)} >/dev/null 2>{WORK}/err"
        f" || {{ cat {WORK}/err >&2; exit 1; }}"
    )


def timed(client: Host, script: str) -> float:
    started = time.monotonic()
    client.sh(script)
    return time.monotonic() - started


def sessions(server: Host) -> list[dict[str, Any]]:
    return list(json.loads(server.sh("/usr/local/sbin/file-server-passdb status"))["connections"])


def held_cipher(server: Host, client: Host, user: str) -> str:
    """The cipher fs1 reports for a connection of user held open from client1."""
    hold = client.popen(f"smbclient //{SERVER_ADDRESS}/{SHARE} -A {WORK}/auth-{user} >/dev/null 2>&1")
    try:
        for _ in range(100):
            mine = [s for s in sessions(server) if s["user"] == user]
            if mine:
                return str(mine[0].get("cipher") or "none")
            time.sleep(0.1)
        raise RuntimeError(f"{user}'s connection never reached fs1")
    finally:
        hold.terminate()
        hold.wait()


def set_encryption(server: Host, value: str) -> None:
    server.sh(
        f"sed -i -E 's/^(\\s*server smb encrypt = ).*/\\1{value}/' {CONFIG} && testparm -s {CONFIG} >/dev/null 2>&1"
        " && smbcontrol smbd reload-config"
    )
    time.sleep(1)


def transfers(server: Host, client: Host, runs: int, big_mib: int, small: int) -> dict[str, Any]:
    client.sh(
        f"mkdir -p {WORK}/small && cd {WORK} && [ -s big.bin ] && [ $(stat -c %s big.bin) = {big_mib * 1048576} ]"
        f" || head -c {big_mib * 1048576} /dev/urandom > {WORK}/big.bin"
    )
    client.sh(
        f"cd {WORK}/small && [ $(ls | wc -l) = {small} ] || {{ rm -f *; i=0; while [ $i -lt {small} ]; do"
        f" head -c 10240 /dev/urandom > f$i.bin; i=$((i+1)); done; }}"
    )
    results: dict[str, Any] = {}
    backup = server.sh(f"cat {CONFIG}")
    try:
        for mode, value in (("encrypted", "required"), ("plain", "off")):
            set_encryption(server, value)
            cipher = held_cipher(server, client, USER)
            if (mode == "plain") != (cipher in ("none", "-", "")):
                raise RuntimeError(f"mode {mode}: fs1 reports cipher {cipher!r}")
            put, get, many = [], [], []
            for run in range(runs):
                name = f"bench-big-{run}.bin"
                put.append(timed(client, smb(USER, f"put {WORK}/big.bin {name}")))
                get.append(timed(client, smb(USER, f"get {name} {WORK}/back.bin; del {name}")))
                folder = f"bench-small-{run}"
                many.append(
                    timed(client, smb(USER, f"mkdir {folder}; cd {folder}; lcd {WORK}/small; prompt off; mput *"))
                )
                server.sh(f"rm -rf /srv/shares/{SHARE}/{folder} /srv/shares/{SHARE}/.recycle")
            results[mode] = {
                "cipher": cipher,
                "big_put_s": [round(t, 2) for t in put],
                "big_get_s": [round(t, 2) for t in get],
                "small_put_s": [round(t, 2) for t in many],
                "big_put_mib_s": round(big_mib / statistics.median(put), 1),
                "big_get_mib_s": round(big_mib / statistics.median(get), 1),
                "small_files_s": round(small / statistics.median(many), 1),
            }
    finally:
        server.sh(f"cat > {CONFIG} <<'EOF'\n{backup}EOF\nsmbcontrol smbd reload-config")
    enc, plain = results["encrypted"], results["plain"]
    results["ratio_plain_over_encrypted"] = {
        key: round(plain[key] / enc[key], 2) for key in ("big_put_mib_s", "big_get_mib_s", "small_files_s")
    }
    return results


def staff(state: str) -> list[dict[str, Any]]:
    inventory = yaml.safe_load((ROOT / "molecule" / "file_server" / "molecule.yml").read_text())
    users: list[dict[str, Any]] = inventory["provisioner"]["inventory"]["group_vars"]["all"]["telework_users"]
    return [dict(u, state=state) if u["id"] == REVOKED else u for u in users]


def staff_run(state: str) -> subprocess.Popen[str]:
    env = dict(os.environ, MOLECULE_DISTRO="debian13")
    extra = json.dumps({"telework_users": staff(state)})
    argv = [str(ROOT / ".venv" / "bin" / "molecule"), "converge", "-s", "file_server", "--", "--tags", "staff"]
    return subprocess.Popen([*argv, "-e", extra], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, text=True)


def revocation(server: Host, client: Host, runs: int) -> dict[str, Any]:
    ended, whole = [], []
    for _ in range(runs):
        hold = client.popen(f"smbclient //{SERVER_ADDRESS}/zaimu -A {WORK}/auth-{REVOKED}")
        try:
            for _ in range(100):
                if any(s["user"] == REVOKED for s in sessions(server)):
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"{REVOKED}'s connection never reached fs1")
            started = time.monotonic()
            run = staff_run("disabled")
            gone = None
            while run.poll() is None or gone is None:
                if gone is None and not any(s["user"] == REVOKED for s in sessions(server)):
                    gone = time.monotonic() - started
                if run.poll() is not None and gone is None and time.monotonic() - started > 600:
                    raise RuntimeError(f"{REVOKED}'s session did not end")
                time.sleep(0.2)
            if run.returncode != 0:
                raise RuntimeError("the staff run failed")
            whole.append(time.monotonic() - started)
            ended.append(gone)
        finally:
            hold.terminate()
            hold.wait()
            back = staff_run("active")
            back.wait()
    return {
        "session_ended_after_s": [round(t, 1) for t in ended],
        "staff_run_s": [round(t, 1) for t in whole],
        "median_session_ended_after_s": round(statistics.median(ended), 1),
        "median_staff_run_s": round(statistics.median(whole), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--small-files", type=int, default=5000)
    parser.add_argument("--no-revocation", action="store_true")
    args = parser.parse_args()
    server, client = hosts()
    client.sh(f"mkdir -p {WORK} && chmod 700 {WORK}")
    for user in (USER, REVOKED):
        secret = f"username = {user}\npassword = {PASSWORD}\n"
        client.sh(f"umask 077; printf %s {shlex.quote(secret)} > {WORK}/auth-{user}")
    report: dict[str, Any] = {
        "command": "benchmarks/file_shares.py " + " ".join(sys.argv[1:]),
        "runs": args.runs,
        "big_mib": args.big_mib,
        "small_files": args.small_files,
        "cores": os.cpu_count(),
        "transfers": transfers(server, client, args.runs, args.big_mib, args.small_files),
    }
    if not args.no_revocation:
        report["revocation"] = revocation(server, client, args.runs)
    out = ROOT / "artifacts" / "bench-file-server.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
