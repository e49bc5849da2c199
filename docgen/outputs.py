"""Every generated file of the repository and the text it should have."""

from __future__ import annotations

from pathlib import Path

from docgen.controls_page import PAGE, render
from docgen.defaults_file import with_comments
from docgen.readme_variables import MarkerError, variables_block, with_block
from docgen.role_interface import (
    DEFAULTS_FILE,
    README_FILE,
    description_text,
    interface_problems,
    load_role,
    role_dirs,
)

ROOT = Path(__file__).resolve().parents[1]
ROLES = Path("ansible") / "roles"


def role_files(role_dir: Path) -> tuple[dict[Path, str], list[str]]:
    """The README and defaults/main.yml of one role as generated, and what stops them being right."""
    role = load_role(role_dir)
    problems = interface_problems(role)
    files: dict[Path, str] = {}
    defaults_path = role_dir / DEFAULTS_FILE
    defaults_text = defaults_path.read_text(encoding="utf-8") if defaults_path.exists() else ""
    if defaults_text:
        descriptions = {name: description_text(spec) for name, spec in role.main_options.items()}
        files[defaults_path] = with_comments(defaults_text, descriptions)
    readme_path = role_dir / README_FILE
    if not readme_path.exists():
        return files, [*problems, f"{role.name}: {README_FILE} is missing"]
    try:
        files[readme_path] = with_block(readme_path.read_text(encoding="utf-8"), variables_block(role, defaults_text))
    except MarkerError as error:
        problems.append(f"{role.name}: {README_FILE}: {error}")
    return files, problems


def generated(root: Path = ROOT) -> tuple[dict[Path, str], list[str]]:
    """Every generated file (path -> text) and the problems found on the way."""
    files: dict[Path, str] = {}
    problems: list[str] = []
    for role_dir in role_dirs(root / ROLES):
        role_out, role_problems = role_files(role_dir)
        files |= role_out
        problems += role_problems
    files[root / PAGE] = render(root)
    return files, problems


def stale(files: dict[Path, str]) -> list[Path]:
    return [path for path, text in files.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
