"""What an ansible-runner run left in its artifacts: status, rc and the play recap per host."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

# The counters of Ansible's play recap, as the playbook_on_stats event carries them.
COUNTERS = ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")


class ResultsError(RuntimeError):
    """The artifacts of a run are missing or incomplete."""


@dataclass(frozen=True)
class RunResult:
    status: str
    rc: int
    hosts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(counts["changed"] for counts in self.hosts.values())

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0


def read(artifacts: Path) -> RunResult:
    """The result in artifacts (<private data dir>/artifacts/<ident>)."""
    try:
        status = (artifacts / "status").read_text().strip()
        rc = int((artifacts / "rc").read_text().strip())
    except (OSError, ValueError) as error:
        raise ResultsError(f"no status or rc in {artifacts}: {error}") from error
    stats = None
    for path in sorted((artifacts / "job_events").glob("*.json")):
        event = json.loads(path.read_text())
        if event.get("event") == "playbook_on_stats":
            stats = event.get("event_data", {})
    if stats is None:
        return RunResult(status=status, rc=rc)  # the play did not get to its recap
    names = sorted({host for counter in COUNTERS for host in (stats.get(counter) or {})})
    hosts = {name: {c: int((stats.get(c) or {}).get(name, 0)) for c in COUNTERS} for name in names}
    return RunResult(status=status, rc=rc, hosts=hosts)


def render(result: RunResult, seconds: float) -> str:
    """The recap as a table, with the status, rc, total changes and the time."""
    lines = [f"{'HOST':<10} " + " ".join(f"{c:>9}" for c in COUNTERS)]
    lines += [f"{name:<10} " + " ".join(f"{counts[c]:>9}" for c in COUNTERS) for name, counts in result.hosts.items()]
    lines.append(f"status={result.status} rc={result.rc} changed={result.changed} time={seconds:.1f} s")
    return "\n".join(lines)
