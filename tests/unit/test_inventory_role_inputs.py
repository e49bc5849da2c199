"""Every inventory gives each role of ansible/site.yml input its argument specs accept.

Catches an inventory that drifted from a role (a renamed variable, a wrong type, a missing
required value) before any host is touched. For each play of site.yml, each host it targets and
each role it runs: the role's defaults, overridden by the host's variables from
`ansible-inventory`, are checked with Ansible's own validator against the role's
`meta/argument_specs.yml` (entry point `main`). Values that are still Jinja templates are
resolved only on a host, so they are left out of the check.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from tests.unit.inventory_files import INVENTORIES, ROOT, resolved

ROLES = ROOT / "ansible" / "roles"
# Roles that site.yml's roles include themselves, with the same host variables.
INCLUDED = {
    "remote_desktop": ["telework_users"],
    "vpn_gateway": ["telework_users"],
    "file_server": ["telework_users"],
    "chat_server": ["telework_users"],
}


def group_members(inv: dict[str, Any], group: str) -> set[str]:
    entry = inv.get(group, {})
    hosts = set(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts |= group_members(inv, child)
    return hosts


def targets(inv: dict[str, Any], pattern: str) -> set[str]:
    """The hosts of a play pattern (the forms site.yml uses: name, a:b, a:!b, a:&b)."""
    everyone = set(inv["_meta"]["hostvars"])
    chosen: set[str] = set()
    for part in pattern.split(":"):
        if part.startswith("!"):
            chosen -= group_members(inv, part[1:]) or {part[1:]} & everyone
        elif part.startswith("&"):
            chosen &= group_members(inv, part[1:]) or {part[1:]} & everyone
        elif part == "all":
            chosen |= everyone
        else:
            chosen |= group_members(inv, part) or {part} & everyone
    return chosen


def templated(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(templated(v) for v in value.values())
    if isinstance(value, list):
        return any(templated(v) for v in value)
    return False


def role_inputs(inventory: Path) -> list[tuple[str, str, dict[str, Any]]]:
    inv = resolved(inventory)
    plays = yaml.safe_load((ROOT / "ansible" / "site.yml").read_text())
    cases = []
    for play in plays:
        for role in play.get("roles", []):
            role_name = role["role"] if isinstance(role, dict) else role
            for host in sorted(targets(inv, play["hosts"])):
                if host == "localhost":
                    continue
                for name in [role_name, *INCLUDED.get(role_name, [])]:
                    cases.append((name, host, inv["_meta"]["hostvars"][host]))
    return cases


def problems(inventory: Path) -> list[str]:
    cases = role_inputs(inventory)
    assert cases, f"{inventory.name}: no host runs a role of site.yml"
    found = []
    for role, host, hostvars in cases:
        spec_file = ROLES / role / "meta" / "argument_specs.yml"
        spec = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"].get("options", {})
        defaults_file = ROLES / role / "defaults" / "main.yml"
        defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
        params = {k: v for k, v in {**(defaults or {}), **hostvars}.items() if k in spec}
        skipped = {k for k, v in params.items() if templated(v)}
        checked_spec = {k: v for k, v in spec.items() if k not in skipped}
        result = ArgumentSpecValidator(checked_spec).validate({k: v for k, v in params.items() if k not in skipped})
        found += [f"{inventory.name}: {role} on {host}: {msg}" for msg in result.error_messages]
    return found


@pytest.mark.parametrize("inv_name", INVENTORIES)
def test_every_role_of_the_site_gets_valid_input_from_the_inventory(inv_name: str) -> None:
    assert problems(ROOT / "inventories" / inv_name) == []


def test_a_wrong_inventory_value_is_caught(tmp_path: Path) -> None:
    """The check can fail: a copy of the example site with two broken values."""
    copy = tmp_path / "example"
    shutil.copytree(ROOT / "inventories" / "example", copy)
    with (copy / "group_vars" / "remote_desktop.yml").open("a") as fh:
        fh.write("remote_desktop_max_sessions: many\n")
    staff = copy / "group_vars" / "all" / "staff.yml"
    staff.write_text(staff.read_text().replace("state: active", "state: on-leave", 1))
    found = problems(copy)
    assert any("remote_desktop on rdp01" in p and "remote_desktop_max_sessions" in p for p in found), found
    assert any("telework_users" in p and "state" in p for p in found), found
