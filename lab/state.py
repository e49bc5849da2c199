"""What the engine has made, written down: one JSON file per lab, and the machine-wide lock.

The state file is a convenience, not the source of truth for cleaning up: `down` also finds
processes, mounts and links by their names, so a lost or stale state file never leaves
anything behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.settings import Settings


@dataclass
class HostState:
    name: str
    release: str
    image: str
    control_address: str
    interfaces: dict[str, str]
    groups: list[str]
    fingerprint: dict[str, Any]
    nspawn_pid: int = 0
    leader_pid: int = 0
    links: list[str] = field(default_factory=list)
    created: float = 0.0
    boot_seconds: float = 0.0


@dataclass
class LabState:
    name: str
    zones: dict[str, dict[str, str]] = field(default_factory=dict)
    hosts: dict[str, HostState] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LabState:
        raw = json.loads(text)
        hosts = {k: HostState(**v) for k, v in raw.get("hosts", {}).items()}
        return cls(name=raw["name"], zones=raw.get("zones", {}), hosts=hosts)


def lab_dir(settings: Settings, lab: str) -> Path:
    return settings.labs / lab


def state_file(settings: Settings, lab: str) -> Path:
    return lab_dir(settings, lab) / "state.json"


def load(settings: Settings, lab: str) -> LabState | None:
    path = state_file(settings, lab)
    if not path.exists():
        return None
    try:
        return LabState.from_json(path.read_text())
    except (ValueError, KeyError, TypeError):
        return None


def save(settings: Settings, state: LabState) -> None:
    path = state_file(settings, state.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.to_json())
    tmp.replace(path)


def known_labs(settings: Settings) -> list[str]:
    if not settings.labs.exists():
        return []
    return sorted(p.name for p in settings.labs.iterdir() if p.is_dir())


def all_states(settings: Settings) -> list[LabState]:
    return [s for s in (load(settings, name) for name in known_labs(settings)) if s is not None]


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on path (created, with its directory), held for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def machine_lock(settings: Settings) -> contextlib.AbstractContextManager[None]:
    """One engine at a time changes the machine (Molecule and `make lab` may run side by side)."""
    return file_lock(settings.lock_file)
