"""A role's interface as `meta/argument_specs.yml` declares it, and where `defaults/main.yml` disagrees.

The specs are the one source: every public variable's type, default and description, per entry
point (`main`, and each `tasks_from:` target). `defaults/main.yml` holds the values Ansible uses;
the default a spec names must be the same value. Internal variables (`__<role>_...`, in `vars/`)
are not part of the interface.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docgen.yaml_values import load, same

SPECS_FILE = Path("meta") / "argument_specs.yml"
DEFAULTS_FILE = Path("defaults") / "main.yml"
README_FILE = Path("README.md")


@dataclass(frozen=True)
class Role:
    name: str
    path: Path
    entry_points: Mapping[str, Mapping[str, Any]]
    defaults: Mapping[str, Any]

    @property
    def main_options(self) -> Mapping[str, Any]:
        return options_of(self.entry_points.get("main", {}))


def role_dirs(roles_dir: Path) -> list[Path]:
    """Every role under roles_dir: a directory with a tasks/ directory."""
    return sorted(p for p in roles_dir.iterdir() if (p / "tasks").is_dir())


def load_role(path: Path) -> Role:
    specs_file = path / SPECS_FILE
    specs = (load(specs_file) or {}).get("argument_specs", {}) if specs_file.exists() else {}
    defaults_file = path / DEFAULTS_FILE
    defaults = (load(defaults_file) or {}) if defaults_file.exists() else {}
    return Role(name=path.name, path=path, entry_points=specs or {}, defaults=defaults)


def options_of(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    return spec.get("options") or {}


def description_text(spec: Mapping[str, Any]) -> str:
    """A description (a string or a list of paragraphs) as one line of text."""
    raw = spec.get("description", "")
    text = " ".join(raw) if isinstance(raw, list) else str(raw or "")
    return " ".join(text.split())


def shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def walk_options(options: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every option and sub-option, named `a`, `a.b` (dict) or `a[].b` (list of dicts)."""
    for name, spec in options.items():
        path = f"{prefix}{name}"
        yield path, spec
        sub = spec.get("options")
        if sub:
            joiner = "[]." if spec.get("type") == "list" else "."
            yield from walk_options(sub, path + joiner)


def interface_problems(role: Role) -> list[str]:
    """What makes the specs and defaults/main.yml disagree, or leaves a variable undocumented."""
    where = f"{role.name}:"
    if not (role.path / SPECS_FILE).exists():
        return [f"{where} {SPECS_FILE} is missing"]
    if "main" not in role.entry_points:
        return [f"{where} {SPECS_FILE} has no entry point `main`"]
    problems = []
    for name in role.defaults:
        if name.startswith("__"):
            problems.append(f"{where} {name} is internal (__) and belongs in vars/, not {DEFAULTS_FILE}")
        elif not name.startswith(f"{role.name}_"):
            problems.append(f"{where} {name} in {DEFAULTS_FILE} is not prefixed with {role.name}_")
        if name not in role.main_options:
            problems.append(f"{where} {name} is in {DEFAULTS_FILE} but not in {SPECS_FILE} (entry point main)")
    for entry, spec in role.entry_points.items():
        problems += _entry_point_problems(role, entry, spec)
    return problems


def _entry_point_problems(role: Role, entry: str, spec: Mapping[str, Any]) -> list[str]:
    where = f"{role.name}: {SPECS_FILE} ({entry}):"
    problems = []
    if not spec.get("short_description"):
        problems.append(f"{where} no short_description")
    for name, option in options_of(spec).items():
        if name.startswith("__"):
            problems.append(f"{where} {name} is internal (__) and not part of the interface")
        required = bool(option.get("required"))
        in_defaults = name in role.defaults
        if required and in_defaults:
            problems.append(f"{where} {name} is required but {DEFAULTS_FILE} gives it a value; drop one of them")
        elif entry == "main" and not required and not in_defaults:
            problems.append(f"{where} {name} has no value in {DEFAULTS_FILE} and is not required")
        if in_defaults:
            if "default" not in option:
                problems.append(
                    f"{where} {name} has no default (it is {shown(role.defaults[name])} in {DEFAULTS_FILE})"
                )
            elif not same(option["default"], role.defaults[name]):
                problems.append(
                    f"{where} {name} defaults to {shown(option['default'])}, "
                    f"but {DEFAULTS_FILE} says {shown(role.defaults[name])}"
                )
    for path, option in walk_options(options_of(spec)):
        if not option.get("type"):
            problems.append(f"{where} {path} has no type")
        if not description_text(option):
            problems.append(f"{where} {path} has no description")
        if option.get("required") and option.get("default") is not None:
            problems.append(f"{where} {path} is required and has a default (Ansible refuses both)")
    return problems


def tasks_from_targets(root: Path) -> dict[str, set[str]]:
    """role -> the task files other plays and roles enter it by (`tasks_from:`), from ansible/ and molecule/."""
    targets: dict[str, set[str]] = {}
    for top in ("ansible", "molecule"):
        for path in sorted((root / top).rglob("*.yml")):
            targets_in(load(path), targets)
    return targets


def targets_in(node: Any, targets: dict[str, set[str]]) -> None:
    if isinstance(node, list):
        for item in node:
            targets_in(item, targets)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.endswith(("include_role", "import_role")) and isinstance(value, dict) and "tasks_from" in value:
                role = str(value.get("name", "")).split(".")[-1]
                entry = re.sub(r"\.ya?ml$", "", str(value["tasks_from"]))
                targets.setdefault(role, set()).add(entry)
            else:
                targets_in(value, targets)
