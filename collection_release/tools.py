"""The Ansible command-line tools of the environment this Python runs in."""

from __future__ import annotations

import sys
from pathlib import Path


def tool(name: str) -> str:
    """`ansible-galaxy`, `ansible-playbook`, ... next to this interpreter, else from PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name
