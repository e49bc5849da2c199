"""Run the test tiers of `make test` and print the time of each at the end.

    .venv/bin/python tests/tiers.py [--only static unit engine role site]

Tiers run as `make <target>`. First the engine tier (`make engine-test`), with no other lab
up: its last test takes every lab of the machine down and checks that nothing is left, which it
can only observe when no other lab is up. Two lanes run:

  check lane: static (`make lint`), unit, then site (`make lab-test`), one after the other;
              static and unit use no lab, so they start at once, beside the engine tier (which
              waits on hosts booting much of its time); site waits for the engine tier to end;
  role lane:  role (the Molecule matrix, `make molecule`), the longest tier by far, started as
              soon as the engine tier has ended.

The role tier is the critical path, so it does not wait for the short tiers: they run beside it
on the same machine (their labs are separate: `mol-*` for Molecule, `site` for the site tier).
When the check lane has ended, the role tier has the machine to itself: tiers.py then creates
the file named by MOLECULE_ALONE_FLAG (artifacts/tiers/alone.flag), and the matrix starts up to
MOLECULE_JOBS_ALONE runs at a time instead of MOLECULE_JOBS (Makefile).
When engine, static or unit fails, the run stops and a running role tier is ended too (its
Molecule labs are taken down by `python -m lab down --all` in `.ci/run`), so a broken commit
fails in minutes, as `make` would. A failing site tier does not stop the role tier: both results
are worth having.

Each tier's output goes to artifacts/tiers/<tier>.log and is printed when the tier ends. The
summary, printed even when a tier fails, gives each tier's result, start offset and seconds, the
wall time of the whole run, and the Molecule steps (artifacts/molecule/steps.json) when the role
tier ran. Exit status: 0 when every tier that ran passed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOGS = Path(os.environ.get("TIERS_LOG_DIR", ROOT / "artifacts" / "tiers"))
# (tier, make target); the check lane runs in this order, the role lane beside it.
FIRST = [("engine", "engine-test")]
CHECK_LANE = [("static", "lint"), ("unit", "unit"), ("site", "lab-test")]
ROLE_LANE = [("role", "molecule")]
# Tiers that boot labs: they start only once the engine tier has ended (static and unit boot none).
AFTER_ENGINE = {"site", "role"}
# A failure of these stops the run; the site tier's does not stop the role tier.
FAIL_FAST = {"static", "unit", "engine"}
ALL = [name for name, _ in FIRST + CHECK_LANE + ROLE_LANE]
# Created when the check lane has ended: the Molecule matrix may then run more at a time.
ALONE_FLAG = LOGS / "alone.flag"


@dataclass
class Outcome:
    tier: str
    ok: bool
    started: float
    seconds: float
    stopped: bool = False


class Tiers:
    """Runs tiers as child process groups so that a fail-fast tier can end the others."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.lock = threading.Lock()
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = threading.Event()
        self.engine_done = threading.Event()
        self.outcomes: list[Outcome] = []

    def run(self, tier: str, target: str) -> Outcome:
        log = LOGS / f"{tier}.log"
        argv = [os.environ.get("MAKE", "make"), "--no-print-directory", target]
        begin = time.monotonic()
        with open(log, "wb") as fh:
            with self.lock:
                if self.stopping.is_set():
                    outcome = Outcome(tier, False, begin - self.started, 0.0, stopped=True)
                    self.outcomes.append(outcome)
                    return outcome
                proc = subprocess.Popen(argv, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
                self.running[tier] = proc
            rc = proc.wait()
        with self.lock:
            self.running.pop(tier, None)
            outcome = Outcome(
                tier,
                rc == 0,
                begin - self.started,
                time.monotonic() - begin,
                stopped=self.stopping.is_set() and rc != 0,
            )
            self.outcomes.append(outcome)
            print(f"\n===== tier {tier}: {'passed' if rc == 0 else 'FAILED'} =====", flush=True)
            print(log.read_text(errors="replace"), flush=True)
        return outcome

    def stop_all(self, reason: str) -> None:
        with self.lock:
            self.stopping.set()
            for tier, proc in self.running.items():
                print(f"tiers: {reason}: ending the {tier} tier", flush=True)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)

    def lane(self, tiers: list[tuple[str, str]], then: Path | None = None) -> None:
        try:
            self._lane(tiers)
        finally:
            if then is not None:
                then.touch()

    def _lane(self, tiers: list[tuple[str, str]]) -> None:
        for tier, target in tiers:
            if tier in AFTER_ENGINE:
                self.engine_done.wait()
            if self.stopping.is_set():
                return
            outcome = self.run(tier, target)
            if not outcome.ok:
                if tier in FAIL_FAST:
                    self.stop_all(f"the {tier} tier failed")
                return


def summary(outcomes: list[Outcome], wall: float) -> str:
    lines = ["", "test tiers (seconds; start is the offset from the beginning of the run):"]
    for o in sorted(outcomes, key=lambda o: o.started):
        state = "ok  " if o.ok else ("STOP" if o.stopped else "FAIL")
        lines.append(f"  {state}  {o.tier:<8} start {o.started:6.0f}  took {o.seconds:6.0f}")
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
    ALONE_FLAG.unlink(missing_ok=True)
    os.environ["MOLECULE_ALONE_FLAG"] = str(ALONE_FLAG)
    started = time.monotonic()
    tiers = Tiers(started)
    first = [t for t in FIRST if t[0] in args.only]
    role_lane = [t for t in ROLE_LANE if t[0] in args.only]
    check_lane = [t for t in CHECK_LANE if t[0] in args.only]

    def engine_then_release() -> None:
        try:
            tiers.lane(first)
        finally:
            tiers.engine_done.set()

    threads = [threading.Thread(target=engine_then_release)]
    threads += [threading.Thread(target=tiers.lane, args=(role_lane,))] if role_lane else []
    threads += [threading.Thread(target=tiers.lane, args=(check_lane, ALONE_FLAG))] if check_lane else []
    if not check_lane:
        ALONE_FLAG.touch()
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        tiers.stop_all("interrupted")
        tiers.engine_done.set()
        for t in threads:
            t.join()
    print(summary(tiers.outcomes, time.monotonic() - started), flush=True)
    ran = [o.tier for o in tiers.outcomes]
    missing = [t for t in args.only if t not in ran]
    if missing:
        print(f"tiers: not run because an earlier tier failed: {', '.join(missing)}", flush=True)
    return 0 if tiers.outcomes and all(o.ok for o in tiers.outcomes) and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
