"""A cgroup of its own for every host on machines whose PID 1 is not systemd.

With systemd as PID 1, systemd-nspawn asks it for a scope unit per host. Without it (our CI
machines), nspawn runs with --keep-unit and the host's systemd takes the cgroup nspawn was
started in as its root; if every host started in the same cgroup, their systemds would share
(and fight over) one tree, seeing each other's units. So the engine creates
`twlab/<machine name>` in each hierarchy systemd uses (cgroup v2, and the legacy
`name=systemd` tree of the hybrid layout) and starts nspawn inside it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "twlab"


def hierarchies() -> list[Path]:
    """Mount points of the hierarchies systemd uses: v2 alone, or v2 plus name=systemd (hybrid)."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        return [CGROUP_ROOT]
    return [CGROUP_ROOT / sub for sub in ("unified", "systemd") if (CGROUP_ROOT / sub / "cgroup.procs").exists()]


def paths(name: str) -> list[Path]:
    return [h / PARENT / name for h in hierarchies()]


def prepare(name: str) -> list[Path]:
    """Create the host's cgroups (empty); returns their directories."""
    dirs = paths(name)
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    return dirs


def enter(dirs: list[Path]) -> None:
    """Move the calling process into dirs (run in the child between fork and exec)."""
    for d in dirs:
        with open(d / "cgroup.procs", "w") as fh:
            fh.write("0")


def _remove_tree(top: Path) -> bool:
    """rmdir top and everything below, deepest first; True when it is gone."""
    if not top.exists():
        return True
    for dirpath, _dirnames, _files in os.walk(top, topdown=False):
        with contextlib.suppress(OSError):
            Path(dirpath).rmdir()
    return not top.exists()


def _pids(top: Path) -> set[int]:
    """Every process in top and below."""
    found: set[int] = set()
    for dirpath, _dirnames, files in os.walk(top):
        if "cgroup.procs" in files:
            with contextlib.suppress(OSError, ValueError):
                found.update(int(p) for p in (Path(dirpath) / "cgroup.procs").read_text().split())
    return found


def kill(top: Path) -> None:
    """SIGKILL every process left in top and below (cgroup.kill where the kernel has it)."""
    with contextlib.suppress(OSError):
        (top / "cgroup.kill").write_text("1")
    for pid in _pids(top):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def remove(name: str, timeout: float = 5) -> list[str]:
    """Remove the host's cgroups; processes still in them (a host whose init outlived
    systemd-nspawn) are killed first. Returns the directories that stay."""
    deadline = time.monotonic() + timeout
    left = paths(name)
    killed = False
    while left and time.monotonic() < deadline:
        left = [d for d in left if not _remove_tree(d)]
        if left and not killed:
            for d in left:
                kill(d)
            killed = True
        if left:
            time.sleep(0.1)
    return [str(d) for d in left]


def names() -> list[str]:
    """Host cgroups present in any hierarchy (also those of hosts the state forgot)."""
    found: set[str] = set()
    for h in hierarchies():
        parent = h / PARENT
        if parent.is_dir():
            found.update(p.name for p in parent.iterdir() if p.is_dir())
    return sorted(found)


def remove_parent() -> None:
    for h in hierarchies():
        parent = h / PARENT
        if parent.is_dir():
            with contextlib.suppress(OSError):
                parent.rmdir()
