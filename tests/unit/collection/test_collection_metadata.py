"""galaxy.yml and meta/runtime.yml say what the content needs, and the tested stack meets it.

Every collection the roles call a module, filter or lookup of is a declared dependency; the
versions the `ansible` package of requirements.txt ships satisfy the declared ranges; the
running ansible-core satisfies requires_ansible; the changelog has an entry for the version.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import ansible_collections
import yaml
from ansible.release import __version__ as ansible_core_version
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from collection_release.metadata import COLLECTION_ROOT, load

META = load()
# ns.collection.plugin as the roles spell modules (`ansible.posix.sysctl:`) and Jinja plugins.
FQCN = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")
# Dotted names in role files that are not collections (sysctl keys, file names, ...).
NOT_COLLECTIONS = {"ansible.builtin", META.fqcn}


def used_collections() -> set[str]:
    found: set[str] = set()
    for path in [*COLLECTION_ROOT.glob("roles/*/**/*.yml"), *COLLECTION_ROOT.glob("roles/*/**/*.j2")]:
        for match in FQCN.finditer(path.read_text(encoding="utf-8")):
            found.add(f"{match.group(1)}.{match.group(2)}")
    shipped = {f"{p.parent.name}.{p.name}" for p in Path(ansible_collections.__path__[0]).glob("*/*") if p.is_dir()}
    return (found & shipped) - NOT_COLLECTIONS


def shipped_version(collection: str) -> str:
    namespace, name = collection.split(".")
    manifest = Path(ansible_collections.__path__[0]) / namespace / name / "MANIFEST.json"
    return str(json.loads(manifest.read_text())["collection_info"]["version"])


def test_every_collection_the_roles_call_is_a_dependency() -> None:
    used = used_collections()
    assert {"community.crypto", "ansible.posix"} <= used  # the scan finds what is there
    assert sorted(used - set(META.dependencies)) == []


def test_no_dependency_is_left_that_the_roles_do_not_call() -> None:
    assert sorted(set(META.dependencies) - used_collections()) == []


def test_the_tested_collections_satisfy_the_declared_ranges() -> None:
    for collection, spec in META.dependencies.items():
        assert Version(shipped_version(collection)) in SpecifierSet(spec), (collection, spec)


def test_the_running_ansible_core_satisfies_requires_ansible() -> None:
    runtime = yaml.safe_load((COLLECTION_ROOT / "meta" / "runtime.yml").read_text())
    assert Version(ansible_core_version) in SpecifierSet(runtime["requires_ansible"])


def test_the_changelog_has_an_entry_for_the_version() -> None:
    assert f"\n## {META.version}\n" in (COLLECTION_ROOT / "CHANGELOG.md").read_text()
