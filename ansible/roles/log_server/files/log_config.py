"""The log server's settings, /etc/default/log-server, as log-manifest, log-retention and log-disk-guard read them.

The role writes the file (templates/log-server.default.j2) and installs this module beside the
three tools in /usr/local/lib/log-server/; /usr/local/sbin/log-* are symlinks to the tools
there, and Python puts the directory of a script's resolved path first on sys.path, so
`from log_config import read_config` finds this file.
"""

from __future__ import annotations

import shlex
from pathlib import Path

CONFIG = Path("/etc/default/log-server")


def read_config(path: Path = CONFIG) -> dict[str, str]:
    """KEY=VALUE lines (shell quoting) of the log server's settings; missing file = defaults."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, raw = line.partition("=")
                parts = shlex.split(raw)
                values[key.strip()] = parts[0] if parts else ""
    return values
