#!/usr/bin/python3
"""Alert before the log store's disk fills (TW-09).

    log-disk-guard [--threshold PERCENT] [--alert-command CMD]

When the file system holding ROOT is at least PERCENT full, logs a critical message (syslog,
so it reaches the log store and the off-host archive) and runs CMD, if one is set, through
/bin/sh with the message on its standard input (e.g. a mail command). Exits 1 when it alerted,
so the systemd unit shows as failed too. Settings come from /etc/default/log-server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import syslog
from pathlib import Path

from log_config import read_config


def used_percent(path: Path) -> float:
    """Like df: used / (used + available to unprivileged users)."""
    st = os.statvfs(path)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    return 100.0 * used / (used + avail) if used + avail else 100.0


def main(argv: list[str] | None = None) -> int:
    cfg = read_config()
    p = argparse.ArgumentParser(
        prog="log-disk-guard", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--root", default=cfg.get("LOG_SERVER_ROOT", "/var/log/remote"))
    p.add_argument("--threshold", type=float, default=float(cfg.get("LOG_SERVER_DISK_THRESHOLD", "85")))
    p.add_argument("--alert-command", default=cfg.get("LOG_SERVER_DISK_ALERT_COMMAND", ""))
    args = p.parse_args(argv)
    root = Path(args.root)
    percent = used_percent(root)
    if percent < args.threshold:
        print(f"ok: {root} is {percent:.1f}% full (threshold {args.threshold:g}%)")
        return 0
    message = (
        f"CRITICAL: log store {root} is {percent:.1f}% full (threshold {args.threshold:g}%); "
        "free space or extend the disk before rsyslog stops writing and clients queue on their disks"
    )
    syslog.openlog("log-disk-guard", syslog.LOG_PID, syslog.LOG_DAEMON)
    syslog.syslog(syslog.LOG_CRIT, message)
    print(message, file=sys.stderr)
    if args.alert_command:
        env = dict(os.environ, LOG_DISK_GUARD_MESSAGE=message)
        result = subprocess.run(["/bin/sh", "-c", args.alert_command], input=message, text=True, env=env, check=False)
        if result.returncode != 0:
            syslog.syslog(syslog.LOG_ERR, f"alert command failed with exit code {result.returncode}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
