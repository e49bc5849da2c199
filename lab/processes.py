"""Telling a host's processes apart in /proc: live or gone, whose systemd-nspawn, whose init.

A host has two processes the engine records: its systemd-nspawn (`nspawn_pid`) and its init,
PID 1 of the host's namespaces (`leader_pid`). Recorded PIDs may be stale or recycled, so each
check looks at what the process is, not only whether the PID exists.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from lab.errors import LabError


def process_is_alive(pid: int) -> bool:
    """True for a live process (a zombie awaiting its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def nspawn_runs_root(pid: int, root: Path) -> bool:
    """True when pid is a systemd-nspawn booting the host whose root is `root` (not a recycled PID)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].endswith(b"systemd-nspawn") and f"--directory={root}".encode() in cmdline


def _is_namespace_init(pid: int) -> bool:
    """True when pid is PID 1 of its own PID namespace (NSpid ends in 1)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                ids = line.split()[1:]
                return len(ids) > 1 and ids[-1] == "1"
    except OSError:
        pass
    return False


def is_init_of_host(pid: int, machine_name: str) -> bool:
    """True when pid is the init of the host with this machine name (not a recycled PID): PID 1
    of its namespace, in the host's cgroup (twlab/<name>, or systemd's machine-<name>.scope)."""
    if not (process_is_alive(pid) and _is_namespace_init(pid)):
        return False
    try:
        cgroup = Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False
    escaped = machine_name.replace("-", "\\x2d")
    return f"/twlab/{machine_name}/" in cgroup or f"machine-{escaped}.scope" in cgroup


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _netns(pid: int) -> str:
    try:
        return str(Path(f"/proc/{pid}/ns/net").readlink())
    except OSError:
        return ""


def find_leader(nspawn_pid: int, timeout: float = 15) -> int:
    """The host's PID 1 seen from the machine: the descendant of nspawn that is init of its namespaces.

    nspawn goes through an intermediate child before it starts the host's init; that child is
    already in the new network namespace but exits soon, so it is not the leader.
    """
    mine = _netns(os.getpid())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_is_alive(nspawn_pid):
            break
        todo = _children(nspawn_pid)
        while todo:
            pid = todo.pop(0)
            ns = _netns(pid)
            if ns and ns != mine and _is_namespace_init(pid):
                return pid
            todo.extend(_children(pid))
        time.sleep(0.02)
    raise LabError(f"systemd-nspawn (pid {nspawn_pid}) did not start a host")


def leader_if_any(nspawn_pid: int) -> int | None:
    """The init of the host nspawn_pid runs, when it has one within half a second, else None."""
    try:
        return find_leader(nspawn_pid, timeout=0.5)
    except LabError:
        return None


def nspawn_pids_under(directory: Path) -> dict[Path, int]:
    """Every systemd-nspawn process whose root lies under directory (finds orphans of a crash)."""
    found: dict[Path, int] = {}
    prefix = f"--directory={directory}/".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not args or not args[0].endswith(b"systemd-nspawn"):
            continue
        for a in args:
            if a.startswith(prefix):
                found[Path(a.decode().split("=", 1)[1])] = int(entry.name)
    return found


def reap(pid: int) -> None:
    """Collect the exit status when the process is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
