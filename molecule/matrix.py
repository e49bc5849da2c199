"""Run `molecule test` for every scenario on every distribution, a few at a time.

    .venv/bin/python molecule/matrix.py --jobs 2 [--scenarios a b] [--distros debian13 debian12]

Each run gets its own Molecule ephemeral directory (so the Debian 13 and 12 runs of one scenario
never share instance files) and its own lab (`mol-<scenario>-<distro>`), so runs are
independent. Output goes to artifacts/molecule/<scenario>-<distro>.log; the summary lists every
run with its result and duration, and the tail of each failed run's log. Runs start longest
first, by the durations of the previous run (artifacts/molecule/durations.json).
Exit status: 0 when every run passed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "artifacts" / "molecule"
DURATIONS = OUT / "durations.json"
# Rough seconds per run, for the order of a first run (later runs use durations.json): the
# longest start first so that two workers finish close together.
EXPECTED = {"remote_desktop": 900, "baseline": 600, "vpn_gateway": 400, "log_server": 300, "zone_router": 200}


def scenarios() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


def run(scenario: str, distro: str) -> tuple[str, str, bool, float]:
    log = OUT / f"{scenario}-{distro}.log"
    env = dict(
        os.environ,
        MOLECULE_DISTRO=distro,
        MOLECULE_EPHEMERAL_DIRECTORY=str(ROOT / ".cache" / "molecule" / f"{scenario}-{distro}"),
        PY_COLORS="0",
        NO_COLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    started = time.monotonic()
    print(f"molecule: start {scenario} ({distro})", flush=True)
    with open(log, "w") as fh:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "molecule"), "test", "-s", scenario],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            check=False,
        )
    took = time.monotonic() - started
    print(f"molecule: {'ok  ' if proc.returncode == 0 else 'FAIL'} {scenario} ({distro}) in {took:.0f} s", flush=True)
    return scenario, distro, proc.returncode == 0, took


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--scenarios", nargs="*", default=None)
    p.add_argument("--distros", nargs="*", default=["debian13", "debian12"])
    args = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = args.scenarios or scenarios()
    unknown = sorted(set(wanted) - set(scenarios()))
    if unknown:
        print(f"molecule: unknown scenario(s): {', '.join(unknown)}; known: {', '.join(scenarios())}", file=sys.stderr)
        return 2
    previous: dict[str, float] = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    matrix = [(s, d) for s in wanted for d in args.distros]
    matrix.sort(key=lambda sd: -previous.get(f"{sd[0]}-{sd[1]}", EXPECTED.get(sd[0], 100.0)))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda sd: run(*sd), matrix))
    previous.update({f"{s}-{d}": round(t, 1) for s, d, _ok, t in results})
    DURATIONS.write_text(json.dumps(previous, indent=2, sort_keys=True))

    print(f"\nmolecule: {len(results)} run(s) in {time.monotonic() - started:.0f} s, {args.jobs} at a time")
    for s, d, ok, t in sorted(results):
        print(f"  {'ok  ' if ok else 'FAIL'}  {s:<20} {d:<9} {t:6.0f} s")
    failed = [(s, d) for s, d, ok, _t in results if not ok]
    for s, d in failed:
        log = OUT / f"{s}-{d}.log"
        tail = log.read_text(errors="replace").splitlines()[-80:]
        print(f"\n----- last lines of {log.relative_to(ROOT)} -----")
        print("\n".join(tail))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
