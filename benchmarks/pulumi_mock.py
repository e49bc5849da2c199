"""How long the whole Pulumi program takes under the mock runtime, at 200 and 2,000 seats.

Not a test: it prints the median (and min/max) of several runs and the command used.
Two figures per size:
- cold: a fresh Python process imports pulumi, pulumi_aws and the program, then runs it once
  (what one `pytest` invocation or one CI job pays first);
- warm: the same process runs the program again (what each further test pays).

Usage (from the repository root):
    python benchmarks/pulumi_mock.py [--runs 7] [--seats 200 2000]
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _one_run(seats: int) -> dict[str, float]:
    """Import and run the program once in this process; return the timings in seconds."""
    start = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from tests.unit.infra.pulumi_mocks import config_for, run_program

    imported = time.perf_counter()
    mocks = run_program(config_for(seats, client_vpn_cidr="10.44.0.0/16"))
    done = time.perf_counter()
    return {
        "import_s": imported - start,
        "run_s": done - imported,
        "resources": float(len(mocks.resources)),
    }


def _warm_runs(seats: int, runs: int) -> list[float]:
    from tests.unit.infra.pulumi_mocks import config_for, run_program

    cfg = config_for(seats, client_vpn_cidr="10.44.0.0/16")
    run_program(cfg)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run_program(cfg)
        times.append(time.perf_counter() - start)
    return times


def _summary(values: list[float]) -> str:
    return f"median {statistics.median(values):7.3f} s  (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per size (default 7)")
    parser.add_argument("--seats", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:
        print(json.dumps(_one_run(args.child)))
        return 0

    print("command:", shlex.join([sys.executable, *sys.argv]))
    print(f"python {sys.version.split()[0]} at {sys.executable}")
    sys.path.insert(0, str(ROOT))
    for seats in args.seats:
        cold_total: list[float] = []
        cold_run: list[float] = []
        resources = 0.0
        for _ in range(args.runs):
            output = subprocess.run(
                [sys.executable, __file__, "--child", str(seats)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            ).stdout
            timing = json.loads(output.strip().splitlines()[-1])
            cold_total.append(timing["import_s"] + timing["run_s"])
            cold_run.append(timing["run_s"])
            resources = timing["resources"]
        warm = _warm_runs(seats, args.runs)
        print(f"\n{seats} seats ({int(resources)} resources registered)")
        print(f"  cold, import + first run : {_summary(cold_total)}")
        print(f"  cold, first run only     : {_summary(cold_run)}")
        print(f"  warm, each further run   : {_summary(warm)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
