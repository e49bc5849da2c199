"""docs/ARCHITECTURE.md says which roles exist and which are planned, and says it truthfully."""

from __future__ import annotations

import re

from docgen.outputs import ROLES, ROOT
from docgen.role_interface import role_dirs

ROW = re.compile(r"^\| ([a-z_]+) \| (exists|planned) \|")


def role_statuses() -> dict[str, str]:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    return {m.group(1): m.group(2) for line in text.splitlines() if (m := ROW.match(line))}


def test_roles_marked_existing_are_the_roles_of_the_repository() -> None:
    existing = {name for name, status in role_statuses().items() if status == "exists"}
    assert existing == {p.name for p in role_dirs(ROOT / ROLES)}


def test_planned_roles_are_not_written_yet() -> None:
    planned = {name for name, status in role_statuses().items() if status == "planned"}
    assert planned, "the roles table lists no planned role: check the table's format"
    assert not planned & {p.name for p in role_dirs(ROOT / ROLES)}
