"""tests/tiers.py, the runner of `make test`, with a stand-in for make: order, lanes, fail-fast, summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A stand-in for make: records when each target starts and ends, fails the targets in $FAIL.
FAKE_MAKE = """#!/bin/sh
target="$2"
echo "start $target $(date +%s.%N)" >> "$EVENTS"
[ -e "$MOLECULE_ALONE_FLAG" ] && echo "alone-at-start $target" >> "$EVENTS"
case " $SLOWER " in *" $target "*) sleep 6;; *) case " $SLOW " in *" $target "*) sleep 3;; *) sleep 0.3;; esac;; esac
[ -e "$MOLECULE_ALONE_FLAG" ] && echo "alone-at-end $target" >> "$EVENTS"
echo "end $target $(date +%s.%N)" >> "$EVENTS"
case " $FAIL " in *" $target "*) echo "$target broke"; exit 2;; esac
echo "$target fine"
"""


def run(
    tmp_path: Path, fail: str = "", slow: str = "molecule", slower: str = ""
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    make = tmp_path / "make"
    make.write_text(FAKE_MAKE)
    make.chmod(0o755)
    events = tmp_path / "events"
    env = {
        **os.environ,
        "MAKE": str(make),
        "EVENTS": str(events),
        "FAIL": fail,
        "SLOW": slow,
        "SLOWER": slower,
        "TIERS_LOG_DIR": str(tmp_path / "logs"),
    }
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "tiers.py")], env=env, capture_output=True, text=True, timeout=60
    )
    lines = events.read_text().splitlines() if events.exists() else []
    return proc, lines


def order(lines: list[str]) -> list[str]:
    return [" ".join(line.split()[:2]) for line in lines]


def test_lint_and_unit_run_beside_the_engine_and_the_lab_tiers_wait_for_it(tmp_path: Path) -> None:
    proc, lines = run(tmp_path, slow="molecule engine-test")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seq = order(lines)
    assert seq[0] in ("start engine-test", "start lint")
    # static and unit boot no lab: they run while the (slow) engine tier does...
    assert seq.index("start engine-test") < seq.index("end lint") < seq.index("end unit") < seq.index("end engine-test")
    # ...while the tiers that boot labs start only once it has ended.
    assert seq.index("end engine-test") < seq.index("start molecule")
    assert seq.index("end engine-test") < seq.index("start lab-test")
    # The role tier (slow) ends after the site tier; the check lane keeps its order.
    assert seq.index("end lab-test") < seq.index("end molecule")
    assert seq.index("end lint") < seq.index("start unit") < seq.index("end unit") < seq.index("start lab-test")
    for tier in ("engine", "static", "unit", "site", "role"):
        assert f"ok    {tier:<8}" in proc.stdout
    assert "total wall time" in proc.stdout
    assert "molecule fine" in proc.stdout  # each tier's output is printed when it ends


def test_the_role_tier_is_told_when_it_has_the_machine_to_itself(tmp_path: Path) -> None:
    """The alone flag (more Molecule runs at a time) appears once the check lane has ended, not before."""
    proc, lines = run(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seq = order(lines)
    # positive control: the slow role tier sees the flag before it ends...
    assert "alone-at-end molecule" in seq
    # ...and no tier saw it at its start: not the role tier (the site tier was still to come), not the site tier.
    assert [e for e in seq if e.startswith("alone-at-start")] == []
    assert "alone-at-end lab-test" not in seq


@pytest.mark.parametrize("broken", ["lint", "unit"])
def test_a_failed_short_tier_ends_the_role_tier_and_skips_the_site_tier(tmp_path: Path, broken: str) -> None:
    # the broken tier fails once the role tier is under way (it starts when the engine tier ends)
    proc, lines = run(tmp_path, fail=broken, slow=broken, slower="molecule")
    assert proc.returncode == 1
    seq = order(lines)
    assert "start molecule" in seq and "end molecule" not in seq  # ended, not waited for
    assert "start lab-test" not in seq
    assert "STOP  role" in proc.stdout
    assert "FAIL  " in proc.stdout and f"{broken} broke" in proc.stdout
    assert "not run because an earlier tier failed:" in proc.stdout and proc.stdout.rstrip().endswith("site")


def test_a_failed_engine_tier_starts_no_lab_tier_and_ends_the_short_ones(tmp_path: Path) -> None:
    proc, lines = run(tmp_path, fail="engine-test", slow="lint")
    assert proc.returncode == 1
    seq = order(lines)
    assert "end engine-test" in seq  # positive control: the engine tier ran (and failed)
    assert "start lint" in seq and "end lint" not in seq  # ended, not waited for
    assert not [e for e in seq if e.split()[1] in ("unit", "molecule", "lab-test")]
    assert "FAIL  engine" in proc.stdout and "STOP  static" in proc.stdout


def test_a_failed_site_tier_lets_the_role_tier_finish(tmp_path: Path) -> None:
    proc, lines = run(tmp_path, fail="lab-test")
    assert proc.returncode == 1
    assert "end molecule" in order(lines)
    assert "ok    role" in proc.stdout and "FAIL  site" in proc.stdout
