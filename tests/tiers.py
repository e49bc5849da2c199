"""Run the test tiers of `make test` and print the time of each at the end.

    .venv/bin/python tests/tiers.py [--only lint unit ...]

Tiers run as `make <target>`: lint, unit and engine one after the other (the first failure
stops the run, as `make` would), then the role tier (Molecule) and the site tier (the lab) side
by side: they use separate labs and mostly wait on their hosts. The output of the two side by
side goes to artifacts/tiers/<tier>.log and is printed when the tier ends. The summary, printed
even when a tier fails, gives each tier's result and seconds, the wall time of the whole run,
and the Molecule steps (artifacts/molecule/steps.json) when the role tier ran.
Exit status: 0 when every tier passed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "artifacts" / "tiers"
# (tier, make target) in order; the last two run side by side.
SEQUENTIAL = [("static", "lint"), ("unit", "unit"), ("engine", "engine-test")]
PARALLEL = [("role", "molecule"), ("site", "lab-test")]
ALL = [name for name, _ in SEQUENTIAL + PARALLEL]


@dataclass
class Outcome:
    tier: str
    ok: bool
    seconds: float


def make(target: str, log: Path | None) -> int:
    argv = [os.environ.get("MAKE", "make"), "--no-print-directory", target]
    if log is None:
        return subprocess.run(argv, cwd=ROOT, check=False).returncode
    with open(log, "w") as fh:
        return subprocess.run(argv, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, check=False).returncode


def run_tier(tier: str, target: str, log: Path | None) -> Outcome:
    started = time.monotonic()
    rc = make(target, log)
    return Outcome(tier, rc == 0, time.monotonic() - started)


def summary(outcomes: list[Outcome], wall: float) -> str:
    lines = ["", "test tiers (seconds):"]
    for o in outcomes:
        lines.append(f"  {'ok  ' if o.ok else 'FAIL'}  {o.tier:<8} {o.seconds:7.0f}")
    lines.append(f"  total wall time {wall:7.0f} s ({wall / 60:.1f} min)")
    steps_file = ROOT / "artifacts" / "molecule" / "steps.json"
    if any(o.tier == "role" for o in outcomes) and steps_file.exists():
        steps: dict[str, dict[str, float]] = json.loads(steps_file.read_text())
        lines.append("  role tier steps (s): scenario-distro converge / idempotence / verify")
        for run, s in sorted(steps.items()):
            lines.append(
                f"    {run:<28} {s.get('converge', 0):5.0f} {s.get('idempotence', 0):5.0f} {s.get('verify', 0):5.0f}"
            )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", choices=ALL, default=ALL, help="run these tiers only")
    args = p.parse_args()
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    outcomes: list[Outcome] = []
    ok = True
    for tier, target in SEQUENTIAL:
        if tier not in args.only:
            continue
        outcome = run_tier(tier, target, None)
        outcomes.append(outcome)
        if not outcome.ok:
            ok = False
            break
    if ok:
        side_by_side = [(t, target) for t, target in PARALLEL if t in args.only]
        results: dict[str, Outcome] = {}

        def worker(tier: str, target: str) -> None:
            results[tier] = run_tier(tier, target, LOGS / f"{tier}.log")
            print((LOGS / f"{tier}.log").read_text(errors="replace"), flush=True)

        threads = [threading.Thread(target=worker, args=tt) for tt in side_by_side]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes += [results[t] for t, _ in side_by_side]
    print(summary(outcomes, time.monotonic() - started), flush=True)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
