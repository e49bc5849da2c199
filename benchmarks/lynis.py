"""Benchmark (not a test): the Lynis hardening index of a bare lab host and of one converged with `baseline`.

    sudo .venv/bin/python benchmarks/lynis.py [--release trixie bookworm] [--keep]

For each Debian release it boots two lab hosts from the same cached minbase image (lab
`bench-lynis`): `bare-*` stays as the image made it, `hardened-*` is converged with
ansible/roles/baseline by ansible-playbook (the site's zones and admin networks, role defaults).
Then it installs lynis from Debian in both, runs `lynis audit system --quick --no-colors` inside
them (nsenter, like `python -m lab exec`) and prints the hardening index of each. The full
result, with Lynis's remaining suggestions, goes to artifacts/bench-lynis.json.

Lab hosts are systemd-nspawn containers: kernel.*, fs.* and dev.* sysctls and auditd belong to
the machine's kernel there, so Lynis sees the machine's values for those; on a VM or bare metal
the role sets them too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # type: ignore[import-untyped]

from lab.engine import Engine
from lab.preflight import check_machine
from lab.settings import load
from lab.spec import RELEASES, normalise_release, parse_spec
from lab.state import LabState

ROOT = Path(__file__).resolve().parents[1]
LAB = "bench-lynis"
LYNIS_COMMAND = "lynis audit system --quick --no-colors"
INDEX = re.compile(r"Hardening index\s*:\s*(\d+)")
SITE_VARS: dict[str, Any] = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/site.yml").read_text())


def log(msg: str) -> None:
    print(f"bench-lynis: {msg}", file=sys.stderr, flush=True)


def inside(state: LabState, host: str, script: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run a shell script inside a lab host through its namespaces (no SSH needed)."""
    leader = state.hosts[host].leader_pid
    argv = ["nsenter", "-t", str(leader), "-a", "/bin/sh", "-c", script]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def converge(state: LabState, hosts: list[str]) -> float:
    """Apply the baseline role to hosts with ansible-playbook; return the seconds it took."""
    settings = load()
    inventory = {
        "all": {
            "hosts": {h: {"ansible_host": state.hosts[h].control_address} for h in hosts},
            "vars": {
                "ansible_user": settings.admin_user,
                "ansible_become": True,
                "ansible_ssh_private_key_file": str(settings.ssh_key),
                "ansible_ssh_common_args": f"-o UserKnownHostsFile={settings.known_hosts} -o StrictHostKeyChecking=yes",
                "site_zones": SITE_VARS["site_zones"],
                "site_admin_networks": SITE_VARS["site_admin_networks"],
            },
        }
    }
    playbook = [{"name": "Apply the baseline role", "hosts": "all", "roles": [{"role": "baseline"}]}]
    with tempfile.TemporaryDirectory() as tmp:
        inv = Path(tmp) / "inventory.yml"
        inv.write_text(yaml.safe_dump(inventory))
        play = Path(tmp) / "baseline.yml"
        play.write_text(yaml.safe_dump(playbook))
        env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(ROOT / "ansible" / "ansible.cfg"),
            ANSIBLE_ROLES_PATH=str(ROOT / "ansible" / "roles"),
            ANSIBLE_NOCOLOR="1",
        )
        ansible_playbook = Path(sys.executable).with_name("ansible-playbook")
        started = time.monotonic()
        proc = subprocess.run(
            [str(ansible_playbook), "-i", str(inv), str(play)],
            capture_output=True,
            text=True,
            env=env,
            timeout=1800,
            check=False,
        )
        if proc.returncode != 0:
            log_file = ROOT / "artifacts" / "bench-lynis-converge.log"
            log_file.parent.mkdir(exist_ok=True)
            log_file.write_text(proc.stdout + "\n" + proc.stderr)
            raise SystemExit(f"converge failed, see {log_file.relative_to(ROOT)}:\n{proc.stdout[-3000:]}")
        return time.monotonic() - started


def audit(state: LabState, host: str) -> dict[str, Any]:
    """Install lynis from Debian inside the host, run it, return the index and what it suggests."""
    install = "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q lynis >/dev/null"
    proc = inside(state, host, f"{install} && {LYNIS_COMMAND}")
    match = INDEX.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        detail = f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        raise SystemExit(f"lynis failed on {host} (exit {proc.returncode}):\n{detail}")
    report = inside(state, host, "cat /var/log/lynis-report.dat").stdout
    version = inside(state, host, "lynis show version").stdout.strip()
    return {
        "hardening_index": int(match[1]),
        "lynis": version,
        "suggestions": report_ids(report, "suggestion"),
        "warnings": report_ids(report, "warning"),
    }


def report_ids(report: str, kind: str) -> list[str]:
    """Test IDs of one kind of finding (suggestion, warning) in /var/log/lynis-report.dat."""
    prefix = f"{kind}[]="
    return sorted({line[len(prefix) :].split("|")[0] for line in report.splitlines() if line.startswith(prefix)})


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--release", nargs="+", default=["trixie", "bookworm"], help="trixie/debian13, bookworm/debian12")
    p.add_argument("--keep", action="store_true", help="leave the hosts up (python -m lab status) to look around")
    args = p.parse_args()
    check_machine()
    releases = [normalise_release(r, "--release") for r in args.release]
    command = "sudo .venv/bin/python benchmarks/lynis.py " + shlex.join(sys.argv[1:])
    settings = load()
    engine = Engine(settings, log)
    hosts: dict[str, dict[str, str]] = {}
    for release in releases:
        major = RELEASES[release]
        hosts[f"bare-{major}"] = {"release": release, "role": "none"}
        hosts[f"hardened-{major}"] = {"release": release, "role": "baseline"}
    doc = {
        "name": LAB,
        "zones": {"management": {"subnet": "10.231.34.0/24"}},
        "hosts": {name: {"release": h["release"], "interfaces": {"management": "auto"}} for name, h in hosts.items()},
    }
    result: dict[str, Any] = {"command": command.strip(), "lynis_command": LYNIS_COMMAND, "hosts": {}}
    try:
        state = engine.up(parse_spec(doc, settings))
        hardened = [name for name, h in hosts.items() if h["role"] == "baseline"]
        log(f"converging {', '.join(hardened)} with the baseline role")
        result["converge_seconds"] = round(converge(state, hardened), 1)
        for name, h in hosts.items():
            log(f"running lynis on {name}")
            result["hosts"][name] = {**h, "debian": RELEASES[h["release"]], **audit(state, name)}
    finally:
        if not args.keep:
            engine.down(LAB)

    print(f"command: {result['command']}")
    print(f"inside each host: {LYNIS_COMMAND}")
    print(f"{'host':<14} {'Debian':<7} {'role':<9} {'lynis':<7} hardening index")
    for name, r in result["hosts"].items():
        print(f"{name:<14} {r['debian']:<7} {r['role']:<9} {r['lynis']:<7} {r['hardening_index']}")
    out = ROOT / "artifacts" / "bench-lynis.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"written: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
