"""The command line: what reaches the engine from what users type."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from lab import cli, preflight
from lab.cli import DEFAULT_INVENTORY, needs_preflight, parse
from lab.settings import Settings
from lab.spec import LabSpec
from lab.state import LabState


def test_command_after_double_dash_reaches_the_host_intact() -> None:
    args = parse(["ssh", "rdp1", "--lab", "site", "--", "ls", "-l", "--all"])
    assert args.host == "rdp1"
    assert args.lab == "site"
    assert args.command == ["ls", "-l", "--all"]


def test_up_reads_the_lab_inventory_by_default() -> None:
    args = parse(["up"])
    assert args.inventory == str(DEFAULT_INVENTORY)
    assert args.spec is None


def test_inventory_and_spec_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(["up", "-i", "inventories/lab", "--spec", "x.json"])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "checked"),
    [
        (["up"], True),
        (["down", "--lab", "site"], True),
        (["exec", "rdp1", "--", "true"], True),
        (["image", "build"], True),
        (["image", "prune"], True),
        (["image", "list"], False),
        (["status"], False),
        (["ssh", "rdp1"], False),
    ],
)
def test_commands_that_change_the_machine_or_enter_a_host_check_it_first(argv: list[str], checked: bool) -> None:
    assert needs_preflight(parse(argv)) is checked


class FakeEngine:
    """Records what the CLI asks of the engine instead of touching the machine."""

    calls: ClassVar[list[str]] = []

    def __init__(self, settings: Settings, log: Callable[[str], None]) -> None:
        self.settings = settings

    def up(self, spec: LabSpec, timeout: float = 120) -> LabState:
        FakeEngine.calls.append(f"up {spec.name}")
        return LabState(name=spec.name)

    def down(self, lab: str) -> None:
        FakeEngine.calls.append(f"down {lab}")

    def status(self) -> list[LabState]:
        FakeEngine.calls.append("status")
        return []


@pytest.fixture
def fake_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The CLI on a fake engine and a counted preflight; returns the log of both."""
    calls: list[str] = []
    FakeEngine.calls = calls
    monkeypatch.setattr(cli, "Engine", FakeEngine)
    monkeypatch.setattr(preflight, "check_machine", lambda: calls.append("preflight"))
    monkeypatch.setenv("TWLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TWLAB_RUN", str(tmp_path / "run"))
    return calls


def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"name": "t1", "zones": {}, "hosts": {"h1": {}}}))
    return path


def test_up_runs_the_machine_checks_once_then_the_engine(fake_machine: list[str], tmp_path: Path) -> None:
    assert cli.main(["up", "--spec", str(spec_file(tmp_path)), "--json"]) == 0
    assert fake_machine == ["preflight", "up t1"]
    assert cli.main(["down", "--lab", "t1"]) == 0
    assert fake_machine == ["preflight", "up t1", "preflight", "down t1"]


def test_status_does_not_check_the_machine(fake_machine: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status"]) == 0
    assert fake_machine == ["status"]
    assert capsys.readouterr().out == "no lab is up\n"


def test_not_root_is_refused_before_the_spec_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert cli.main(["up", "--spec", str(tmp_path / "does-not-exist.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lab: error: the lab engine must run as root")
    assert "-> run it with sudo" in err
    assert "cannot read spec" not in err
