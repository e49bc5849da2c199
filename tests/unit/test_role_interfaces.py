"""Every role's interface is written once, in meta/argument_specs.yml, and the rest agrees with it.

For each role found under ansible/roles/ (a new role is covered without editing this file): the
variables of defaults/main.yml and of the `main` specs are the same (required ones aside), each
spec default is the value defaults/main.yml gives, every option is typed and described, every
`tasks_from:` target has its own entry point, and the README table and the defaults comments are
what `make docs` writes from the specs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from docgen.outputs import ROLES, ROOT, generated, role_files, stale
from docgen.readme_variables import BEGIN, END
from docgen.role_interface import (
    DEFAULTS_FILE,
    README_FILE,
    SPECS_FILE,
    interface_problems,
    load_role,
    options_of,
    role_dirs,
    tasks_from_targets,
)

ROLE_DIRS = role_dirs(ROOT / ROLES)


def templated(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(templated(v) for v in value.values())
    if isinstance(value, list):
        return any(templated(v) for v in value)
    return False


def test_roles_are_found() -> None:
    assert {"baseline", "remote_desktop", "telework_users"} <= {p.name for p in ROLE_DIRS}


@pytest.mark.parametrize("role_dir", ROLE_DIRS, ids=lambda p: p.name)
def test_specs_and_defaults_agree(role_dir: Path) -> None:
    """Same variables, same defaults, every option typed and described, nothing internal."""
    assert interface_problems(load_role(role_dir)) == []


@pytest.mark.parametrize("role_dir", ROLE_DIRS, ids=lambda p: p.name)
def test_every_public_default_is_prefixed_with_the_role_name(role_dir: Path) -> None:
    role = load_role(role_dir)
    assert [name for name in role.defaults if not name.startswith(f"{role.name}_")] == []


@pytest.mark.parametrize("role_dir", ROLE_DIRS, ids=lambda p: p.name)
def test_ansible_accepts_every_entry_point_with_the_role_defaults(role_dir: Path) -> None:
    """Ansible's own validator takes each spec (it refuses e.g. required with a default) and the defaults."""
    role = load_role(role_dir)
    for entry, spec in role.entry_points.items():
        options = dict(options_of(spec))
        checked = {k: v for k, v in options.items() if k in role.defaults and not templated(role.defaults[k])}
        result = ArgumentSpecValidator(checked).validate({k: role.defaults[k] for k in checked})
        assert result.error_messages == [], f"{role.name} ({entry})"


@pytest.mark.parametrize("role_dir", ROLE_DIRS, ids=lambda p: p.name)
def test_every_tasks_from_target_has_its_own_entry_point(role_dir: Path) -> None:
    role = load_role(role_dir)
    entered = tasks_from_targets(ROOT).get(role.name, set())
    assert sorted(entered - set(role.entry_points)) == [], f"documented entry points: {sorted(role.entry_points)}"


@pytest.mark.parametrize("role_dir", ROLE_DIRS, ids=lambda p: p.name)
def test_readme_variables_table_is_generated_from_the_specs(role_dir: Path) -> None:
    files, problems = role_files(role_dir)
    readme = role_dir / README_FILE
    assert problems == []
    assert BEGIN in readme.read_text() and END in readme.read_text()
    assert readme.read_text() == files[readme], f"{readme.relative_to(ROOT)} is stale: run `make docs`"


@pytest.mark.parametrize("role_dir", ROLE_DIRS, ids=lambda p: p.name)
def test_defaults_comments_are_the_spec_descriptions(role_dir: Path) -> None:
    files, _ = role_files(role_dir)
    defaults = role_dir / DEFAULTS_FILE
    if not defaults.exists():
        pytest.skip(f"{role_dir.name} has no defaults/main.yml")
    assert defaults.read_text() == files[defaults], f"{defaults.relative_to(ROOT)} is stale: run `make docs`"


def copy_of_repository(tmp_path: Path, role: str) -> Path:
    """The docs, the catalogue and one role, enough for the generator."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / ROLES / role, root / ROLES / role)
    (root / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "ARCHITECTURE.md", root / "docs")
    return root


def test_a_stale_readme_row_and_a_changed_spec_default_are_caught(tmp_path: Path) -> None:
    """The checks can fail: a hand-edited README row, a spec default that is not the role's default."""
    root = copy_of_repository(tmp_path, "baseline")
    role_dir = root / ROLES / "baseline"
    readme = role_dir / README_FILE
    readme.write_text(
        readme.read_text().replace("| `baseline_ssh_port` | `int` | `22` |", "| `baseline_ssh_port` | `int` | `2222` |")
    )
    specs = role_dir / SPECS_FILE
    specs.write_text(specs.read_text().replace("default: 22\n", "default: 2222\n", 1))
    files, problems = role_files(role_dir)
    assert problems == [
        "baseline: meta/argument_specs.yml (main): baseline_ssh_port defaults to 2222, but defaults/main.yml says 22"
    ]
    assert readme.read_text() != files[readme]
    all_files, _ = generated(root)
    assert readme in stale(all_files)


def test_a_variable_missing_from_the_specs_or_the_defaults_is_caught(tmp_path: Path) -> None:
    root = copy_of_repository(tmp_path, "zone_router")
    role_dir = root / ROLES / "zone_router"
    defaults = role_dir / DEFAULTS_FILE
    defaults.write_text(defaults.read_text().replace("zone_router_log_rate_per_minute: 30\n", "zone_router_burst: 5\n"))
    problems = interface_problems(load_role(role_dir))
    assert problems == [
        "zone_router: zone_router_burst is in defaults/main.yml but not in meta/argument_specs.yml (entry point main)",
        "zone_router: meta/argument_specs.yml (main): zone_router_log_rate_per_minute has no value in "
        "defaults/main.yml and is not required",
    ]
