"""Tables for people and JSON for programs: what runs where in a lab."""

from __future__ import annotations

import json
from dataclasses import asdict

from lab.spec import RELEASES
from lab.state import LabState


def host_rows(state: LabState) -> list[list[str]]:
    rows = []
    for hs in sorted(state.hosts.values(), key=lambda h: h.name):
        zones = ", ".join(f"{z} {a.split('/')[0]}" for z, a in hs.interfaces.items()) or "-"
        rows.append(
            [
                hs.name,
                "up" if hs.nspawn_pid else "DOWN",
                f"Debian {RELEASES.get(hs.release, '?')}",
                zones,
                hs.control_address,
                ", ".join(hs.groups) or "-",
            ]
        )
    return rows


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def render(state: LabState) -> str:
    header = ["HOST", "STATE", "RELEASE", "ZONES (address)", "CONTROL", "RUNS (groups)"]
    zones = "  ".join(f"{z}={d['subnet']}" for z, d in sorted(state.zones.items())) or "(no zones)"
    return f"lab {state.name}: zones {zones}\n" + table(host_rows(state), header)


def as_json(states: list[LabState]) -> str:
    return json.dumps([asdict(s) for s in states], indent=2, sort_keys=True)
