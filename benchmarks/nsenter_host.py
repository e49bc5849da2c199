"""Lab hosts as the benchmarks reach them: with nsenter into the host's namespaces, so that no SSH
is in the measured path. Shared by benchmarks/log_throughput.py and benchmarks/file_shares.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.settings import load
from lab.state import all_states


class Host:
    """A lab host reached with nsenter (no SSH in the measured path)."""

    def __init__(self, name: str, pid: int) -> None:
        self.name, self.pid = name, pid

    def argv(self, *command: str) -> list[str]:
        return ["nsenter", "-t", str(self.pid), "-a", *command]

    def sh(self, script: str, check: bool = True, stdin: str | None = None) -> str:
        """Run a shell script in the host; stdin carries input too large for an argument."""
        proc = subprocess.run(self.argv("sh", "-c", script), input=stdin, capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{self.name}: {script!r} failed: {(proc.stderr or proc.stdout).strip()[-600:]}")
        return proc.stdout

    def popen(self, script: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv("sh", "-c", script), stdin=subprocess.PIPE, text=True)


def find_hosts(lab: str, names: tuple[str, str], start_with: str) -> tuple[Host, Host]:
    """The two named hosts of a running lab; start_with says how to bring the lab up if it is not."""
    for state in all_states(load()):
        if state.name == lab:
            hosts = {h.name: h for h in state.hosts.values()}
            missing = [n for n in names if n not in hosts]
            if missing:
                raise SystemExit(f"lab {lab} has no host {missing[0]}")
            first, second = names
            return Host(first, hosts[first].leader_pid), Host(second, hosts[second].leader_pid)
    raise SystemExit(f"lab {lab} is not up: run `{start_with}` first")
