"""Booting a lab host with systemd-nspawn, and stopping it.

Each host runs as `systemd-nspawn --boot` on its overlay root, in a network namespace of its
own (interfaces are added by `lab.network` once its init is up) and a cgroup tree of its own:
a scope unit where PID 1 is systemd, else `twlab/<machine name>` (see `lab.cgroups`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from lab import cgroups
from lab.overlay import HostPaths
from lab.processes import process_is_alive, reap


def machine_name(lab: str, hostname: str) -> str:
    """The name systemd knows the host by: unique per lab, since hosts of two labs may share a hostname."""
    return f"twlab-{lab}-{hostname}"[:64]


def nspawn_argv(paths: HostPaths, lab: str, hostname: str) -> list[str]:
    argv = [
        "systemd-nspawn",
        "--quiet",
        "--boot",
        f"--directory={paths.root}",
        f"--machine={machine_name(lab, hostname)}",
        f"--hostname={hostname}",
        "--private-network",
        "--register=no",
        "--console=passive",
        "--link-journal=no",
        "--resolv-conf=off",
        "--timezone=off",
    ]
    if not uses_scope_units():
        # PID 1 is not systemd (a container or VM like our CI machines): there is no manager
        # to ask for a scope unit, so the host stays in the caller's cgroup. With systemd as
        # PID 1, nspawn puts each host in a scope unit of its own (named after --machine).
        argv.insert(2, "--keep-unit")
    return argv


def uses_scope_units() -> bool:
    """True when PID 1 is systemd: nspawn then puts each host in a scope unit of its own."""
    return Path("/run/systemd/system").exists()


def nspawn_env() -> dict[str, str]:
    """Give every host the unified cgroup hierarchy (cgroup v2), whatever the machine's layout.

    On a hybrid machine (v1 controllers plus a v2 tree, as our CI machines) nspawn would hand the
    host the hybrid layout too, where the host's systemd cannot place user managers in the
    legacy tree ("Failed to attach ... to compat systemd cgroup"). Debian 13's systemd expects v2.
    """
    return dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")


def start(paths: HostPaths, lab: str, hostname: str) -> int:
    """Start systemd-nspawn in the background, in a cgroup of the host's own; return its PID."""
    own_cgroups = [] if uses_scope_units() else cgroups.prepare(machine_name(lab, hostname))
    with open(paths.console, "ab") as log:
        proc = subprocess.Popen(
            nspawn_argv(paths, lab, hostname),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=nspawn_env(),
            preexec_fn=(lambda: cgroups.enter(own_cgroups)) if own_cgroups else None,
        )
    return proc.pid


def stop(nspawn_pid: int | None, leader: int | None, timeout: float = 15) -> None:
    """Power the host off through its systemd; kill it if it does not stop in time.

    Killing only systemd-nspawn would leave the host running without it (its init is reparented),
    so a host that does not power off in time is killed through its init: SIGKILL to the PID 1 of
    a PID namespace ends every process in it.
    """
    if leader and process_is_alive(leader):
        with contextlib.suppress(ProcessLookupError):
            os.kill(leader, signal.SIGRTMIN + 4)  # systemd: poweroff
    watched = [p for p in (nspawn_pid, leader) if p]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(process_is_alive(p) for p in watched):
        for p in watched:
            reap(p)
        time.sleep(0.1)
    for pid in (leader, nspawn_pid):  # the host's init first: nspawn then exits by itself
        if pid and process_is_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            end = time.monotonic() + 5
            while time.monotonic() < end and process_is_alive(pid):
                reap(pid)
                time.sleep(0.05)
    for p in watched:
        reap(p)
