"""An ansible-runner private data directory for the site playbook, laid out as AWX lays out a job's.

<dir>/project        -> ansible/ of this repository (site.yml, roles, ansible.cfg)
<dir>/inventory      -> the site's inventory directory (hosts.yml, group_vars, host_vars)
<dir>/env/envvars    ANSIBLE_CONFIG (the repository's ansible.cfg) and ANSIBLE_STRATEGY
<dir>/env/settings   job and idle timeouts
<dir>/artifacts/<ident>/   written by ansible-runner: status, rc, stdout, job_events/
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml  # type: ignore[import-untyped]

REPOSITORY = Path(__file__).resolve().parent.parent
PROJECT = REPOSITORY / "ansible"
PLAYBOOK = "site.yml"
# The strategies the project supports (the Makefile's STRATEGIES): Mitogen's and Ansible's own.
STRATEGIES = ("mitogen_linear", "linear", "mitogen_free", "free")
# A whole-site converge on a loaded 2-core machine from bare hosts takes about 20 minutes;
# output stops for minutes at most (package installs).
JOB_TIMEOUT_SECONDS = 3600
IDLE_TIMEOUT_SECONDS = 900


class LayoutError(ValueError):
    """The private data directory cannot be made as asked; the message says what is allowed."""


@dataclass(frozen=True)
class Layout:
    root: Path
    playbook: str
    strategy: str

    @property
    def envvars(self) -> Path:
        return self.root / "env" / "envvars"

    @property
    def settings(self) -> Path:
        return self.root / "env" / "settings"


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target, target_is_directory=True)


def checked_strategy(strategy: str) -> str:
    if strategy not in STRATEGIES:
        raise LayoutError(f"unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    return strategy


def lay_out(root: Path, inventory: Path, strategy: str) -> Layout:
    """Create (or refresh) the private data directory root for a run of site.yml on inventory."""
    checked_strategy(strategy)
    inventory = inventory.resolve()
    if not (inventory / "hosts.yml").is_file():
        raise LayoutError(f"{inventory} is not an inventory directory (no hosts.yml)")
    (root / "env").mkdir(parents=True, exist_ok=True)
    _link(root / "project", PROJECT)
    _link(root / "inventory", inventory)
    layout = Layout(root=root, playbook=PLAYBOOK, strategy=strategy)
    envvars = {
        "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"),
        "ANSIBLE_STRATEGY": strategy,
        "ANSIBLE_NOCOLOR": "1",
    }
    layout.envvars.write_text(yaml.safe_dump(envvars, sort_keys=True), encoding="utf-8")
    settings = {"job_timeout": JOB_TIMEOUT_SECONDS, "idle_timeout": IDLE_TIMEOUT_SECONDS}
    layout.settings.write_text(yaml.safe_dump(settings, sort_keys=True), encoding="utf-8")
    return layout
