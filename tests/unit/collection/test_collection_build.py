"""The collection builds, installs into a fresh directory and its site playbook passes a syntax check
against the shipped inventories with nothing of the repository on Ansible's paths.

Each check is shown able to fail: a syntax check without the collection, a build of a broken
galaxy.yml.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest

from collection_release.build import ReleaseError, build, install, syntax_check
from collection_release.metadata import COLLECTION_ROOT, REPOSITORY, load
from docgen.role_interface import role_dirs
from tests.unit.installed_collection import Installed

META = load()
ROLES = [p.name for p in role_dirs(COLLECTION_ROOT / "roles")]


def members(archive: Path) -> set[str]:
    with tarfile.open(archive) as tar:
        return set(tar.getnames())


def test_archive_is_named_by_the_version(installed: Installed) -> None:
    assert installed.archive.name == f"telework-platform-{META.version}.tar.gz"


@pytest.mark.parametrize("role", ROLES)
def test_archive_holds_each_role(installed: Installed, role: str) -> None:
    names = members(installed.archive)
    assert {f"roles/{role}/tasks/main.yml", f"roles/{role}/meta/argument_specs.yml"} <= names


def test_archive_holds_the_plugins_playbook_and_metadata(installed: Installed) -> None:
    names = members(installed.archive)
    plugins = {str(p.relative_to(COLLECTION_ROOT)) for p in (COLLECTION_ROOT / "plugins").rglob("*.py")}
    assert plugins, "no plugin files found under ansible/plugins"
    assert plugins <= names
    assert {"playbooks/site.yml", "site.yml", "meta/runtime.yml", "README.md", "CHANGELOG.md"} <= names


def test_archive_leaves_out_what_is_not_content(installed: Installed) -> None:
    names = members(installed.archive)
    assert "ansible.cfg" not in names
    assert not [n for n in names if n.startswith("collections")], "the repository's own name resolver was packed"
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".retry"))]
    assert not [n for n in names if "/filter_plugins" in n or "/test_plugins" in n], "role-embedded plugins"


def test_installed_collection_records_its_version(installed: Installed) -> None:
    assert (installed.path / "MANIFEST.json").is_file()
    assert f'"version": "{META.version}"' in (installed.path / "MANIFEST.json").read_text()


@pytest.mark.parametrize("inventory", ["lab", "example"])
def test_installed_site_playbook_passes_syntax_check(installed: Installed, inventory: str, tmp_path: Path) -> None:
    out = syntax_check(
        META.playbook("site"), REPOSITORY / "inventories" / inventory, installed.collections_dir, tmp_path
    )
    assert str(installed.path / "playbooks" / "site.yml") in out


def test_syntax_check_fails_without_the_installed_collection(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReleaseError, match=r"syntax check of telework\.platform\.site"):
        syntax_check(META.playbook("site"), REPOSITORY / "inventories" / "lab", empty, tmp_path / "run")


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the collection root whose galaxy.yml has old replaced by new."""
    copy = tmp_path / "ansible"
    shutil.copytree(COLLECTION_ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns("collections", "__pycache__"))
    galaxy = copy / "galaxy.yml"
    text = galaxy.read_text()
    assert old in text
    galaxy.write_text(text.replace(old, new))
    return copy


def test_a_galaxy_yml_without_a_namespace_stops_the_build(tmp_path: Path) -> None:
    copy = broken_copy(tmp_path, f"namespace: {META.namespace}\n", "")
    with pytest.raises(ReleaseError, match="namespace"):
        build(tmp_path / "dist", tmp_path / "build", root=copy)


def test_a_version_that_is_not_semver_builds_but_does_not_install(tmp_path: Path) -> None:
    """ansible-galaxy builds `version: one` without a word; the install step is what catches it."""
    copy = broken_copy(tmp_path, f"version: {META.version}", "version: one")
    archive = build(tmp_path / "dist", tmp_path / "build", root=copy)
    with pytest.raises(ReleaseError, match="SemVer"):
        install(archive, tmp_path / "fresh", tmp_path / "install")
