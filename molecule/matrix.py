"""Run `molecule test` for every scenario on every distribution, a few at a time.

    .venv/bin/python molecule/matrix.py --jobs 2 [--scenarios a b] [--distros debian13 debian12]
                                        [--strategy debian12=linear]

Each run gets its own Molecule ephemeral directory (so the Debian 13 and 12 runs of one scenario
never share instance files) and its own lab (`mol-<scenario>-<distro>`), so runs are
independent. Output goes to artifacts/molecule/<scenario>-<distro>.log, with the seconds since
the run started in front of every Molecule step line; the summary lists every run with its
result, duration and the time of each step (converge, idempotence, verify, ...), and the tail
of each failed run's log. Runs start longest first, by the durations of the previous run
(artifacts/molecule/durations.json). `--strategy DISTRO=STRATEGY` runs that distribution's
scenarios with another Ansible strategy than the configured one (ANSIBLE_STRATEGY), so that one
matrix proves every role under both Mitogen and plain linear. Exit status: 0 when every run passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "artifacts" / "molecule"
DURATIONS = OUT / "durations.json"
# Rough seconds per run, for the order of a first run (later runs use durations.json): the
# longest start first so that two workers finish close together.
EXPECTED = {
    "remote_desktop": 1100,
    "rdp_broker": 750,
    "vpn_gateway": 700,
    "baseline": 500,
    "log_server": 400,
    "site_pki": 300,
    "zone_router": 150,
}
# Molecule's step lines: "INFO     [scenario > converge] Executing" / "... Executed: Successful".
STRATEGIES = ("mitogen_linear", "linear", "mitogen_free", "free")
STEP = re.compile(r"\[(?P<scenario>[\w-]+) > (?P<step>[\w-]+)\] (?P<what>Executing|Executed)")


@dataclass
class Result:
    scenario: str
    distro: str
    ok: bool
    seconds: float
    strategy: str
    steps: dict[str, float] = field(default_factory=dict)


def scenarios() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


def run(scenario: str, distro: str, strategy: str) -> Result:
    log = OUT / f"{scenario}-{distro}.log"
    env = dict(
        os.environ,
        ANSIBLE_STRATEGY=strategy,
        MOLECULE_DISTRO=distro,
        MOLECULE_EPHEMERAL_DIRECTORY=str(ROOT / ".cache" / "molecule" / f"{scenario}-{distro}"),
        PY_COLORS="0",
        NO_COLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    started = time.monotonic()
    steps: dict[str, float] = {}
    step_started: dict[str, float] = {}
    print(f"molecule: start {scenario} ({distro}, {strategy})", flush=True)
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "molecule"), "test", "-s", scenario],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.monotonic()
            m = STEP.search(line)
            if m:
                if m["what"] == "Executing":
                    step_started[m["step"]] = now
                elif m["step"] in step_started:
                    # a step that runs twice (destroy) counts both times
                    steps[m["step"]] = steps.get(m["step"], 0.0) + now - step_started.pop(m["step"])
                fh.write(f"[{now - started:7.1f} s] ")
            fh.write(line)
        proc.wait()
    took = time.monotonic() - started
    ok = proc.returncode == 0
    print(f"molecule: {'ok  ' if ok else 'FAIL'} {scenario} ({distro}, {strategy}) in {took:.0f} s", flush=True)
    return Result(scenario, distro, ok, took, strategy, steps)


def step_summary(steps: dict[str, float]) -> str:
    shown = ("converge", "idempotence", "verify", "prepare", "create", "destroy")
    return "  ".join(f"{s} {steps[s]:.0f}" for s in shown if s in steps)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--scenarios", nargs="*", default=None)
    p.add_argument("--distros", nargs="*", default=["debian13", "debian12"])
    p.add_argument(
        "--strategy",
        action="append",
        default=[],
        metavar="DISTRO=STRATEGY",
        help="run one distribution's scenarios with this strategy (default: ANSIBLE_STRATEGY or ansible.cfg's)",
    )
    args = p.parse_args()
    default_strategy = os.environ.get("ANSIBLE_STRATEGY") or "mitogen_linear"
    per_distro: dict[str, str] = {}
    for item in args.strategy:
        distro, _, strategy = item.partition("=")
        if distro not in ("debian13", "debian12") or strategy not in STRATEGIES:
            print(
                f"molecule: --strategy {item!r}: expected DISTRO=STRATEGY with DISTRO debian13 or debian12 "
                f"and STRATEGY one of {', '.join(STRATEGIES)}",
                file=sys.stderr,
            )
            return 2
        per_distro[distro] = strategy
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = args.scenarios or scenarios()
    unknown = sorted(set(wanted) - set(scenarios()))
    if unknown:
        print(f"molecule: unknown scenario(s): {', '.join(unknown)}; known: {', '.join(scenarios())}", file=sys.stderr)
        return 2
    bad_distros = sorted(set(args.distros) - {"debian13", "debian12"})
    if bad_distros:
        print(f"molecule: unknown distro(s): {', '.join(bad_distros)}; known: debian13, debian12", file=sys.stderr)
        return 2
    previous: dict[str, float] = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    matrix = [(s, d) for s in wanted for d in args.distros]
    matrix.sort(key=lambda sd: -previous.get(f"{sd[0]}-{sd[1]}", EXPECTED.get(sd[0], 100.0)))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda sd: run(sd[0], sd[1], per_distro.get(sd[1], default_strategy)), matrix))
    previous.update({f"{r.scenario}-{r.distro}": round(r.seconds, 1) for r in results})
    DURATIONS.write_text(json.dumps(previous, indent=2, sort_keys=True))
    steps = {f"{r.scenario}-{r.distro}": {k: round(v, 1) for k, v in r.steps.items()} for r in results}
    (OUT / "steps.json").write_text(json.dumps(steps, indent=2))

    print(f"\nmolecule: {len(results)} run(s) in {time.monotonic() - started:.0f} s, {args.jobs} at a time")
    for r in sorted(results, key=lambda r: (r.scenario, r.distro)):
        mark = "ok  " if r.ok else "FAIL"
        print(f"  {mark}  {r.scenario:<20} {r.distro:<9} {r.strategy:<15} {r.seconds:6.0f} s   {step_summary(r.steps)}")
    failed = [r for r in results if not r.ok]
    for r in failed:
        log = OUT / f"{r.scenario}-{r.distro}.log"
        tail = log.read_text(errors="replace").splitlines()[-80:]
        print(f"\n----- last lines of {log.relative_to(ROOT)} -----")
        print("\n".join(tail))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
