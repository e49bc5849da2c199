"""The collection built from this checkout and installed into a fresh directory (shared by tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from collection_release.build import build, install


@dataclass(frozen=True)
class Installed:
    archive: Path
    collections_dir: Path  # holds ansible_collections/telework/platform
    path: Path  # the installed collection itself


def build_and_install(tmp: Path) -> Installed:
    archive = build(tmp / "dist", tmp / "build")
    path = install(archive, tmp / "fresh", tmp / "install")
    return Installed(archive=archive, collections_dir=tmp / "fresh", path=path)
