"""Fixtures for the infra unit tests: the Pulumi mock runtime, set before the program runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pulumi

from tests.unit.infra.pulumi_mocks import TeleworkMocks


@pytest.fixture
def mocks() -> TeleworkMocks:
    """Fresh mocks, installed before the test declares any resource."""
    recorder = TeleworkMocks()
    pulumi.runtime.set_mocks(recorder, project="telework", stack="test", preview=False)
    return recorder
