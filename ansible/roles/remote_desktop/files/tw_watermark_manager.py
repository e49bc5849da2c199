#!/usr/bin/python3
"""TW-10: keep a watermark on every xrdp session of this host (root service tw-watermark).

Every few seconds it lists the X servers that xrdp started (Xorg with xrdp's xorg.conf), and
for each one without a live watermark it copies that display's X cookie into a file only the
watermark account can read and starts tw_watermark.py as that account. A watermark that dies
(killed, xkill) while its session lives is started again and the restart is logged, so a user
can neither close nor outlast it: the session's user does not own the process and cannot
signal it. When a session ends, its X server goes and the watermark exits with it.

    tw_watermark_manager.py [--interval 2] [--account _twwatermark]

State for monitoring and tests: /run/tw-watermark/status (one line per session:
display, user, watermark pid, restarts).
"""

from __future__ import annotations

import argparse
import os
import pwd
import signal
import struct
import subprocess
import sys
import syslog
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

WATERMARK = "/usr/local/lib/telework-desktop/tw_watermark.py"
RUNTIME = Path("/run/tw-watermark")


@dataclass(frozen=True)
class Session:
    display: str
    user: str
    xorg_pid: int
    authority: Path


@dataclass
class Child:
    proc: subprocess.Popen[bytes]
    session: Session
    restarts: int = 0
    recent: list[float] = field(default_factory=list)


def xrdp_sessions() -> list[Session]:
    """X servers started by xrdp-sesman: Xorg :N -auth FILE -config xrdp/xorg.conf ..."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            uid = proc.stat().st_uid
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        if not args or not args[0].endswith("Xorg") or not any("xrdp/xorg.conf" in a for a in args):
            continue
        display = next((a for a in args[1:] if a.startswith(":") and a[1:].isdigit()), None)
        auth = args[args.index("-auth") + 1] if "-auth" in args[:-1] else ".Xauthority"
        try:
            account = pwd.getpwuid(uid)
        except KeyError:
            continue
        if display is not None:
            # sesman starts Xorg in the user's home, so a relative -auth is relative to it.
            found.append(Session(display, account.pw_name, int(proc.name), Path(account.pw_dir) / auth))
    return found


def xauth_records(path: Path) -> list[tuple[int, bytes, bytes, bytes, bytes]]:
    """Records of an Xauthority file: (family, address, display number, name, data)."""
    data = path.read_bytes()
    records, pos = [], 0
    while pos + 2 <= len(data):
        (family,) = struct.unpack_from(">H", data, pos)
        pos += 2
        parts = []
        for _ in range(4):
            (length,) = struct.unpack_from(">H", data, pos)
            parts.append(data[pos + 2 : pos + 2 + length])
            pos += 2 + length
        records.append((family, parts[0], parts[1], parts[2], parts[3]))
    return records


def write_cookie(session: Session, gid: int) -> Path:
    """Copy the display's cookies to a file readable by the watermark account (root:<it> 0640)."""
    number = session.display[1:].encode()
    out = b"".join(
        struct.pack(">H", family) + b"".join(struct.pack(">H", len(p)) + p for p in (address, num, name, cookie))
        for family, address, num, name, cookie in xauth_records(session.authority)
        if num == number
    )
    if not out:
        raise OSError(f"no cookie for display {session.display} in {session.authority}")
    target = RUNTIME / f"auth{session.display[1:]}"
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "wb") as fh:
        fh.write(out)
    os.chown(tmp, 0, gid)
    tmp.replace(target)
    return target


def start(session: Session, account: pwd.struct_passwd, config: str) -> subprocess.Popen[bytes]:
    cookie = write_cookie(session, account.pw_gid)
    env = {
        "DISPLAY": session.display,
        "XAUTHORITY": str(cookie),
        "HOME": str(RUNTIME / "cache"),
        "XDG_CACHE_HOME": str(RUNTIME / "cache"),
        "LANG": "C.UTF-8",
        "NO_AT_BRIDGE": "1",
        "PATH": "/usr/bin:/bin",
    }
    argv = [sys.executable, WATERMARK, "--display", session.display, "--user", session.user, "--config", config]
    return subprocess.Popen(
        argv,
        env=env,
        user=account.pw_uid,
        group=account.pw_gid,
        extra_groups=[],
        cwd="/",
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def write_status(children: dict[str, Child]) -> None:
    lines = [f"{c.session.display} {c.session.user} {c.proc.pid} {c.restarts}\n" for _, c in sorted(children.items())]
    tmp = RUNTIME / "status.tmp"
    tmp.write_text("".join(lines))
    tmp.replace(RUNTIME / "status")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--account", default="_twwatermark")
    parser.add_argument("--config", default="/etc/telework-desktop/watermark.json")
    args = parser.parse_args()
    syslog.openlog("tw-watermark", syslog.LOG_PID, syslog.LOG_AUTHPRIV)
    account = pwd.getpwnam(args.account)
    RUNTIME.mkdir(mode=0o750, exist_ok=True)
    os.chown(RUNTIME, 0, account.pw_gid)
    (RUNTIME / "cache").mkdir(mode=0o700, exist_ok=True)
    os.chown(RUNTIME / "cache", account.pw_uid, account.pw_gid)
    children: dict[str, Child] = {}
    running = True

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while running:
        sessions = {s.display: s for s in xrdp_sessions()}
        for display, child in list(children.items()):
            rc = child.proc.poll()
            gone = display not in sessions or sessions[display] != child.session
            if rc is None and gone:
                child.proc.terminate()
                continue
            if rc is None:
                continue
            del children[display]
            if gone or not Path(f"/proc/{child.session.xorg_pid}").exists():
                (RUNTIME / f"auth{display[1:]}").unlink(missing_ok=True)
                continue
            now = time.monotonic()
            child.recent = [t for t in child.recent if now - t < 60] + [now]
            syslog.syslog(
                syslog.LOG_WARNING,
                f"TW-10 watermark of {child.session.user} on display {display} ended (rc={rc}); starting it again",
            )
            if len(child.recent) > 5:
                time.sleep(args.interval)  # dying in a loop: do not spin
            try:
                children[display] = Child(
                    start(child.session, account, args.config), child.session, child.restarts + 1, child.recent
                )
            except OSError as exc:
                syslog.syslog(syslog.LOG_ERR, f"TW-10 cannot restart the watermark on {display}: {exc}")
        for display, session in sessions.items():
            if display in children:
                continue
            try:
                children[display] = Child(start(session, account, args.config), session)
                syslog.syslog(syslog.LOG_INFO, f"TW-10 watermark started for {session.user} on display {display}")
            except OSError as exc:
                # The session's cookie appears a moment after its X server: try again next round.
                syslog.syslog(syslog.LOG_DEBUG, f"TW-10 watermark for {display} not started yet: {exc}")
        write_status(children)
        time.sleep(args.interval)
    for child in children.values():
        child.proc.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
