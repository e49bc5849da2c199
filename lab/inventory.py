"""Read a lab site from an Ansible inventory, so hosts, zones and roles live in one file.

Variables the engine reads (see inventories/lab/README.md):
  all:   lab_name (default "site"), lab_zones: {zone: {subnet: CIDR}}
  hosts: ansible_host (address on the control network), lab_release (default trixie),
         lab_interfaces: {zone: address}, lab_routes: [{to: CIDR, via: address}]
The groups a host belongs to are what runs there (they name the Ansible roles).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from lab.commands import run
from lab.errors import LabError

# Groups Ansible always has; they say nothing about what runs on a host.
_IMPLICIT_GROUPS = {"all", "ungrouped"}


def _ansible_inventory_bin() -> str:
    """ansible-inventory from the same environment as this Python, else from PATH."""
    candidate = Path(sys.executable).parent / "ansible-inventory"
    return str(candidate) if candidate.exists() else "ansible-inventory"


def load_inventory(path: Path) -> dict[str, Any]:
    """The inventory as `ansible-inventory --list` resolves it (group_vars and host_vars included)."""
    if not path.exists():
        raise LabError(f"inventory {path} does not exist", "pass -i with the path of a lab inventory")
    env = dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_NOCOLOR="1")
    proc = run([_ansible_inventory_bin(), "-i", str(path), "--list"], env=env, check=False, timeout=120)
    if proc.returncode != 0:
        raise LabError(f"cannot read inventory {path}: {proc.stderr.strip()[-600:]}")
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _host_groups(data: dict[str, Any]) -> dict[str, list[str]]:
    """host -> every group it belongs to, directly or through children, implicit ones left out."""
    parents: dict[str, set[str]] = {}
    for group, body in data.items():
        if group == "_meta" or not isinstance(body, dict):
            continue
        for child in body.get("children", []):
            parents.setdefault(child, set()).add(group)
    result: dict[str, list[str]] = {}
    for group, body in data.items():
        if group == "_meta" or not isinstance(body, dict):
            continue
        for host in body.get("hosts", []):
            seen: set[str] = set()
            todo = [group]
            while todo:
                g = todo.pop()
                if g in seen:
                    continue
                seen.add(g)
                todo.extend(parents.get(g, ()))
            result.setdefault(host, [])
            result[host] = sorted(set(result[host]) | (seen - _IMPLICIT_GROUPS))
    return result


def spec_from_inventory(data: dict[str, Any]) -> dict[str, Any]:
    """Turn the resolved inventory into the spec document that lab.spec.parse_spec checks."""
    hostvars: dict[str, dict[str, Any]] = data.get("_meta", {}).get("hostvars", {})
    groups = _host_groups(data)
    all_vars: dict[str, Any] = next(iter(hostvars.values()), {}) if hostvars else {}
    spec: dict[str, Any] = {
        "name": all_vars.get("lab_name", "site"),
        "zones": all_vars.get("lab_zones", {}),
        "hosts": {},
    }
    for host in sorted(set(hostvars) | set(groups)):
        hv = hostvars.get(host, {})
        spec["hosts"][host] = {
            "release": hv.get("lab_release", "trixie"),
            "interfaces": hv.get("lab_interfaces", {}),
            "control_address": hv.get("ansible_host"),
            "routes": hv.get("lab_routes", []),
            "groups": groups.get(host, []),
        }
    return spec
