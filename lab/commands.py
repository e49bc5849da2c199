"""Running the machine's tools (ip, nft, mount, debootstrap, ...) with errors that say what failed."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from lab.errors import LabError


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input_text: str | None = None,
    timeout: float | None = 300,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output, raise LabError naming the command when it fails."""
    try:
        proc = subprocess.run(
            list(argv),
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
        )
    except FileNotFoundError as exc:
        raise LabError(
            f"command not found: {argv[0]}",
            "run `make setup` (or install the Debian package that provides it)",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout} s: {' '.join(argv)}") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise LabError(f"`{' '.join(argv)}` failed with exit code {proc.returncode}: " + " | ".join(detail))
    return proc


def ok(argv: Sequence[str]) -> bool:
    """True when the command exits 0 (output discarded)."""
    return run(argv, check=False).returncode == 0
