"""Liveness checks look at what a process is, not only whether its PID exists."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lab.overlay
from lab.overlay import mounts_under
from lab.processes import is_init_of_host, nspawn_runs_root, process_is_alive


def test_a_zombie_counts_as_gone_and_a_reaped_pid_too() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert process_is_alive(child.pid)
    finally:
        child.kill()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{child.pid}/stat").read_text().split(")")[1].split()[0] != "Z":
        time.sleep(0.01)
    assert Path(f"/proc/{child.pid}").exists()  # not reaped yet: a zombie
    assert not process_is_alive(child.pid)
    child.wait()
    assert not process_is_alive(child.pid)


def test_a_live_process_that_is_no_nspawn_or_host_init_is_not_taken_for_one() -> None:
    assert process_is_alive(os.getpid())
    assert not nspawn_runs_root(os.getpid(), Path("/var/lib/twlab/labs/site/hosts/rdp1/root"))
    assert not is_init_of_host(os.getpid(), "twlab-site-rdp1")


def test_mounts_under_a_directory_come_deepest_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "mountinfo"
    base = "/var/lib/twlab/labs/site"
    lines = [
        f"36 35 0:30 / {base}/hosts/rdp1/root rw - overlay twlab-rdp1 rw",
        f"37 36 0:31 / {base}/hosts/rdp1/root/proc rw - proc proc rw",
        "38 1 0:32 / /var/lib/twlab/labs/site2/hosts/x/root rw - overlay twlab-x rw",
        f"39 1 0:33 / {base} rw - tmpfs tmpfs rw",
    ]
    info.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(lab.overlay, "MOUNTINFO", info)
    assert mounts_under(Path(base)) == [Path(f"{base}/hosts/rdp1/root/proc"), Path(f"{base}/hosts/rdp1/root")]
