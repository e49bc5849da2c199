#!/usr/bin/python3
"""The desktop's own way to the file server: a user's shares open with their login, no second password.

One program, two halves:

``stash`` (root, from xrdp-sesman's PAM stack through ``pam_exec expose_authtok``)
    After pam_unix has accepted the password, keep it for this login only: the file
    /run/telework-shares/<uid>/password (tmpfs; the folder 0700 and the file 0600, both owned by
    the user, in a 0711 root folder). The
    session's ``mount`` reads and deletes it seconds later; ``close_session`` deletes it; ``expire``
    (a timer, every minute) deletes any older than STASH_MAX_AGE (a reconnect authenticates without
    starting a session, so nothing takes its password).
``mount`` (the user, from the Xfce session's autostart)
    Read and delete the stash, ask the file server which shares this user may open (the server's
    access-based share enumeration lists only those), mount each through GVfs with the login's
    name and password (GVfs keeps them in memory for the session; nothing is saved), and write one
    GTK bookmark per share: Thunar's side pane and LibreOffice's open and save dialogs show them.
    Every share mounted or refused is one line in the journal (ident ``tw-file-shares``), which
    log forwarding sends to the log server. The password is never logged or passed in argv.

Settings: /etc/telework-desktop/file-shares.json ({"server", "workgroup", "labels", "timeout"}),
written by the remote_desktop role (remote_desktop_file_server).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import stat
import sys
import syslog
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

CONFIG = Path("/etc/telework-desktop/file-shares.json")
STASH_DIR = Path("/run/telework-shares")
STASH_MAX_AGE = 120  # seconds between the PAM login and the session's autostart, at most
MAX_PASSWORD = 512  # PAM_MAX_RESP_SIZE
IDENT = "tw-file-shares"


def log(priority: int, message: str) -> None:
    syslog.openlog(IDENT, syslog.LOG_PID, syslog.LOG_AUTH)
    syslog.syslog(priority, message)


# --- stash (root, PAM) ------------------------------------------------------------------------


def stash_path(uid: int, directory: Path = STASH_DIR) -> Path:
    return directory / str(uid) / "password"


def _safe_directory(directory: Path, owner: int, group: int, mode: int) -> None:
    """A real folder (not a link) owned by owner with mode; made if missing, refused if it is something else."""
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=mode)
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != owner:
        if info.st_uid == os.geteuid() and stat.S_ISDIR(info.st_mode):
            os.chown(directory, owner, group, follow_symlinks=False)
        else:
            raise PermissionError(f"{directory} is not a folder owned by uid {owner}")
    if stat.S_IMODE(info.st_mode) != mode:
        directory.chmod(mode, follow_symlinks=False)


def read_authtok(data: bytes) -> bytes:
    """pam_exec writes the password and its terminating NUL on stdin."""
    return data[:MAX_PASSWORD].split(b"\0", 1)[0]


def stash(user: str, password: bytes, directory: Path = STASH_DIR) -> Path | None:
    """Keep password for user's coming session (0600, owned by the user); None when there is nothing to keep."""
    if not password:
        return None
    entry = pwd.getpwnam(user)
    _safe_directory(directory, os.geteuid(), os.getegid(), 0o711)
    target = stash_path(entry.pw_uid, directory)
    _safe_directory(target.parent, entry.pw_uid, entry.pw_gid, 0o700)
    temporary = target.with_name(f".password.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        if os.geteuid() == 0:
            os.fchown(fd, entry.pw_uid, entry.pw_gid)
        os.write(fd, password)
    finally:
        os.close(fd)
    temporary.replace(target)
    return target


def forget(user: str, directory: Path = STASH_DIR) -> bool:
    try:
        stash_path(pwd.getpwnam(user).pw_uid, directory).unlink()
    except (KeyError, FileNotFoundError):
        return False
    return True


def expire(directory: Path = STASH_DIR, now: float | None = None, max_age: float = STASH_MAX_AGE) -> list[Path]:
    """Delete kept passwords older than max_age (by their mtime); the ones deleted."""
    now = time.time() if now is None else now
    gone = []
    for path in sorted(directory.glob("*/*password*")):
        try:
            if now - path.lstat().st_mtime > max_age:
                path.unlink()
                gone.append(path)
        except FileNotFoundError:
            continue
    return gone


def pam_main(environ: dict[str, str], stdin: Any, directory: Path = STASH_DIR) -> int:
    """pam_exec's call: auth keeps the password, close_session drops it. Never fails the login."""
    kind, user = environ.get("PAM_TYPE", ""), environ.get("PAM_USER", "")
    try:
        if not user:
            return 0
        if kind == "auth":
            if stash(user, read_authtok(stdin.read(MAX_PASSWORD + 1)), directory) is not None:
                log(syslog.LOG_INFO, f"login password kept for the session user={user}")
        elif kind == "close_session" and forget(user, directory):
            log(syslog.LOG_INFO, f"unused login password dropped user={user}")
    except (OSError, KeyError) as error:
        log(syslog.LOG_WARNING, f"could not keep the login password user={user} error={error}")
    return 0


# --- mount (the user, session autostart) -------------------------------------------------------


def take_stash(uid: int, directory: Path = STASH_DIR, now: float | None = None) -> bytes | None:
    """The stashed password of uid (deleted as it is read); None if absent, stale or not safely kept."""
    path = stash_path(uid, directory)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
        data = os.read(fd, MAX_PASSWORD + 1)
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    age = (time.time() if now is None else now) - info.st_mtime
    if not stat.S_ISREG(info.st_mode) or info.st_uid != uid or stat.S_IMODE(info.st_mode) & 0o077:
        raise PermissionError(f"{path} is not a private file of uid {uid}")
    if age > STASH_MAX_AGE:
        return None
    return data[:MAX_PASSWORD] or None


def share_uri(server: str, share: str = "") -> str:
    host = f"[{server}]" if ":" in server else server
    return f"smb://{host}/{share}/" if share else f"smb://{host}/"


def merge_bookmarks(existing: str, server: str, shares: Iterable[tuple[str, str]]) -> str:
    """GTK bookmarks: the user's own lines kept, this server's lines replaced by the shares given."""
    prefix = share_uri(server)
    kept = [line for line in existing.splitlines() if line.strip() and not line.startswith(prefix)]
    ours = [f"{share_uri(server, name)} {label}".rstrip() for name, label in shares]
    return "\n".join(kept + ours) + "\n"


def write_bookmarks(home: Path, server: str, shares: Iterable[tuple[str, str]]) -> Path:
    path = home / ".config" / "gtk-3.0" / "bookmarks"
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    temporary = path.with_name(f".bookmarks.{os.getpid()}")
    temporary.write_text(merge_bookmarks(existing, server, shares), encoding="utf-8")
    temporary.replace(path)
    return path


def visible_share(name: str) -> bool:
    """Shares a user works in: not the hidden administrative ones (IPC$, ADMIN$, x$)."""
    return bool(name) and not name.endswith("$")


class Gvfs:
    """Mounts and listings through GIO (the same GVfs mounts Thunar and LibreOffice use)."""

    def __init__(self, user: str, workgroup: str, password: bytes, timeout: float) -> None:
        import gi

        gi.require_version("Gio", "2.0")
        from gi.repository import Gio, GLib

        self.gio, self.glib = Gio, GLib
        self.user, self.workgroup, self.timeout = user, workgroup, timeout
        self._password = password.decode("utf-8", "surrogateescape")

    def _operation(self) -> Any:
        operation = self.gio.MountOperation()
        asked = {"n": 0}

        def ask_password(op: Any, _message: str, _user: str, _domain: str, _flags: Any) -> None:
            asked["n"] += 1
            if asked["n"] > 1:  # the server refused these credentials: never loop, never prompt
                op.reply(self.gio.MountOperationResult.ABORTED)
                return
            op.set_anonymous(False)
            op.set_username(self.user)
            op.set_domain(self.workgroup)
            op.set_password(self._password)
            op.set_password_save(self.gio.PasswordSave.NEVER)
            op.reply(self.gio.MountOperationResult.HANDLED)

        operation.connect("ask-password", ask_password)
        operation.connect("ask-question", lambda op, _m, _c: op.reply(self.gio.MountOperationResult.ABORTED))
        return operation

    def _wait(self, start: Callable[[Callable[..., None]], None]) -> Any:
        loop = self.glib.MainLoop()
        outcome: dict[str, Any] = {}

        def done(source: Any, result: Any) -> None:
            outcome["source"], outcome["result"] = source, result
            loop.quit()

        timer = self.glib.timeout_add_seconds(int(self.timeout), loop.quit)
        start(done)
        loop.run()
        if "result" not in outcome:
            raise TimeoutError(f"no answer within {self.timeout:.0f} s")
        self.glib.source_remove(timer)
        return outcome

    def mount(self, uri: str) -> None:
        location = self.gio.File.new_for_uri(uri)
        outcome = self._wait(
            lambda done: location.mount_enclosing_volume(self.gio.MountMountFlags.NONE, self._operation(), None, done)
        )
        try:
            location.mount_enclosing_volume_finish(outcome["result"])
        except self.glib.Error as error:
            if not error.matches(self.gio.io_error_quark(), self.gio.IOErrorEnum.ALREADY_MOUNTED):
                raise

    def children(self, uri: str) -> list[str]:
        location = self.gio.File.new_for_uri(uri)
        names = []
        for info in location.enumerate_children("standard::name", self.gio.FileQueryInfoFlags.NONE, None):
            names.append(info.get_name())
        return sorted(names)


def load_config(path: Path = CONFIG) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(config.get("server"), str) or not config["server"]:
        raise ValueError(f"{path}: no file server named")
    return config


def mount_main(
    config: dict[str, Any],
    user: str,
    uid: int,
    home: Path,
    gvfs_factory: Callable[..., Any] = Gvfs,
    directory: Path = STASH_DIR,
) -> int:
    server, workgroup = config["server"], config.get("workgroup", "")
    labels: dict[str, str] = config.get("labels", {})
    password = take_stash(uid, directory)
    if password is None:
        # A reconnect to a running session, or a login that did not pass the PAM helper: the
        # session's mounts (if any) are still there, and a share asks for the password if clicked.
        log(syslog.LOG_INFO, f"no login password for this session user={user} server={server}: shares not mounted")
        return 0
    gvfs = gvfs_factory(user, workgroup, password, float(config.get("timeout", 20)))
    try:
        gvfs.mount(share_uri(server))
        shares = [name for name in gvfs.children(share_uri(server)) if visible_share(name)]
    except Exception as error:  # GLib.Error, TimeoutError: the server or the login refused
        log(syslog.LOG_WARNING, f"share list refused user={user} server={server} error={error}")
        return 1
    mounted = []
    for name in shares:
        try:
            gvfs.mount(share_uri(server, name))
        except Exception as error:
            log(syslog.LOG_WARNING, f"share refused user={user} server={server} share={name} error={error}")
            continue
        mounted.append((name, labels.get(name, name)))
        log(syslog.LOG_INFO, f"share mounted user={user} server={server} share={name}")
    write_bookmarks(home, server, mounted)
    return 0 if len(mounted) == len(shares) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tw-file-shares", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("stash", help="pam_exec (expose_authtok): keep or drop the login password of PAM_USER")
    sub.add_parser("mount", help="session autostart: mount the user's shares and bookmark them")
    sub.add_parser("expire", help="timer: delete kept passwords no session took within STASH_MAX_AGE")
    args = parser.parse_args(argv)
    if args.command == "stash":
        return pam_main(dict(os.environ), sys.stdin.buffer)
    if args.command == "expire":
        for path in expire():
            log(syslog.LOG_INFO, f"unused login password expired uid={path.parent.name}")
        return 0
    entry = pwd.getpwuid(os.getuid())
    try:
        config = load_config()
    except (OSError, ValueError) as error:
        log(syslog.LOG_ERR, f"no settings: {error}")
        return 2
    return mount_main(config, entry.pw_name, entry.pw_uid, Path(entry.pw_dir))


if __name__ == "__main__":
    sys.exit(main())
