"""Waiting for a condition on a host, for the tests of every tier."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(check: Callable[[], Any], timeout: float, step: float = 0.5) -> Any:
    """Call check until it returns something true or timeout seconds pass; return its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(step)
