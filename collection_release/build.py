"""Build the collection archive and install it, as a ward does (`ansible-galaxy collection ...`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from collection_release.isolated import isolated_env
from collection_release.metadata import COLLECTION_ROOT, load
from collection_release.tools import tool


class ReleaseError(RuntimeError):
    """A step of building, installing or checking the collection failed; the message says which and why."""


def _run(argv: list[str], env: dict[str, str], cwd: Path, what: str) -> str:
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise ReleaseError(f"{what} failed (rc {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-1500:]}")
    return proc.stdout


def build(output_dir: Path, scratch: Path, root: Path = COLLECTION_ROOT) -> Path:
    """`ansible-galaxy collection build` of root into output_dir; the path of the archive."""
    output_dir.mkdir(parents=True, exist_ok=True)
    argv = [tool("ansible-galaxy"), "collection", "build", str(root), "--output-path", str(output_dir), "--force"]
    _run(argv, isolated_env(scratch), scratch, "ansible-galaxy collection build")
    archive = output_dir / load(root).tarball
    if not archive.is_file():
        raise ReleaseError(f"ansible-galaxy collection build wrote no {archive.name} into {output_dir}")
    return archive


def install(archive: Path, collections_dir: Path, scratch: Path) -> Path:
    """Install the archive into collections_dir (fresh or not); the installed collection's directory.

    `--offline`: Galaxy is not asked; the dependencies (ansible.posix, community.*) must already be
    installed, here by the `ansible` package, in an execution environment by its Python requirements.
    """
    argv = [tool("ansible-galaxy"), "collection", "install", str(archive), "-p", str(collections_dir), "--offline"]
    _run(argv, isolated_env(scratch, collections_dir), scratch, "ansible-galaxy collection install")
    meta = load(COLLECTION_ROOT)
    installed = collections_dir / "ansible_collections" / meta.namespace / meta.name
    if not (installed / "MANIFEST.json").is_file():
        raise ReleaseError(f"the collection is not in {installed} after ansible-galaxy collection install")
    return installed


def syntax_check(playbook: str, inventory: Path, collections_dir: Path, scratch: Path) -> str:
    """`ansible-playbook --syntax-check` of playbook (an FQCN) with only collections_dir on the paths."""
    argv = [tool("ansible-playbook"), playbook, "-i", str(inventory), "--syntax-check"]
    what = f"syntax check of {playbook} on {inventory.name}"
    return _run(argv, isolated_env(scratch, collections_dir), scratch, what)
