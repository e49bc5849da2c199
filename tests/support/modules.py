"""Load a Python file of the repository as a module, for unit tests of filter plugins and role files.

Filter plugins (ansible/plugins/filter/*.py) and the scripts roles install (files/*.py) are not
packages: tests load them by path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
FILTERS = ROOT / "ansible" / "plugins" / "filter"


def load_file(path: Path, name: str) -> ModuleType:
    """The module in `path`, under the module name `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_filter(name: str) -> ModuleType:
    """The filter plugin ansible/plugins/filter/<name>.py."""
    return load_file(FILTERS / f"{name}.py", f"filter_{name}")
