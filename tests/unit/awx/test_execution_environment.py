"""execution-environment.yml renders a build context with `ansible-builder create`, holding the
collection at its version and the same Python stack the suite runs (no container engine here).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from collection_release.metadata import COLLECTION_ROOT, REPOSITORY, load
from collection_release.tools import tool
from tests.unit.installed_collection import Installed

EE_FILE = REPOSITORY / "execution-environment.yml"
EE: dict[str, Any] = yaml.safe_load(EE_FILE.read_text())
META = load()


def pins(path: Path) -> dict[str, str]:
    """name -> exact version of every `name==version` line of a requirements file."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            exact = [s.version for s in req.specifier if s.operator == "=="]
            if exact:
                found[req.name.lower()] = exact[0]
    return found


def ee_copy(tmp_path: Path, archive: Path | None) -> Path:
    """The EE definition and its files in tmp_path, with the built archive where the EE expects it."""
    shutil.copy(EE_FILE, tmp_path / EE_FILE.name)
    shutil.copytree(REPOSITORY / "ee", tmp_path / "ee")
    if archive is not None:
        dist = tmp_path / "artifacts" / "collection"
        dist.mkdir(parents=True)
        shutil.copy(archive, dist / archive.name)
    return tmp_path / EE_FILE.name


def create(ee_file: Path, context: Path) -> subprocess.CompletedProcess[str]:
    argv = [
        tool("ansible-builder"),
        "create",
        "-f",
        str(ee_file),
        "-c",
        str(context),
        "--output-filename",
        "Containerfile",
    ]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)


def test_ansible_builder_renders_the_build_context(installed: Installed, tmp_path: Path) -> None:
    proc = create(ee_copy(tmp_path, installed.archive), tmp_path / "context")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    assert f'ARG EE_BASE_IMAGE="{EE["images"]["base_image"]["name"]}"' in containerfile
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    packed = context / "_build" / "collections" / META.tarball
    assert packed.read_bytes() == installed.archive.read_bytes()
    assert pins(context / "_build" / "requirements.txt")["mitogen"] == pins(REPOSITORY / "requirements.txt")["mitogen"]


def test_without_the_archive_the_context_lacks_the_collection(tmp_path: Path) -> None:
    """ansible-builder only warns about a missing file: `make ee-context` builds the archive first."""
    proc = create(ee_copy(tmp_path, None), tmp_path / "context")
    assert "No matches" in proc.stdout + proc.stderr
    assert not (tmp_path / "context" / "_build" / "collections" / META.tarball).exists()


def test_a_broken_definition_is_refused(tmp_path: Path) -> None:
    ee_file = ee_copy(tmp_path, None)
    ee_file.write_text(ee_file.read_text().replace("version: 3", "version: 3\nimagez: {}", 1))
    proc = create(ee_file, tmp_path / "context")
    assert proc.returncode != 0
    assert "imagez" in proc.stdout + proc.stderr


def test_the_ee_names_the_collection_version_it_carries() -> None:
    assert [f["src"] for f in EE["additional_build_files"]] == [f"artifacts/collection/{META.tarball}"]
    galaxy = yaml.safe_load((REPOSITORY / "ee" / "requirements.yml").read_text())
    assert galaxy["collections"] == [{"name": f"collections/{META.tarball}", "type": "file"}]


@pytest.mark.parametrize("package", ["ansible-core", "ansible-runner"])
def test_the_ee_core_and_runner_are_the_tested_pins(package: str) -> None:
    key = package.replace("-", "_")
    assert EE["dependencies"][key]["package_pip"] == f"{package}=={pins(REPOSITORY / 'requirements.txt')[package]}"


def test_the_ee_python_packages_are_the_tested_pins() -> None:
    ee, tested = pins(REPOSITORY / "ee" / "requirements.txt"), pins(REPOSITORY / "requirements.txt")
    assert {"ansible", "mitogen"} <= set(ee)
    assert {name: tested.get(name) for name in ee} == ee


def test_the_pins_meet_what_the_collection_declares(installed: Installed, tmp_path: Path) -> None:
    """ansible-builder finds the collection's own needs (meta/execution-environment.yml)."""
    argv = [tool("ansible-builder"), "introspect", "--sanitize", str(installed.collections_dir)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    declared = yaml.safe_load(out.split("---", 1)[1])
    wanted = [Requirement(line.split("#")[0]) for line in declared["python"]]
    assert {r.name for r in wanted} == {"cryptography", "mitogen"}
    ee = pins(REPOSITORY / "ee" / "requirements.txt")
    for req in wanted:
        assert req.specifier.contains(ee[req.name]), (req, ee[req.name])
    assert any(line.startswith("qrencode") for line in declared["system"])
    assert (COLLECTION_ROOT / "meta" / "execution-environment.yml").is_file()
