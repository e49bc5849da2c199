"""The log server's tools (roles/log_server/files), imported as the host runs them: from one directory."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FILES = Path(__file__).resolve().parents[3] / "ansible" / "roles" / "log_server" / "files"


def tool(name: str) -> ModuleType:
    """Import FILES/<name>.py; FILES goes first on sys.path, where the host's Python puts the tools' directory."""
    if str(FILES) not in sys.path:
        sys.path.insert(0, str(FILES))
    spec = importlib.util.spec_from_file_location(name, FILES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
