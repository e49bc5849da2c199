"""Every role has the same task layout, so that a new role copies one pattern.

- One vars loader: every role with per-release data (`vars/` files besides main.yml) has
  `tasks/vars.yml`, the copies are byte-identical, and `tasks/main.yml` includes it first.
- Input checks run on every `--tags` run: each include or import of a check file (preflight,
  validate, vars, `*_check`) is tagged `always`, and an include also applies `always` to the tasks
  it brings in (a tag on an include alone does not reach them); every entry point starts with one.
- `| bool` on every switch (a boolean of the specs) in a condition.
- The switches that open a role's port in the baseline host firewall share one default and one
  wording.
- Certificates are installed through site_pki's `certificate` entry point only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[2] / "ansible" / "roles"
ROLE_DIRS = sorted(p for p in ROLES.iterdir() if (p / "tasks").is_dir())
CHECK_FILE = re.compile(r"^(preflight|validate|vars|\w+_check)(\.ya?ml)?$")
INCLUDES = ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks")
INCLUDE_ROLE = ("ansible.builtin.include_role", "ansible.builtin.import_role")
CONDITIONS = ("when", "changed_when", "failed_when", "that")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def tasks_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every task of a task list, blocks opened (the block itself too)."""
    for task in node or []:
        yield task
        for key in ("block", "rescue", "always"):
            if isinstance(task.get(key), list):
                yield from tasks_in(task[key])


def task_files(role_dir: Path, *subdirs: str) -> list[Path]:
    return sorted(p for d in subdirs for p in (role_dir / d).glob("*.yml"))


def included_file(task: dict[str, Any]) -> tuple[str, str] | None:
    """(module, target file or entry point) of an include/import task, else None."""
    for module in INCLUDES:
        if module in task:
            arg = task[module]
            return module, str(arg["file"] if isinstance(arg, dict) else arg)
    for module in INCLUDE_ROLE:
        if module in task and "tasks_from" in task[module]:
            return module, str(task[module]["tasks_from"])
    return None


def tags(node: Any) -> list[str]:
    value = node.get("tags", []) if isinstance(node, dict) else []
    return [value] if isinstance(value, str) else list(value)


def applied_tags(task: dict[str, Any], module: str) -> list[str]:
    arg = task[module]
    return tags(arg.get("apply", {})) if isinstance(arg, dict) else []


def bool_switches() -> set[str]:
    names = set()
    for role_dir in ROLE_DIRS:
        for spec in load(role_dir / "meta" / "argument_specs.yml")["argument_specs"].values():
            names |= {n for n, o in (spec.get("options") or {}).items() if o.get("type") == "bool"}
    return names


# --- one vars loader ------------------------------------------------------------------------


def test_every_role_with_per_release_data_loads_it_with_the_same_vars_loader() -> None:
    with_data = [r for r in ROLE_DIRS if any(p.name != "main.yml" for p in (r / "vars").glob("*.yml"))]
    assert {r.name for r in with_data} >= {"baseline", "remote_desktop", "vpn_gateway"}
    loaders = {r.name: (r / "tasks" / "vars.yml") for r in with_data}
    assert [name for name, path in loaders.items() if not path.exists()] == []
    # Every copy of the loader, in any role, is the same file byte for byte.
    copies = {r.name: (r / "tasks" / "vars.yml").read_bytes() for r in ROLE_DIRS if (r / "tasks" / "vars.yml").exists()}
    assert len(set(copies.values())) == 1, f"tasks/vars.yml differs between {sorted(copies)}"


@pytest.mark.parametrize(
    "role_dir", [r for r in ROLE_DIRS if (r / "tasks" / "vars.yml").exists()], ids=lambda p: p.name
)
def test_main_loads_the_release_data_first(role_dir: Path) -> None:
    first = load(role_dir / "tasks" / "main.yml")[0]
    assert included_file(first) == ("ansible.builtin.include_tasks", "vars.yml")


def test_the_vars_loader_goes_general_to_specific_and_skips_a_missing_file() -> None:
    loader = load(ROLE_DIRS[0].parent / "baseline" / "tasks" / "vars.yml")
    step = next(t for t in loader if "ansible.builtin.include_vars" in t)
    loop = " ".join(step["loop"].split())
    assert loop.index("os_family") < loop.index("'distribution']") < loop.index("distribution_major_version")
    assert "is file" in step["when"]


# --- checks tagged always -------------------------------------------------------------------


def check_includes() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for role_dir in ROLE_DIRS:
        for path in task_files(role_dir, "tasks"):
            for task in tasks_in(load(path)):
                found = included_file(task)
                if found and CHECK_FILE.match(Path(found[1]).name):
                    yield f"{role_dir.name}/tasks/{path.name}: {task.get('name')}", found[0], task


def test_checks_are_found() -> None:
    assert len(list(check_includes())) >= 10


@pytest.mark.parametrize(
    ("where", "module", "task"), list(check_includes()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_check_runs_on_every_tags_run(where: str, module: str, task: dict[str, Any]) -> None:
    assert "always" in tags(task), where
    if module.endswith(("include_tasks", "include_role")):
        assert "always" in applied_tags(task, module), f"{where}: the include needs apply: {{tags: [always]}}"


def entry_points() -> Iterator[tuple[Path, str]]:
    for role_dir in ROLE_DIRS:
        for entry in load(role_dir / "meta" / "argument_specs.yml")["argument_specs"]:
            yield role_dir, entry


@pytest.mark.parametrize(
    ("role_dir", "entry"), list(entry_points()), ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_every_entry_point_starts_with_a_check_tagged_always(role_dir: Path, entry: str) -> None:
    if CHECK_FILE.match(entry):
        return  # the entry point is a check itself (telework_users' validate): its callers tag it
    first = load(role_dir / "tasks" / f"{entry}.yml")[0]
    assert "always" in tags(first), f"{role_dir.name} {entry}: {first.get('name')}"


# --- switches -------------------------------------------------------------------------------


def conditions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CONDITIONS:
                yield from (str(v) for v in (value if isinstance(value, list) else [value]))
            yield from conditions(value)
    elif isinstance(node, list):
        for item in node:
            yield from conditions(item)


def test_every_switch_in_a_condition_goes_through_bool() -> None:
    switches = bool_switches()
    assert "vpn_gateway_connection_log_enabled" in switches
    names = "|".join(sorted(switches))
    bare = re.compile(rf"\b({names})\b(?!\s*\|\s*bool)")
    found = [
        f"{path.relative_to(ROLES)}: {text}"
        for role_dir in ROLE_DIRS
        for path in task_files(role_dir, "tasks", "handlers")
        for text in conditions(load(path))
        if bare.search(text)
    ]
    assert found == []


def baseline_firewall_switches() -> dict[str, tuple[Any, str]]:
    """switch -> (default, description) of each role that opens its port in baseline's firewall."""
    found: dict[str, tuple[Any, str]] = {}
    switches = bool_switches()
    for role_dir in ROLE_DIRS:
        options = load(role_dir / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
        main = load(role_dir / "tasks" / "main.yml")
        for path in task_files(role_dir, "tasks"):
            for task in tasks_in(load(path)):
                if included_file(task) != ("ansible.builtin.include_role", "firewall_service"):
                    continue
                if task["ansible.builtin.include_role"]["name"].split(".")[-1] != "baseline":
                    continue
                # The switch is on the task, or on the include of its file in main.yml.
                guards = list(conditions({"when": task.get("when", [])}))
                guards += [c for t in main if (included_file(t) or ("", ""))[1] == path.name for c in conditions(t)]
                names = {n for g in guards for n in re.findall(r"\w+", g) if n in switches and n in options}
                assert len(names) == 1, f"{path}: {names}"
                name = names.pop()
                found[name] = (options[name]["default"], " ".join(str(options[name]["description"]).split()))
    return found


def test_switches_of_the_same_kind_share_default_and_wording() -> None:
    found = baseline_firewall_switches()
    assert set(found) >= {"log_server_firewall_enabled", "remote_desktop_firewall_enabled"}, found
    assert {default for default, _ in found.values()} == {True}
    for name, (_, text) in found.items():
        assert re.fullmatch(
            r"Open the \S+ port in the baseline role's host firewall \(`tasks_from: firewall_service`, TW-11\) to .+\."
            r" Takes effect where baseline manages the firewall; set false on a host without baseline\.",
            text,
        ), name


# --- certificates ---------------------------------------------------------------------------


def test_roles_install_certificates_through_site_pki_certificate_only() -> None:
    """No role copies an issued key or certificate itself: `tasks_from: certificate` does it."""
    pattern = re.compile(r"site_pki_issued\.(key|cert|ca_cert)\b")
    found = [
        str(path.relative_to(ROLES))
        for role_dir in ROLE_DIRS
        if role_dir.name != "site_pki"
        for path in task_files(role_dir, "tasks")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
