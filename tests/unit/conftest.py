"""Fixtures shared by the unit tests of several areas."""

from __future__ import annotations

import pytest

from tests.unit.installed_collection import Installed, build_and_install


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The collection built from this checkout and installed into a fresh directory, once per run."""
    return build_and_install(tmp_path_factory.mktemp("collection"))
