#!/usr/bin/python3
"""Delete stored logs older than the retention period (TW-09).

    log-retention [--days N] [--dry-run]

Removes ROOT/<host>/YYYY-MM-DD.log whose day (from the file name: the day the server received
the messages) is more than N days before today, then host directories left empty. Manifests
(log-manifest) are kept: `log-manifest verify` accepts a file missing once its retention ran out.
Settings come from /etc/default/log-server; every deletion is logged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import syslog
from pathlib import Path

from log_config import read_config

DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.log$")


def expired(root: Path, cutoff: dt.date) -> list[Path]:
    """Stored files of days before cutoff."""
    found = []
    if root.is_dir():
        for host_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
            for f in sorted(host_dir.iterdir()):
                m = DAY_FILE.match(f.name)
                if m and f.is_file() and dt.date.fromisoformat(m[1]) < cutoff:
                    found.append(f)
    return found


def main(argv: list[str] | None = None) -> int:
    cfg = read_config()
    p = argparse.ArgumentParser(
        prog="log-retention", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--root", default=cfg.get("LOG_SERVER_ROOT", "/var/log/remote"))
    p.add_argument("--days", type=int, default=int(cfg.get("LOG_SERVER_RETENTION_DAYS", "365")))
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    args = p.parse_args(argv)
    if args.days < 1:
        p.error("--days must be at least 1")
    root = Path(args.root)
    cutoff = dt.date.today() - dt.timedelta(days=args.days)
    files = expired(root, cutoff)
    syslog.openlog("log-retention", syslog.LOG_PID, syslog.LOG_AUTHPRIV)
    for f in files:
        if args.dry_run:
            print(f"would delete {f}")
            continue
        f.unlink()
        print(f"deleted {f}")
    if not args.dry_run:
        for host_dir in {f.parent for f in files}:
            if host_dir.is_dir() and not any(host_dir.iterdir()):
                host_dir.rmdir()
        message = f"deleted {len(files)} file(s) received before {cutoff} (retention {args.days} days) under {root}"
        syslog.syslog(syslog.LOG_NOTICE, message)
        print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
