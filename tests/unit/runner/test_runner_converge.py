"""The ansible-runner private data directory of `make runner-converge` is what ansible-runner and
AWX expect, bad input stops before anything runs, a lab that is down is named, and the recap is
read from the artifacts as ansible-runner writes them. No playbook runs here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_runner.config.runner import RunnerConfig

from lab.inventory import load_inventory, spec_from_inventory
from runner_converge.lab_site import LabNotUpError, require_up
from runner_converge.private_data_dir import PROJECT, STRATEGIES, LayoutError, lay_out
from runner_converge.results import COUNTERS, ResultsError, read, render

REPOSITORY = Path(__file__).resolve().parents[3]
LAB = REPOSITORY / "inventories" / "lab"


def test_runner_builds_the_awx_command_from_the_layout(tmp_path: Path) -> None:
    layout = lay_out(tmp_path / "pdd", LAB, "mitogen_linear")
    config = RunnerConfig(private_data_dir=str(layout.root), playbook=layout.playbook)
    config.prepare()
    assert config.command[-3:] == ["-i", str(layout.root / "inventory"), "site.yml"]
    assert Path(config.cwd).resolve() == PROJECT
    assert config.env["ANSIBLE_CONFIG"] == str(PROJECT / "ansible.cfg")
    assert config.env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert (Path(config.cwd) / "site.yml").is_file()
    assert (layout.root / "inventory").resolve() == LAB.resolve()
    assert config.job_timeout > 0 and config.idle_timeout > 0


def test_the_envvars_are_a_flat_mapping_of_strings(tmp_path: Path) -> None:
    layout = lay_out(tmp_path / "pdd", LAB, "linear")
    envvars: dict[str, Any] = yaml.safe_load(layout.envvars.read_text())
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in envvars.items())
    assert Path(envvars["ANSIBLE_CONFIG"]).is_file()


def test_laying_out_again_replaces_the_links(tmp_path: Path) -> None:
    lay_out(tmp_path / "pdd", LAB, "linear")
    layout = lay_out(tmp_path / "pdd", REPOSITORY / "inventories" / "example", "mitogen_linear")
    assert (layout.root / "inventory").resolve() == (REPOSITORY / "inventories" / "example").resolve()
    assert yaml.safe_load(layout.envvars.read_text())["ANSIBLE_STRATEGY"] == "mitogen_linear"


def test_an_unknown_strategy_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match=f"unknown strategy 'fast': use one of {', '.join(STRATEGIES)}"):
        lay_out(tmp_path / "pdd", LAB, "fast")
    assert not (tmp_path / "pdd").exists()


def test_a_directory_that_is_no_inventory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match=r"no hosts\.yml"):
        lay_out(tmp_path / "pdd", tmp_path, "linear")


def lab_hosts() -> list[str]:
    return sorted(spec_from_inventory(load_inventory(LAB))["hosts"])


def lab_state(running: list[str], stopped: list[str]) -> list[dict[str, Any]]:
    hosts = {name: {"nspawn_pid": 4242} for name in running} | {name: {"nspawn_pid": 0} for name in stopped}
    return [{"name": "site", "hosts": hosts}]


def test_a_running_lab_is_accepted() -> None:
    everyone = lab_hosts()
    assert require_up(LAB, status=lambda lab: lab_state(everyone, [])) == "site"


def test_a_lab_that_is_not_up_is_named_with_what_to_do() -> None:
    with pytest.raises(LabNotUpError, match=r"lab site is not up .*make lab-up"):
        require_up(LAB, status=lambda lab: [])


def test_hosts_that_are_down_are_named() -> None:
    everyone = lab_hosts()
    with pytest.raises(LabNotUpError, match=f"lab site: {everyone[0]} not running"):
        require_up(LAB, status=lambda lab: lab_state(everyone[1:], everyone[:1]))


def write_artifacts(root: Path, status: str, rc: int, stats: dict[str, dict[str, int]] | None) -> Path:
    (root / "job_events").mkdir(parents=True)
    (root / "status").write_text(status)
    (root / "rc").write_text(str(rc))
    events = [{"event": "playbook_on_start", "event_data": {}}]
    if stats is not None:
        events.append(
            {"event": "playbook_on_stats", "event_data": stats | {"processed": dict.fromkeys(stats["ok"], 1)}}
        )
    for n, event in enumerate(events, 1):
        (root / "job_events" / f"{n}-x.json").write_text(json.dumps(event))
    return root


def test_the_recap_is_read_per_host(tmp_path: Path) -> None:
    stats = {c: {} for c in COUNTERS} | {"ok": {"gw1": 40, "rdp1": 90}, "changed": {"rdp1": 2}, "skipped": {"gw1": 3}}
    result = read(write_artifacts(tmp_path, "successful", 0, stats))
    assert result.hosts["rdp1"]["changed"] == 2 and result.hosts["gw1"]["changed"] == 0
    assert result.changed == 2 and result.ok
    assert "status=successful rc=0 changed=2 time=12.0 s" in render(result, 12.0)


def test_a_failed_run_is_not_ok(tmp_path: Path) -> None:
    stats = {c: {} for c in COUNTERS} | {"ok": {"gw1": 3}, "dark": {"rdp1": 1}}
    result = read(write_artifacts(tmp_path, "failed", 2, stats))
    assert not result.ok and result.hosts["rdp1"]["dark"] == 1


def test_missing_artifacts_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no status or rc"):
        read(tmp_path)


def test_a_run_that_stopped_before_its_recap_has_no_hosts(tmp_path: Path) -> None:
    result = read(write_artifacts(tmp_path, "failed", 4, None))
    assert result.hosts == {} and not result.ok


def test_the_layout_holds_no_copy_of_the_project(tmp_path: Path) -> None:
    layout = lay_out(tmp_path / "pdd", LAB, "linear")
    assert (layout.root / "project").is_symlink()
    shutil.rmtree(layout.root)
    assert PROJECT.is_dir()  # removing the private data dir leaves the repository alone


def test_the_strategies_are_the_makefiles() -> None:
    line = next(line for line in (REPOSITORY / "Makefile").read_text().splitlines() if line.startswith("STRATEGIES :="))
    assert tuple(line.split(":=")[1].split()) == STRATEGIES
