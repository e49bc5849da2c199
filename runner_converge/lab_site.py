"""Is the lab site of an inventory up? Asked of the lab engine (`python -m lab status --json`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.inventory import load_inventory, spec_from_inventory

Status = Callable[[str], list[dict[str, Any]]]


class LabNotUpError(RuntimeError):
    """The lab the inventory describes is not (all) running; the message says what to do."""


def engine_status(lab: str) -> list[dict[str, Any]]:
    """The lab engine's state of lab (a list with one entry, or empty when the lab does not exist)."""
    argv = [sys.executable, "-m", "lab", "status", "--lab", lab, "--json"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120).stdout
    states: list[dict[str, Any]] = json.loads(out)
    return states


def require_up(inventory: Path, status: Status = engine_status) -> str:
    """The lab's name when every host of the inventory runs; LabNotUpError otherwise."""
    spec = spec_from_inventory(load_inventory(inventory))
    lab, wanted = str(spec["name"]), sorted(spec["hosts"])
    states = status(lab)
    if not states:
        raise LabNotUpError(f"lab {lab} is not up (no host of {inventory} runs): start it with `make lab-up`")
    hosts = states[0].get("hosts", {})
    down = [name for name in wanted if not hosts.get(name, {}).get("nspawn_pid")]
    if down:
        raise LabNotUpError(f"lab {lab}: {', '.join(down)} not running: start them with `make lab-up`")
    return lab
