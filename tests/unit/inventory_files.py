"""The shipped inventories as Ansible resolves them (shared by the inventory tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ["lab", "example"]


def resolved(inventory: str | Path) -> dict[str, Any]:
    """`ansible-inventory --list` of inventories/<name>, or of an inventory directory given as a path."""
    path = ROOT / "inventories" / inventory  # an absolute path stays as it is
    exe = Path(sys.executable).parent / "ansible-inventory"
    out = subprocess.run([str(exe), "-i", str(path), "--list"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)
