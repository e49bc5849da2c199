"""Reading YAML files, and comparing the values in them strictly (true is not 1, 1 is not 1.0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]


def load(path: Path) -> Any:
    """The content of a YAML file, as PyYAML's safe loader reads it (merge keys resolved)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def loads(text: str) -> Any:
    return yaml.safe_load(text)


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
