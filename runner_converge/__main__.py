"""`python -m runner_converge` (`make runner-converge`): converge the lab site through ansible-runner.

Checks that every host of the inventory runs (it says how to start the lab when not), lays out
the private data directory (artifacts/runner/<lab>), runs `ansible-runner run <dir> -p site.yml`
as AWX would, and prints the recap per host, status, rc and time; the same figures go to
<dir>/artifacts/<ident>/summary.json. Exits 0 only when the run succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from runner_converge.lab_site import LabNotUpError, require_up
from runner_converge.private_data_dir import REPOSITORY, STRATEGIES, LayoutError, checked_strategy, lay_out
from runner_converge.results import ResultsError, read, render


def ansible_runner() -> str:
    candidate = Path(sys.executable).parent / "ansible-runner"
    return str(candidate) if candidate.exists() else "ansible-runner"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runner_converge", description=__doc__)
    parser.add_argument("-i", "--inventory", type=Path, default=REPOSITORY / "inventories" / "lab")
    parser.add_argument("--strategy", default=os.environ.get("ANSIBLE_STRATEGY") or STRATEGIES[0])
    parser.add_argument("--dir", type=Path, help="private data directory (default artifacts/runner/<lab>)")
    args = parser.parse_args(argv)
    try:
        checked_strategy(args.strategy)  # bad input stops before anything is asked or made
        lab = require_up(args.inventory)
        layout = lay_out(args.dir or REPOSITORY / "artifacts" / "runner" / lab, args.inventory, args.strategy)
    except (LabNotUpError, LayoutError) as error:
        print(f"runner-converge: {error}", file=sys.stderr)
        return 2
    ident = time.strftime("%Y%m%dT%H%M%S")
    argv_run = [ansible_runner(), "run", str(layout.root), "-p", layout.playbook, "--ident", ident]
    print(f"runner-converge: {' '.join(argv_run)} (strategy {layout.strategy})", flush=True)
    started = time.monotonic()
    subprocess.run(argv_run, check=False)
    seconds = time.monotonic() - started
    artifacts = layout.root / "artifacts" / ident
    try:
        result = read(artifacts)
    except ResultsError as error:
        print(f"runner-converge: {error}", file=sys.stderr)
        return 1
    print(render(result, seconds))
    summary = {"status": result.status, "rc": result.rc, "seconds": round(seconds, 1), "strategy": layout.strategy}
    summary |= {"changed": result.changed, "hosts": result.hosts}
    (artifacts / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
