"""Shared helpers for the testinfra tests of every Molecule scenario.

- `run_playbook(...)` runs a playbook against the scenario's hosts with Molecule's inventory
  (check-mode tests and the tests that converge with other input use it).
- `bad_input_batch(...)` runs every bad-input case of a test module in one ansible-playbook run
  (tests/support/bad_input.py says how) and returns one outcome per case; a module-scoped
  fixture runs it once and each parametrised case asserts its own outcome with
  `assert_refused(outcome, named)`.
- `inventory_vars()` reads the scenario's group_vars of all (to change one user's state, say).
- `converge_check(...)` runs the scenario's converge playbook in check mode and returns the
  changed count per host, so "check mode on a converged host reports no change" is one line.
- Mark a module with `pytestmark = pytest.mark.journal("rsyslog", "ssh")` and every failing test
  in it prints those units' recent journal from each host it touched: testinfra's `host` fixture
  and every host it asked `tests.support.hosts.get_host()` for.

Hosts, probes, listeners and the VPN client are shared with the site tests: `tests/support/`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from testinfra.host import Host

from tests.support import hosts
from tests.support.bad_input import Case, CaseResult, run_batch
from tests.support.strategy import playbook_env

RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unr>\d+)\s+failed=(?P<failed>\d+)"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "journal(*units): print these units' journal when a test fails")


def scenario_dir() -> Path:
    return Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])


def inventory_vars() -> dict[str, Any]:
    """The scenario's inventory variables (molecule.yml's group_vars of all), as the converge sees them."""
    path = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent / "group_vars" / "all"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def run_playbook(
    playbook: str | Path, *args: str, extra_vars: dict[str, Any] | None = None
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook against the scenario's hosts; playbook is relative to the scenario directory."""
    path = Path(playbook)
    if not path.is_absolute():
        path = scenario_dir() / path
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(path), *args]
    if extra_vars is not None:
        argv += ["--extra-vars", json.dumps(extra_vars)]
    env = playbook_env(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800, check=False)


def bad_input_batch(
    playbook: str, cases: Sequence[Case], *, plays: Sequence[str] | None = None, watch: Mapping[str, str] | None = None
) -> list[CaseResult]:
    """Every case in one run of a batch made from the scenario's playbook (plays: by name, default all).

    The generated playbook stays in the ephemeral directory (bad-input/), for a look after a failure.
    """
    workdir = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "bad-input" / Path(playbook).stem
    workdir.mkdir(parents=True, exist_ok=True)
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return run_batch(scenario_dir() / playbook, cases, workdir, inventory=inventory, plays=plays, watch=watch)


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host."""
    result: dict[str, dict[str, int]] = {}
    for line in output.splitlines():
        m = RECAP.match(line.strip())
        if m:
            result[m["host"]] = {k: int(m[k]) for k in ("ok", "changed", "unr", "failed")}
    return result


def converge_check(playbook: str = "converge.yml") -> dict[str, int]:
    """Run the converge playbook in check mode; return changed count per host (fails on errors)."""
    proc = run_playbook(playbook, "--check")
    counters = recap(proc.stdout)
    assert proc.returncode == 0 and counters, f"check mode run failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    return {h: c["changed"] for h, c in counters.items()}


@pytest.fixture(autouse=True)
def _journal_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    hosts.forget_touched()
    yield
    marker = request.node.get_closest_marker("journal")
    report = getattr(request.node, "rep_call", None)
    if marker is None or report is None or not report.failed:
        return
    touched: dict[str, Host] = {name: hosts.get_host(name) for name in sorted(hosts.touched())}
    fixture_host = request.node.funcargs.get("host")
    if fixture_host is not None:
        touched.setdefault(fixture_host.backend.get_hostname(), fixture_host)
    for name, host in touched.items():
        for unit in marker.args:
            out = host.run(f"sudo journalctl -u {unit} -n 30 --no-pager")
            print(f"\n----- journal of {unit} on {name} -----\n{out.stdout}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    rep = yield
    setattr(item, "rep_" + rep.when, rep)
    return rep
