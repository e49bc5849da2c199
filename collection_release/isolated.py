"""An environment in which Ansible sees an installed collection and nothing of this repository.

No ansible.cfg (an empty one), no roles path, no ANSIBLE_* variable of the caller's shell, and
a working directory outside the repository: what a ward has after `ansible-galaxy collection install`.
The collections of the `ansible` package (Python path) stay visible; they are the dependencies.
"""

from __future__ import annotations

import os
from pathlib import Path


def isolated_env(scratch: Path, collections_dir: Path | None = None) -> dict[str, str]:
    """Environment variables for a run in scratch (created) that sees only collections_dir."""
    scratch.mkdir(parents=True, exist_ok=True)
    config = scratch / "ansible.cfg"
    config.write_text("[defaults]\n", encoding="utf-8")
    no_roles = scratch / "no-roles"
    no_roles.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env |= {
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_ROLES_PATH": str(no_roles),
        "ANSIBLE_COLLECTIONS_PATH": str(collections_dir or scratch / "no-collections"),
        "ANSIBLE_LOCAL_TEMP": str(scratch / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "HOME": os.environ.get("HOME", str(scratch)),
    }
    return env
