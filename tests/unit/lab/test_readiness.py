"""A host is ready when systemd has booted and SSH lets the controller in; if not, the error says why."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from lab import readiness
from lab.errors import LabError
from lab.settings import Settings

SETTINGS = Settings(home=Path("/nonexistent/home"), run=Path("/nonexistent/run"))


class FakeHost:
    """Answers the commands readiness runs as a host in a given state would."""

    def __init__(self, systemd: str = "running", ssh_error: str = "", nspawn_alive: bool = True) -> None:
        self.systemd = systemd
        self.ssh_error = ssh_error
        self.nspawn_alive = nspawn_alive

    def run(self, argv: Sequence[str], **_: Any) -> subprocess.CompletedProcess[str]:
        if "is-system-running" in argv:
            return subprocess.CompletedProcess(argv, 1, self.systemd + "\n", "")
        if "journalctl" in argv:
            return subprocess.CompletedProcess(argv, 0, "sshd[80]: fatal: no host key\n", "")
        assert argv[0] == "ssh"
        return subprocess.CompletedProcess(argv, 255 if self.ssh_error else 0, "", self.ssh_error + "\n")


def wait(monkeypatch: pytest.MonkeyPatch, host: FakeHost, timeout: float = 0.5) -> None:
    monkeypatch.setattr(readiness, "run", host.run)
    monkeypatch.setattr(readiness, "process_is_alive", lambda pid: host.nspawn_alive)
    readiness.wait_ready(SETTINGS, "rdp1", 100, 101, "10.231.0.10", timeout)


def test_a_booted_host_that_lets_the_controller_in_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    wait(monkeypatch, FakeHost(systemd="degraded"))


def test_a_host_still_booting_is_reported_with_systemds_state_and_the_journal(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LabError) as err:
        wait(monkeypatch, FakeHost(systemd="starting"), timeout=0.3)
    assert "host rdp1 did not finish booting in 0 s (systemd says 'starting'); last journal lines:" in err.value.message
    assert "fatal: no host key" in err.value.message
    assert err.value.hint == "its console log is in /nonexistent/home/labs/*/hosts/rdp1/console.log"


def test_ssh_refusing_the_controller_is_reported_with_what_ssh_said(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LabError) as err:
        wait(monkeypatch, FakeHost(ssh_error="Host key verification failed."), timeout=0.3)
    assert err.value.message.startswith(
        "host rdp1 booted but SSH to 10.231.0.10 did not answer in 0 s (Host key verification failed.); "
        "last journal lines:"
    )


def test_a_host_whose_nspawn_died_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LabError, match="host rdp1 stopped while booting"):
        wait(monkeypatch, FakeHost(nspawn_alive=False), timeout=30)
