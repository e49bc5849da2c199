"""The one settings reader of the log tools: /etc/default/log-server as the role writes it."""

from __future__ import annotations

import ast
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.log_server.tool_files import FILES, tool

log_config = tool("log_config")
TOOLS = ("log_manifest", "log_retention", "log_disk_guard")


def test_key_value_lines_are_read_with_shell_quoting(tmp_path: Path) -> None:
    alert = "mail -s 'log disk' ops@example.org"
    path = tmp_path / "log-server"
    path.write_text(
        "# Ansible managed\n"
        "\n"
        "LOG_SERVER_ROOT=/var/log/remote\n"
        f"LOG_SERVER_DISK_ALERT_COMMAND={shlex.quote(alert)}\n"  # as the template's `| quote` writes it
        "  LOG_SERVER_RETENTION_DAYS = 400\n"
        "LOG_SERVER_EMPTY=''\n"
        "LOG_SERVER_BARE=\n"
        "not a setting\n"
    )
    assert log_config.read_config(path) == {
        "LOG_SERVER_ROOT": "/var/log/remote",
        "LOG_SERVER_DISK_ALERT_COMMAND": alert,
        "LOG_SERVER_RETENTION_DAYS": "400",
        "LOG_SERVER_EMPTY": "",
        "LOG_SERVER_BARE": "",
    }


def test_the_reader_reads_the_file_the_role_writes_and_a_missing_one_means_defaults(tmp_path: Path) -> None:
    role_vars = yaml.safe_load((FILES.parent / "vars" / "main.yml").read_text())
    assert str(log_config.CONFIG) == role_vars["__log_server_config"]
    assert log_config.read_config(tmp_path / "absent") == {}


@pytest.mark.parametrize("name", TOOLS)
def test_every_tool_uses_the_shared_reader_and_keeps_no_copy(name: str) -> None:
    assert tool(name).read_config is log_config.read_config
    tree = ast.parse((FILES / f"{name}.py").read_text())
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert "read_config" not in defined


@pytest.mark.parametrize(("name", "command"), [(t, t.replace("_", "-")) for t in TOOLS])
def test_a_symlinked_command_finds_the_reader_beside_its_target(name: str, command: str, tmp_path: Path) -> None:
    """The layout the role installs: tools and reader in one lib directory, symlinks in sbin."""
    lib, sbin = tmp_path / "lib" / "log-server", tmp_path / "sbin"
    lib.mkdir(parents=True)
    sbin.mkdir()
    for f in ("log_config.py", f"{name}.py"):
        shutil.copy(FILES / f, lib / f)
    (lib / f"{name}.py").chmod(0o755)
    (sbin / command).symlink_to(lib / f"{name}.py")
    env = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([str(sbin / command), "--help"], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: {command}")
    (lib / "log_config.py").unlink()  # the same command without the reader beside it fails
    proc = subprocess.run([str(sbin / command), "--help"], capture_output=True, text=True, env=env, check=False)
    assert "No module named 'log_config'" in proc.stderr
