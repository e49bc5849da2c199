"""The collection built from this checkout and installed into a fresh directory, once per test run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from collection_release.build import build, install


@dataclass(frozen=True)
class Installed:
    archive: Path
    collections_dir: Path  # holds ansible_collections/telework/platform
    path: Path  # the installed collection itself


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("collection")
    archive = build(tmp / "dist", tmp / "build")
    path = install(archive, tmp / "fresh", tmp / "install")
    return Installed(archive=archive, collections_dir=tmp / "fresh", path=path)
