#!/usr/bin/python3
"""Daily versioned snapshots of the file server's shares, and their restore.

Installed by the file_server role as /usr/local/sbin/file-server-snapshot; its configuration is
the JSON file the role writes (default /etc/telework-file-server/snapshots.json):

    {"root": "/srv/snapshots", "keep_days": 14, "exclude": [".recycle"],
     "shares": {"somu": "/srv/shares/somu", ...}}

    file-server-snapshot take                  # one snapshot of every share (the daily timer runs this)
    file-server-snapshot list [SHARE [PATH]]   # the snapshots; with PATH, the versions of that file or folder
    file-server-snapshot restore SHARE PATH [--snapshot NAME] [--replace]

A snapshot is a full copy of one share at one moment, <root>/<share>/@GMT-YYYY.MM.DD-HH.MM.SS (the
name Samba's shadow_copy2 reads), made with `rsync --link-dest` against the share's previous
snapshot: a file unchanged since then is a hard link to the same copy, so a day costs only what
changed. Copies are made from the share, never linked to it, so a change in the share never
reaches a snapshot. A snapshot is written under a temporary name and renamed when complete. The
root is readable by root only and no share reaches it: an account that can write to a share (or
ransomware running as it) cannot change a snapshot. Snapshots older than keep_days are removed
after each take, the newest always kept.

`restore` copies PATH (a file or a folder, relative to the share) back from the newest snapshot
that holds it, or from --snapshot. Where PATH exists in the share it is left alone and the copy is
written beside it as "<PATH>.restored-<snapshot>", unless --replace, which first renames the
current one to "<PATH>.before-restore-<now>" (nothing is ever overwritten). Every take, removal
and restore is a syslog line (identifier tw-file-snapshot), which rsyslog sends to the log server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import syslog
from pathlib import Path
from typing import Any, NoReturn

CONFIG = "/etc/telework-file-server/snapshots.json"
RSYNC = "/usr/bin/rsync"
NAME = re.compile(r"^@GMT-(\d{4})\.(\d{2})\.(\d{2})-(\d{2})\.(\d{2})\.(\d{2})$")
INCOMPLETE = ".incomplete-"


def log(message: str, priority: int = syslog.LOG_NOTICE) -> None:
    syslog.syslog(priority, message)
    if "INVOCATION_ID" not in os.environ:  # run by hand; under systemd the syslog line is the record
        print(message)


def fail(message: str) -> NoReturn:
    syslog.syslog(syslog.LOG_ERR, message)
    raise SystemExit(f"file-server-snapshot: {message}")


def load(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            config: dict[str, Any] = json.load(handle)
    except (OSError, ValueError) as error:
        fail(f"cannot read the configuration {path}: {error}")
    return config


def stamp_of(name: str) -> dt.datetime | None:
    match = NAME.match(name)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def snapshots(root: Path, share: str) -> list[str]:
    """Complete snapshots of a share, oldest first."""
    folder = root / share
    if not folder.is_dir():
        return []
    return sorted(entry.name for entry in folder.iterdir() if entry.is_dir() and stamp_of(entry.name))


def share_of(config: dict[str, Any], share: str) -> Path:
    if share not in config["shares"]:
        fail(f"no share named {share!r} (shares: {', '.join(sorted(config['shares']))})")
    return Path(config["shares"][share])


def inside(base: Path, relative: str) -> Path:
    """base/relative, refusing a path that leaves base (.., absolute, or through a symlink)."""
    target = (base / relative.strip("/")).resolve()
    if relative.strip("/") in ("", ".") or (target != base.resolve() and base.resolve() not in target.parents):
        fail(f"{relative!r} is not a path inside {base}")
    return target


def take(config: dict[str, Any], now: dt.datetime) -> None:
    root = Path(config["root"])
    root.mkdir(mode=0o700, exist_ok=True)
    root.chmod(0o700)
    name = now.strftime("@GMT-%Y.%m.%d-%H.%M.%S")
    failed = []
    for share, source in sorted(config["shares"].items()):
        if not Path(source).is_dir():
            log(f"snapshot share={share}: {source} is missing, skipped", syslog.LOG_WARNING)
            failed.append(share)
            continue
        folder = root / share
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
        if (folder / name).exists():
            fail(f"snapshot share={share} {name} exists already")
        for leftover in folder.glob(INCOMPLETE + "*"):
            shutil.rmtree(leftover)
        previous = snapshots(root, share)
        partial = folder / (INCOMPLETE + name)
        # --modify-window=-1: times compared to the nanosecond (the default, whole seconds, would take a
        # file changed within the second of the last snapshot, at the same size, for unchanged).
        argv = [RSYNC, "--archive", "--hard-links", "--acls", "--xattrs", "--numeric-ids", "--delete"]
        argv += ["--modify-window=-1"]
        argv += [f"--exclude=/{pattern}" for pattern in config.get("exclude", [])]
        if previous:
            argv.append(f"--link-dest={folder / previous[-1]}")
        argv += [f"{source}/", f"{partial}/"]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode not in (0, 24):  # 24: a file vanished while it was copied (someone deleted it)
            shutil.rmtree(partial, ignore_errors=True)
            log(
                f"snapshot share={share} failed: rsync exit {proc.returncode}: {proc.stderr.strip()[-300:]}",
                syslog.LOG_ERR,
            )
            failed.append(share)
            continue
        partial.rename(folder / name)
        log(f"snapshot share={share} taken {name}")
        prune(root, share, int(config["keep_days"]), now)
    if failed:
        raise SystemExit(f"file-server-snapshot: no snapshot of {', '.join(failed)}")


def prune(root: Path, share: str, keep_days: int, now: dt.datetime) -> None:
    """Remove the share's snapshots older than keep_days, always keeping the newest."""
    names = snapshots(root, share)
    for name in names[:-1]:
        taken = stamp_of(name)
        if taken is not None and now - taken > dt.timedelta(days=keep_days):
            shutil.rmtree(root / share / name)
            log(f"snapshot share={share} removed {name} (older than {keep_days} days)")


def listing(config: dict[str, Any], share: str | None, path: str | None) -> None:
    root = Path(config["root"])
    for name in sorted(config["shares"]) if share is None else [share]:
        share_of(config, name)
        for snap in snapshots(root, name):
            if path is None:
                print(f"{name}\t{snap}")
                continue
            held = root / name / snap / path.strip("/")
            if held.exists() or held.is_symlink():
                info = held.lstat()
                kind = "folder" if held.is_dir() else f"{info.st_size} bytes"
                modified = dt.datetime.fromtimestamp(info.st_mtime, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
                print(f"{name}\t{snap}\t{path}\t{kind}\tmodified {modified}")


def restore(
    config: dict[str, Any], share: str, path: str, snapshot: str | None, replace: bool, now: dt.datetime
) -> None:
    root = Path(config["root"])
    live = share_of(config, share)
    names = snapshots(root, share)
    if snapshot is not None and snapshot not in names:
        fail(f"share {share} has no snapshot {snapshot!r} (see `file-server-snapshot list {share}`)")
    candidates = [snapshot] if snapshot is not None else list(reversed(names))
    source = None
    for name in candidates:
        held = inside(root / share / name, path)
        if held.exists():
            snapshot, source = name, held
            break
    if source is None or snapshot is None:
        fail(f"no snapshot of share {share} holds {path!r} (see `file-server-snapshot list {share} {path}`)")
    target = inside(live, path)
    if not target.parent.is_dir():
        fail(f"the folder {target.parent} is gone too: restore it first ({target.parent.relative_to(live)})")
    if target.exists() or target.is_symlink():
        if replace:
            aside = target.with_name(f"{target.name}.before-restore-{now.strftime('%Y%m%dT%H%M%SZ')}")
            target.rename(aside)
            log(f"restore share={share} path={path}: the current one renamed to {aside.relative_to(live)}")
        else:
            target = target.with_name(f"{target.name}.restored-{snapshot}")
            if target.exists():
                fail(f"{target} exists already: remove it or restore with --replace")
    argv = [RSYNC, "--archive", "--hard-links", "--acls", "--xattrs", "--numeric-ids"]
    if source.is_dir():
        argv += [f"{source}/", f"{target}/"]
    else:
        argv += [str(source), str(target)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        fail(f"restore share={share} path={path} failed: rsync exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
    who = os.environ.get("SUDO_USER") or os.environ.get("USER") or "root"
    log(f"restore share={share} path={path} from={snapshot} to={target.relative_to(live)} by={who}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="file-server-snapshot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=CONFIG)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("take", help="one snapshot of every share, then remove the expired ones")
    show = commands.add_parser("list", help="the snapshots, or the versions of one path")
    show.add_argument("share", nargs="?")
    show.add_argument("path", nargs="?")
    back = commands.add_parser("restore", help="copy a file or folder back into its share")
    back.add_argument("share")
    back.add_argument("path", help="relative to the share, e.g. 2026/budget.ods")
    back.add_argument("--snapshot", help="e.g. @GMT-2026.12.01-02.00.00 (default: the newest holding PATH)")
    back.add_argument(
        "--replace", action="store_true", help="rename the current one aside and restore under the original name"
    )
    args = parser.parse_args(argv)
    syslog.openlog("tw-file-snapshot", 0, syslog.LOG_DAEMON)
    config = load(args.config)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if os.geteuid() != 0:
        fail("run it as root (it reads and writes every share)")
    if args.command == "take":
        take(config, now)
    elif args.command == "list":
        listing(config, args.share, args.path)
    else:
        restore(config, args.share, args.path, args.snapshot, args.replace, now)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
