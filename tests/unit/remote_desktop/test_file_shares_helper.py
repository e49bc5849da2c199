"""The desktops' file-shares helper (ansible/roles/remote_desktop/files/tw_file_shares.py), on this machine.

Its PAM half (keep the login's password for the coming session) and the parts of its session half
that do not need GVfs run here as the current user, on folders under pytest's tmp_path. GVfs and
Samba themselves are proved in the file_server Molecule scenario (client1 mounts real shares) and
the site tests (a real xrdp login on rdp1 mounts fs1's shares).
"""

from __future__ import annotations

import importlib.util
import io
import os
import pwd
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

FILE = Path(__file__).resolve().parents[3] / "ansible" / "roles" / "remote_desktop" / "files" / "tw_file_shares.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tw_file_shares", FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shares = load()
ME = pwd.getpwuid(os.getuid())


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The helper's journal lines, kept here instead of syslog."""
    lines: list[str] = []
    monkeypatch.setattr(shares, "log", lambda _priority, message: lines.append(message))
    return lines


def test_pam_exec_hands_over_the_password_and_its_nul() -> None:
    assert shares.read_authtok(b"Tw-Lab-Passw0rd!\0") == b"Tw-Lab-Passw0rd!"
    assert shares.read_authtok(b"no-nul") == b"no-nul"
    assert shares.read_authtok(b"x" * 2000) == b"x" * shares.MAX_PASSWORD


def test_the_kept_password_is_the_users_alone_and_taken_once(tmp_path: Path) -> None:
    stash_dir = tmp_path / "telework-shares"
    path = shares.stash(ME.pw_name, b"secret", stash_dir)
    assert path == stash_dir / str(ME.pw_uid) / "password"
    assert (path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777, stash_dir.stat().st_mode & 0o777) == (
        0o600,
        0o700,
        0o711,
    )
    assert shares.take_stash(ME.pw_uid, stash_dir) == b"secret"
    assert not path.exists()  # deleted as it is read
    assert shares.take_stash(ME.pw_uid, stash_dir) is None


def test_nothing_is_kept_for_an_empty_password(tmp_path: Path) -> None:
    assert shares.stash(ME.pw_name, b"", tmp_path / "s") is None
    assert not (tmp_path / "s").exists()


def test_a_stale_or_loosely_kept_password_is_not_used(tmp_path: Path) -> None:
    stash_dir = tmp_path / "telework-shares"
    path = shares.stash(ME.pw_name, b"secret", stash_dir)
    old = time.time() - shares.STASH_MAX_AGE - 5
    os.utime(path, (old, old))
    assert shares.take_stash(ME.pw_uid, stash_dir) is None and not path.exists()
    path = shares.stash(ME.pw_name, b"secret", stash_dir)
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="not a private file"):
        shares.take_stash(ME.pw_uid, stash_dir)
    assert not path.exists()  # deleted all the same
    # Positive control: a fresh, private one is used.
    shares.stash(ME.pw_name, b"secret", stash_dir)
    assert shares.take_stash(ME.pw_uid, stash_dir) == b"secret"


def test_a_link_in_place_of_the_users_folder_is_refused(tmp_path: Path) -> None:
    stash_dir = tmp_path / "telework-shares"
    stash_dir.mkdir(mode=0o711)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (stash_dir / str(ME.pw_uid)).symlink_to(elsewhere)
    with pytest.raises(PermissionError, match="is not a folder"):
        shares.stash(ME.pw_name, b"secret", stash_dir)
    assert list(elsewhere.iterdir()) == []


def test_expire_deletes_only_passwords_older_than_the_limit(tmp_path: Path) -> None:
    stash_dir = tmp_path / "telework-shares"
    path = shares.stash(ME.pw_name, b"secret", stash_dir)
    assert shares.expire(stash_dir) == [] and path.exists()  # positive control: a fresh one stays
    assert shares.expire(stash_dir, now=time.time() + shares.STASH_MAX_AGE + 1) == [path]
    assert not path.exists()


def test_pam_auth_keeps_and_close_session_drops(tmp_path: Path) -> None:
    stash_dir = tmp_path / "s"
    path = stash_dir / str(ME.pw_uid) / "password"
    env = {"PAM_TYPE": "auth", "PAM_USER": ME.pw_name}
    assert shares.pam_main(env, io.BytesIO(b"pw\0"), stash_dir) == 0 and path.read_bytes() == b"pw"
    assert shares.pam_main({**env, "PAM_TYPE": "open_session"}, io.BytesIO(b""), stash_dir) == 0 and path.exists()
    assert shares.pam_main({**env, "PAM_TYPE": "close_session"}, io.BytesIO(b""), stash_dir) == 0
    assert not path.exists()
    # an unknown user never fails the login
    assert shares.pam_main({"PAM_TYPE": "auth", "PAM_USER": "no-such-user-x"}, io.BytesIO(b"pw\0"), stash_dir) == 0


def test_bookmarks_keep_the_users_own_and_replace_the_servers() -> None:
    existing = "file:///home/a/Documents Documents\nsmb://fs1/zaimu/ 財政課\nsmb://other/x/ x\n"
    merged = shares.merge_bookmarks(existing, "fs1", [("somu", "総務課"), ("kyotsu", "kyotsu")])
    assert merged.splitlines() == [
        "file:///home/a/Documents Documents",
        "smb://other/x/ x",
        "smb://fs1/somu/ 総務課",
        "smb://fs1/kyotsu/ kyotsu",
    ]
    assert shares.share_uri("fd00::10", "somu") == "smb://[fd00::10]/somu/"


class FakeGvfs:
    """Stands for GIO where GVfs cannot run (this machine): a server listing two shares, one of them refused."""

    def __init__(self, user: str, workgroup: str, password: bytes, timeout: float) -> None:
        self.mounted: list[str] = []

    def mount(self, uri: str) -> None:
        if uri.endswith("/zaimu/"):
            raise OSError("permission denied")
        self.mounted.append(uri)

    def children(self, uri: str) -> list[str]:
        return ["IPC$", "somu", "zaimu"]


def test_mount_bookmarks_what_mounted_and_reports_the_rest(tmp_path: Path, _quiet: list[str]) -> None:
    stash_dir = tmp_path / "s"
    config: dict[str, Any] = {"server": "fs1", "workgroup": "TELEWORK", "labels": {"somu": "総務課"}}
    shares.stash(ME.pw_name, b"pw", stash_dir)
    rc = shares.mount_main(config, ME.pw_name, ME.pw_uid, tmp_path, FakeGvfs, stash_dir)
    assert rc == 1  # one share refused
    bookmarks = tmp_path / ".config/gtk-3.0/bookmarks"
    assert bookmarks.read_text(encoding="utf-8") == "smb://fs1/somu/ 総務課\n"
    assert any("share refused" in line and "share=zaimu" in line for line in _quiet)
    # Without a kept password nothing is mounted and the bookmarks stay as they are.
    assert shares.mount_main(config, ME.pw_name, ME.pw_uid, tmp_path, FakeGvfs, stash_dir) == 0
    assert any("no login password" in line for line in _quiet)
    assert bookmarks.read_text(encoding="utf-8") == "smb://fs1/somu/ 総務課\n"
