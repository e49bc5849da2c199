"""Where the code and the tests name a control (TW-01 .. TW-14).

- the catalogue: the table of docs/ARCHITECTURE.md (`| TW-01 | control | ... |`);
- Ansible tasks: a task name that starts with the ID (`TW-02 | Block clipboard redirection`) or
  a tag `tw02`, in ansible/roles/*/tasks/ (blocks included);
- Pulumi and policy code: the ID anywhere in a line of infra/ or policy/ (comments, docstrings,
  names), reported by the function or class it sits in;
- tests: a test function (or its class) whose name carries `tw02`, per tier.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docgen.yaml_values import load

CONTROL_ROW = re.compile(r"^\|\s*(TW-\d\d)\s*\|\s*([^|]+?)\s*\|")
TASK_NAME = re.compile(r"^(TW-\d\d(?:(?:, ?| )TW-\d\d)*) \| ")
CONTROL_ID = re.compile(r"\bTW-(\d\d)\b")
TAG = re.compile(r"^tw(\d\d)$")
NAME_TOKEN = re.compile(r"(?:^|_)tw(\d\d)(?=_|$)")
CLASS_TOKEN = re.compile(r"tw(\d\d)(?![0-9])", re.IGNORECASE)
CODE_DIRS = ("infra", "policy")
SKIPPED_DIRS = {"venv", ".venv", "__pycache__", "node_modules"}
MODULE = ""  # the symbol of a line outside any function or class


@dataclass(frozen=True)
class Control:
    id: str
    title: str


@dataclass(frozen=True, order=True)
class TaskRef:
    role: str
    file: str
    position: int
    name: str
    by_name: bool


@dataclass(frozen=True, order=True)
class CodeRef:
    path: str
    symbol: str


@dataclass(frozen=True)
class Tier:
    key: str
    title: str
    needs: str
    paths: tuple[str, ...]


@dataclass(frozen=True, order=True)
class ProofRef:
    tier: str
    node_id: str
    scenario: str


TIERS = (
    Tier("role", "role (Molecule)", "root", ("molecule/*/tests",)),
    Tier("site", "site (lab)", "root, the lab site up (`make lab`)", ("tests/lab",)),
    Tier("unit", "unit", "-", ("tests/unit",)),
    Tier("engine", "engine", "root", ("tests/engine",)),
)


def catalogue(root: Path) -> list[Control]:
    """The controls of docs/ARCHITECTURE.md's catalogue, in its order."""
    text = (root / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    return [Control(m.group(1), m.group(2)) for line in text.splitlines() if (m := CONTROL_ROW.match(line))]


def _ids(text: str) -> set[str]:
    return {f"TW-{n}" for n in CONTROL_ID.findall(text)}


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("block", "rescue", "always"):
            yield from _tasks(node.get(key))


def _tags(task: dict[str, Any]) -> set[str]:
    tags = task.get("tags") or []
    tags = [tags] if isinstance(tags, str) else tags
    return {f"TW-{m.group(1)}" for tag in tags if (m := TAG.match(str(tag)))}


def task_refs(root: Path) -> dict[str, list[TaskRef]]:
    """control ID -> the Ansible tasks that carry it in their name or tags, in file order."""
    found: dict[str, set[TaskRef]] = {}
    for path in sorted((root / "ansible" / "roles").glob("*/tasks/**/*.yml")):
        role = path.relative_to(root / "ansible" / "roles").parts[0]
        rel = path.relative_to(root / "ansible" / "roles" / role).as_posix()
        for position, task in enumerate(_tasks(load(path))):
            name = str(task.get("name") or "")
            named = _ids(m.group(1)) if (m := TASK_NAME.match(name)) else set()
            for control in named | _tags(task):
                found.setdefault(control, set()).add(TaskRef(role, rel, position, name, control in named))
    return {k: sorted(v) for k, v in found.items()}


def _symbols(tree: ast.AST) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                spans.append((child.lineno, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return spans


def _symbol_at(spans: list[tuple[int, int, str]], line: int) -> str:
    inside = [s for s in spans if s[0] <= line <= s[1]]
    return max(inside, key=lambda s: s[0])[2] if inside else MODULE


def _python_files(root: Path, top: str) -> Iterator[Path]:
    for path in sorted((root / top).rglob("*.py")):
        if not SKIPPED_DIRS & set(path.relative_to(root).parts):
            yield path


def code_refs(root: Path) -> dict[str, list[CodeRef]]:
    """control ID -> the Pulumi and policy functions, classes and modules that name it."""
    found: dict[str, set[CodeRef]] = {}
    for top in CODE_DIRS:
        for path in _python_files(root, top):
            text = path.read_text(encoding="utf-8")
            spans = _symbols(ast.parse(text))
            rel = path.relative_to(root).as_posix()
            for number, line in enumerate(text.splitlines(), start=1):
                for control in _ids(line):
                    found.setdefault(control, set()).add(CodeRef(rel, _symbol_at(spans, number)))
    return {k: sorted(v) for k, v in found.items()}


def _tests(tree: ast.Module) -> Iterator[tuple[str, set[str]]]:
    """(node id suffix, control IDs) of every test function and method of a test module."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            yield node.name, {f"TW-{n}" for n in NAME_TOKEN.findall(node.name.lower())}
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            from_class = {f"TW-{n}" for n in CLASS_TOKEN.findall(node.name)}
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test"):
                    ids = from_class | {f"TW-{n}" for n in NAME_TOKEN.findall(item.name.lower())}
                    yield f"{node.name}::{item.name}", ids


def tier_test_files(root: Path, tier: Tier) -> Iterator[Path]:
    for pattern in tier.paths:
        for directory in sorted(root.glob(pattern)):
            yield from sorted(p for p in directory.rglob("test_*.py") if "__pycache__" not in p.parts)


def proof_refs(root: Path) -> dict[str, list[ProofRef]]:
    """control ID -> the tests whose names carry it, on every tier."""
    found: dict[str, set[ProofRef]] = {}
    for tier in TIERS:
        for path in tier_test_files(root, tier):
            rel = path.relative_to(root).as_posix()
            scenario = rel.split("/")[1] if tier.key == "role" else ""
            for suffix, ids in _tests(ast.parse(path.read_text(encoding="utf-8"))):
                for control in ids:
                    found.setdefault(control, set()).add(ProofRef(tier.key, f"{rel}::{suffix}", scenario))
    return {k: sorted(v) for k, v in found.items()}
