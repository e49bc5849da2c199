"""Run `molecule test` for every scenario on every distribution, a few at a time.

    .venv/bin/python molecule/matrix.py --jobs 2 [--scenarios a b] [--distros debian13 debian12]
                                        [--strategy debian12=linear]
                                        [--jobs-when-alone 4 --alone-flag PATH]

Each run gets its own Molecule ephemeral directory (so the Debian 13 and 12 runs of one scenario
never share instance files) and its own lab (`mol-<scenario>-<distro>`), so runs are
independent. Output goes to artifacts/molecule/<scenario>-<distro>.log, with the seconds since
the run started in front of every Molecule step line; the summary lists every run with its
result, duration and the time of each step (converge, idempotence, verify, ...), and the tail
of each failed run's log. Runs start longest first, by the durations of the previous run
(artifacts/molecule/durations.json). `--strategy DISTRO=STRATEGY` runs that distribution's
scenarios with another Ansible strategy than the configured one (ANSIBLE_STRATEGY), so that one
matrix proves every role under both Mitogen and plain linear; `--test-strategy STRATEGY` gives the
playbooks the verify step's tests run (TWTEST_PLAYBOOK_STRATEGY) a strategy of their own (the
Makefile: Mitogen, so that linear's cost is paid by converge and idempotence only). `--jobs-when-alone N --alone-flag
PATH`: once PATH exists (`make test` creates it when its other tiers have ended and the matrix
has the machine to itself), up to N runs at a time instead of --jobs; much of a verify step
waits on clocks (one-time-code steps, idle limits), so a third run then costs little.
Exit status: 0 when every run passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "artifacts" / "molecule"
DURATIONS = OUT / "durations.json"
# Rough seconds per run, for the order of a first run (later runs use durations.json): the
# longest start first so that two workers finish close together.
# Figures of the CI run of 2026-12-01 (per release, create to destroy); file_server estimated from its
# own runs of 2026-12-02 (it had no entry, so a fresh machine started it last); chat_server from its runs of
# 2026-12-03; office_pc from its first runs of 2026-12-06.
EXPECTED = {
    "remote_desktop": 1000,
    "vpn_gateway": 800,
    "office_pc": 700,
    "file_server": 600,
    "chat_server": 400,
    "web_meeting": 400,
    "baseline": 400,
    "rdp_broker": 350,
    "log_server": 300,
    "site_pki": 250,
    "zone_router": 110,
}
# Molecule's step lines: "INFO     [scenario > converge] Executing" / "... Executed: Successful".
STRATEGIES = ("mitogen_linear", "linear", "mitogen_free", "free")
STEP = re.compile(r"\[(?P<scenario>[\w-]+) > (?P<step>[\w-]+)\] (?P<what>Executing|Executed)")


# Lines of a log that say what went wrong: a failed or unreachable task, an Ansible error, a
# failed pytest case.
FAILURE = re.compile(r"^(fatal: |failed: |\S+ \| (FAILED|UNREACHABLE)!|ERROR! |FAILED |E   )|UNREACHABLE!")
TASK = re.compile(r"^(TASK|RUNNING HANDLER|PLAY) \[")


def failure_excerpt(lines: list[str], limit: int = 60) -> list[str]:
    """The failed tasks of a log, each under its TASK line, with a few lines of what followed.

    The summary shows this before the log's tail: a failure early in a long run (a host
    unreachable in prepare, a failed pytest case) is then readable in CI's printed output."""
    out: list[str] = []
    task = ""
    for i, line in enumerate(lines):
        if TASK.match(line):
            task = line
        elif FAILURE.search(line):
            if task and task not in out:
                out.append(task)
            out += [text[:400] for text in lines[i : i + 4] if text not in out]
            if len(out) >= limit:
                return [*out[:limit], "[... more failures in the log]"]
    return out


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


def run(scenario: str, distro: str, strategy: str, test_strategy: str = "") -> Result:
    log = OUT / f"{scenario}-{distro}.log"
    env = dict(
        os.environ,
        ANSIBLE_STRATEGY=strategy,
        # the playbooks the verify step's tests run (tests/support/strategy.py); empty: strategy
        TWTEST_PLAYBOOK_STRATEGY=test_strategy or strategy,
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


def capacity(jobs: int, jobs_when_alone: int, alone_flag: Path | None) -> int:
    """Runs allowed at a time now: --jobs, or --jobs-when-alone once the flag file exists."""
    if alone_flag is not None and jobs_when_alone > jobs and alone_flag.exists():
        return jobs_when_alone
    return max(1, jobs)


def dispatch(
    items: list[tuple[str, str]],
    work: Callable[[tuple[str, str]], Result],
    allowed: Callable[[], int],
    poll: float = 2.0,
) -> list[Result]:
    """Start items in order, each in a thread, while fewer than allowed() run; results in item order."""
    results: dict[int, Result] = {}
    running: dict[int, threading.Thread] = {}

    def one(i: int) -> None:
        results[i] = work(items[i])

    pending = list(range(len(items)))
    while pending or running:
        for i, t in list(running.items()):
            if not t.is_alive():
                t.join()
                del running[i]
        while pending and len(running) < allowed():
            i = pending.pop(0)
            running[i] = threading.Thread(target=one, args=(i,), daemon=True)
            running[i].start()
        if pending or running:
            time.sleep(poll)
    missing = [items[i] for i in range(len(items)) if i not in results]
    if missing:
        raise RuntimeError(f"molecule: runs ended without a result: {missing}")
    return [results[i] for i in range(len(items))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument(
        "--jobs-when-alone", type=int, default=0, metavar="N", help="runs at a time once --alone-flag exists"
    )
    p.add_argument("--alone-flag", type=Path, default=None, metavar="PATH")
    p.add_argument(
        "--test-strategy",
        default="",
        choices=("", *STRATEGIES),
        help="strategy of the playbooks the verify step's tests run (default: the run's own)",
    )
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
    results = dispatch(
        matrix,
        lambda sd: run(sd[0], sd[1], per_distro.get(sd[1], default_strategy), args.test_strategy),
        lambda: capacity(args.jobs, args.jobs_when_alone, args.alone_flag),
    )
    previous.update({f"{r.scenario}-{r.distro}": round(r.seconds, 1) for r in results})
    DURATIONS.write_text(json.dumps(previous, indent=2, sort_keys=True))
    steps = {f"{r.scenario}-{r.distro}": {k: round(v, 1) for k, v in r.steps.items()} for r in results}
    (OUT / "steps.json").write_text(json.dumps(steps, indent=2))

    at_a_time = f"{args.jobs} at a time" + (
        f" ({args.jobs_when_alone} once alone)" if args.alone_flag and args.jobs_when_alone > args.jobs else ""
    )
    tests_under = f", the tests' playbooks under {args.test_strategy}" if args.test_strategy else ""
    print(f"\nmolecule: {len(results)} run(s) in {time.monotonic() - started:.0f} s, {at_a_time}{tests_under}")
    for r in sorted(results, key=lambda r: (r.scenario, r.distro)):
        mark = "ok  " if r.ok else "FAIL"
        print(f"  {mark}  {r.scenario:<20} {r.distro:<9} {r.strategy:<15} {r.seconds:6.0f} s   {step_summary(r.steps)}")
    failed = [r for r in results if not r.ok]
    for r in failed:
        log = OUT / f"{r.scenario}-{r.distro}.log"
        lines = log.read_text(errors="replace").splitlines()
        print(f"\n----- what failed in {log.relative_to(ROOT)} -----")
        print("\n".join(failure_excerpt(lines)) or "(no failed or unreachable task in the log)")
        print(f"----- last lines of {log.relative_to(ROOT)} -----")
        print("\n".join(lines[-40:]))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
