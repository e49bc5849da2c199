"""Benchmark of converging the lab site (not a test): Mitogen and plain linear side by side.

    sudo .venv/bin/python benchmarks/converge.py [--strategies mitogen_linear linear]
                                                 [--noop-runs 3] [--staff-runs 3] [--skip-fresh]
                                                 [--warm-plugins on|off|both]

For each strategy, in one run of this script:
  1. fresh: the lab site is taken down and booted again from the cached image (bare hosts), then
     `ansible/site.yml` converges it; wall time and the time per role;
  2. no-op: `site.yml` again on the converged site (changed=0 is checked), --noop-runs times;
     median wall time and median time per role;
  3. staff: the revocation fast path, `site.yml --tags staff`, with one active teleworker set to
     `disabled` (a changed run, checked), then with the list as it is (restoring them);
     --staff-runs pairs, medians.
`--warm-plugins both` measures each strategy with and without the callback
telework.platform.warm_plugins (ansible/ansible.cfg enables it), one after the other; every run
records its wall time and the controller's CPU time (ansible-playbook and every process it
forked). Prints a table and writes artifacts/bench/converge.json. The package proxy's cache should be
warm (a `make lab` before), or the first fresh converge also measures downloads from Debian.
The lab site is left up and converged with the last strategy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "artifacts" / "bench"
STRATEGIES = ("mitogen_linear", "linear", "mitogen_free", "free")
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unr>\d+)\s+failed=(?P<failed>\d+)"
)
ROLE_TIME = re.compile(r"^(?P<role>[\w.]+) -+ (?P<seconds>[\d.]+)s$")


@dataclass
class Run:
    seconds: float
    changed: dict[str, int]
    roles: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # controller: user + system of ansible-playbook and its children


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def python() -> str:
    return str(Path(sys.executable))


def ansible_playbook() -> str:
    return str(Path(sys.executable).parent / "ansible-playbook")


def run_site(strategy: str, *args: str, log: Path, warm: bool = True) -> Run:
    callbacks = "ansible.posix.profile_roles" + (",telework.platform.warm_plugins" if warm else "")
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible" / "ansible.cfg"),
        ANSIBLE_STRATEGY=strategy,
        ANSIBLE_CALLBACKS_ENABLED=callbacks,
        ANSIBLE_FORCE_COLOR="0",
        NO_COLOR="1",
    )
    argv = [ansible_playbook(), "-i", "inventories/lab", "ansible/site.yml", *args]
    started, cpu = time.monotonic(), children_cpu()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    took, cpu = time.monotonic() - started, children_cpu() - cpu
    log.write_text(proc.stdout + proc.stderr)
    changed: dict[str, int] = {}
    roles: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        if m := RECAP.match(line.strip()):
            if int(m["failed"]) or int(m["unr"]):
                raise SystemExit(f"bench: {strategy} run failed on {m['host']}; see {log}")
            changed[m["host"]] = int(m["changed"])
        elif (r := ROLE_TIME.match(line.strip())) and r["role"] != "total":
            roles[r["role"]] = float(r["seconds"])
    if proc.returncode != 0 or not changed:
        raise SystemExit(f"bench: {strategy} run exited {proc.returncode}; see {log}")
    return Run(round(took, 1), changed, roles, round(cpu, 1))


def lab(*args: str) -> None:
    subprocess.run([python(), "-m", "lab", *args, "-i", "inventories/lab"], cwd=ROOT, check=True, capture_output=True)


def disabled_list() -> tuple[dict[str, Any], str]:
    """The lab's staff list with its first active teleworker disabled, and that user's id."""
    doc = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/staff.yml").read_text())
    users = doc["telework_users"]
    victim = next(u for u in users if u["state"] == "active" and "telework" in u["groups"])
    doc["telework_users"] = [dict(u, state="disabled") if u is victim else u for u in users]
    return {"telework_users": doc["telework_users"]}, victim["id"]


def median_roles(runs: list[Run]) -> dict[str, float]:
    names = sorted({r for run in runs for r in run.roles})
    return {n: round(statistics.median(run.roles.get(n, 0.0) for run in runs), 1) for n in names}


def bench(strategy: str, noop_runs: int, staff_runs: int, fresh: bool, logs: Path, warm: bool = True) -> dict[str, Any]:
    label = strategy if warm else f"{strategy}, no warm_plugins"
    result: dict[str, Any] = {"strategy": label, "warm_plugins": warm}
    tag = strategy if warm else f"{strategy}-nowarm"

    def converge(*args: str, log: Path) -> Run:
        return run_site(strategy, *args, log=log, warm=warm)

    if fresh:
        lab("down")
        started = time.monotonic()
        lab("up")
        result["up_seconds"] = round(time.monotonic() - started, 1)
        run = converge(log=logs / f"{tag}-fresh.log")
        result["fresh"] = asdict(run)
        print(f"bench: {label} fresh converge {run.seconds:.0f} s", flush=True)
    noops = []
    for i in range(noop_runs):
        run = converge(log=logs / f"{tag}-noop-{i}.log")
        if any(run.changed.values()):
            raise SystemExit(f"bench: {label} no-op run {i} changed {run.changed}; see {logs}")
        noops.append(run)
        print(f"bench: {label} no-op run {i + 1}/{noop_runs} {run.seconds:.0f} s", flush=True)
    if noops:
        result["noop_median_seconds"] = statistics.median(r.seconds for r in noops)
        result["noop_median_cpu_seconds"] = statistics.median(r.cpu_seconds for r in noops)
        result["noop_runs"] = [r.seconds for r in noops]
        result["noop_median_roles"] = median_roles(noops)
    revoke, restore = [], []
    extra, victim = disabled_list()
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=OUT, delete=False) as fh:
        json.dump(extra, fh, ensure_ascii=False)
    try:
        for i in range(staff_runs):
            run = converge("--tags", "staff", "-e", f"@{fh.name}", log=logs / f"{tag}-revoke-{i}.log")
            if not any(run.changed.values()):
                raise SystemExit(f"bench: disabling {victim} changed nothing; see {logs}")
            revoke.append(run)
            restore.append(converge("--tags", "staff", log=logs / f"{tag}-restore-{i}.log"))
            print(
                f"bench: {label} staff run {i + 1}/{staff_runs}: revoke {revoke[-1].seconds:.0f} s, "
                f"restore {restore[-1].seconds:.0f} s",
                flush=True,
            )
    finally:
        Path(fh.name).unlink()
    if revoke:
        result["staff_user"] = victim
        result["staff_revoke_median_seconds"] = statistics.median(r.seconds for r in revoke)
        result["staff_restore_median_seconds"] = statistics.median(r.seconds for r in restore)
        result["staff_revoke_median_cpu_seconds"] = statistics.median(r.cpu_seconds for r in revoke)
    return result


def table(results: list[dict[str, Any]]) -> str:
    rows = [("figure", *[r["strategy"] for r in results])]

    def add(label: str, key: str) -> None:
        rows.append((label, *[f"{r[key]:.0f} s" if key in r else "-" for r in results]))

    rows.append(
        ("fresh converge (bare hosts)", *[f"{r['fresh']['seconds']:.0f} s" if "fresh" in r else "-" for r in results])
    )
    add("no-op rerun, median", "noop_median_seconds")
    add("no-op rerun, controller CPU, median", "noop_median_cpu_seconds")
    add("staff run: disable one user, median", "staff_revoke_median_seconds")
    add("staff run: list unchanged, median", "staff_restore_median_seconds")
    add("staff run: disable, controller CPU, median", "staff_revoke_median_cpu_seconds")
    roles = sorted({n for r in results for n in r.get("noop_median_roles", {})})
    for n in roles:
        rows.append((f"  no-op: {n}", *[f"{r.get('noop_median_roles', {}).get(n, 0):.1f} s" for r in results]))
    froles = sorted({n for r in results for n in r.get("fresh", {}).get("roles", {})})
    for n in froles:
        rows.append((f"  fresh: {n}", *[f"{r.get('fresh', {}).get('roles', {}).get(n, 0):.0f} s" for r in results]))
    width = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(width[i]) for i, c in enumerate(row)) for row in rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--strategies", nargs="+", default=["mitogen_linear", "linear"])
    p.add_argument("--noop-runs", type=int, default=3)
    p.add_argument("--staff-runs", type=int, default=3)
    p.add_argument("--skip-fresh", action="store_true", help="measure no-op and staff runs on the site as it is")
    p.add_argument(
        "--warm-plugins",
        choices=("on", "off", "both"),
        default="on",
        help="with the callback telework.platform.warm_plugins (on, as ansible.cfg has it), without, or both",
    )
    args = p.parse_args()
    unknown = [s for s in args.strategies if s not in STRATEGIES]
    if unknown:
        p.error(f"unknown strategy {', '.join(unknown)}; choose from {', '.join(STRATEGIES)}")
    if os.geteuid() != 0:
        p.error("the lab needs root: run with sudo")
    OUT.mkdir(parents=True, exist_ok=True)
    logs = OUT / "converge-logs"
    logs.mkdir(exist_ok=True)
    warm = {"on": [True], "off": [False], "both": [True, False]}[args.warm_plugins]
    results = [
        bench(s, args.noop_runs, args.staff_runs, not args.skip_fresh, logs, warm=w)
        for s in args.strategies
        for w in warm
    ]
    doc = {"machine": {"cpus": os.cpu_count()}, "results": results}
    (OUT / "converge.json").write_text(json.dumps(doc, indent=2))
    print("\n" + table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
