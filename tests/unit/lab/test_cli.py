"""The command line: what reaches the engine from what users type."""

from __future__ import annotations

import pytest

from lab.cli import DEFAULT_INVENTORY, parse


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
