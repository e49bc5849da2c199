"""When a booted host is ready: its systemd says running (or degraded), then SSH lets the controller in.

Both checks share one deadline; a host that misses it is reported with what systemd or SSH
said and the last lines of its journal.
"""

from __future__ import annotations

import time

from lab.commands import run
from lab.errors import LabError
from lab.processes import process_is_alive
from lab.settings import Settings
from lab.ssh_keys import ssh_argv

READY_STATES = {"running", "degraded"}


def _in_host(leader: int, *argv: str) -> list[str]:
    """argv run inside the host's namespaces, entered through its init."""
    return ["nsenter", "-t", str(leader), "-m", "-u", "-i", "-n", "-p", *argv]


def systemd_is_running(leader: int) -> tuple[bool, str]:
    """(whether the host's systemd finished booting, what `systemctl is-system-running` says)."""
    proc = run(_in_host(leader, "systemctl", "is-system-running"), check=False, timeout=10)
    state = proc.stdout.strip() or "unknown"
    return state in READY_STATES, state


def ssh_answers_with_pinned_key(settings: Settings, address: str) -> tuple[bool, str]:
    """(whether SSH lets the controller in at address with the host key it pinned, what ssh said)."""
    proc = run([*ssh_argv(settings, address), "true"], check=False, timeout=15)
    return proc.returncode == 0, proc.stderr.strip()


def journal_tail(leader: int, lines: int = 20) -> str:
    proc = run(_in_host(leader, "journalctl", "-b", "-n", str(lines), "--no-pager"), check=False, timeout=10)
    return proc.stdout.strip()


def wait_ready(settings: Settings, hostname: str, nspawn_pid: int, leader: int, address: str, timeout: float) -> None:
    """Wait until systemd in the host reports running (or degraded) and SSH lets the controller in."""
    paths_hint = f"its console log is in {settings.labs}/*/hosts/{hostname}/console.log"
    deadline = time.monotonic() + timeout
    _wait_for_systemd(hostname, nspawn_pid, leader, deadline, timeout, paths_hint)
    _wait_for_ssh(settings, hostname, leader, address, deadline, timeout, paths_hint)


def _wait_for_systemd(
    hostname: str, nspawn_pid: int, leader: int, deadline: float, timeout: float, paths_hint: str
) -> None:
    state = "unknown"
    while time.monotonic() < deadline:
        if not process_is_alive(nspawn_pid):
            raise LabError(f"host {hostname} stopped while booting", paths_hint)
        running, state = systemd_is_running(leader)
        if running:
            return
        time.sleep(0.2)
    raise LabError(
        f"host {hostname} did not finish booting in {timeout:.0f} s (systemd says {state!r}); last journal lines:\n"
        + journal_tail(leader),
        paths_hint,
    )


def _wait_for_ssh(
    settings: Settings, hostname: str, leader: int, address: str, deadline: float, timeout: float, paths_hint: str
) -> None:
    last_error = ""
    while time.monotonic() < deadline:
        answered, last_error = ssh_answers_with_pinned_key(settings, address)
        if answered:
            return
        time.sleep(0.2)
    raise LabError(
        f"host {hostname} booted but SSH to {address} did not answer in {timeout:.0f} s ({last_error}); "
        "last journal lines:\n" + journal_tail(leader),
        paths_hint,
    )
