#!/usr/bin/python3
"""TW-09: one syslog line per RDP event, with the user and the client's address.

xrdp logs a connection's address, its user and its outcome on different lines (and a
disconnect without either); this service follows xrdp's journal, ties the lines of each
connection together (by the xrdp process that serves it) and writes one line per event to
syslog, tag "rdp-audit", facility authpriv, for the log server:

    TW-09 rdp event=connect src=10.231.33.50 port=47034 tls=TLSv1.3
    TW-09 rdp event=login result=success user=sato.taro src=10.231.33.50 port=47034
    TW-09 rdp event=login result=failure user=sato.taro src=10.231.33.50 port=47034 reason="..."
    TW-09 rdp event=session user=sato.taro src=10.231.33.50 port=47034 display=10 kind=new|reconnect
    TW-09 rdp event=disconnect user=sato.taro src=10.231.33.50 display=10 reason=client|server
    TW-09 rdp event=logout user=sato.taro src=10.231.33.50 display=10

Works with xrdp 0.9 (Debian 12) and 0.10 (Debian 13). Its journal position is kept in
/var/lib/tw-rdp-audit/cursor, so a restart neither loses nor repeats events.
"""

from __future__ import annotations

import os
import re
import sys
import syslog
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE = Path(os.environ.get("STATE_DIRECTORY", "/var/lib/tw-rdp-audit"))
IDENTIFIERS = ("xrdp", "xrdp-sesman", "xrdp-sesexec")

# 0.10: "from [::ffff:10.0.0.5]:47034 TLSv1.3"; 0.9: "from ::ffff:10.0.0.5 port 58668: TLSv1.3"
ADDR = r"\[?(?:::ffff:)?(?P<src>[0-9a-fA-F:.]+?)\]?(?::| port )(?P<port>\d+):?"
TLS = re.compile(r"TLS connection established from " + ADDR + r" (?P<tls>TLSv[\d.]+)")
LOGIN_REQUEST = re.compile(r"xrdp_wm_log_msg: Performing login request for (?P<user>\S+)")
# 0.9 reports the outcome with the user (and the display) in one line
LOGIN_RESULT = re.compile(
    r"xrdp_wm_log_msg: login (?P<result>successful|failed) for user (?P<user>\S+)(?: on display (?P<display>\d+))?"
)
WM_MESSAGE = re.compile(r"xrdp_wm_log_msg: (?P<msg>.*)")
SESSION_READY = re.compile(r"session is available on display (?P<display>\d+) for user (?P<user>\S+)")
SESSION_KIND = re.compile(r"\+\+ (?P<kind>created|reconnected) session.*?username (?P<user>[^,\s]+)")
LIMIT = re.compile(r"max concurrent session limit exceeded(?:\. login for user| - user) (?P<user>[^\s,]+)")
CLIENT_GONE = re.compile(r"xrdp_process_loop failed|connection closed|xrdp_mcs_recv failed|SSL_read|unexpected eof")
SERVER_GONE = re.compile(r"Xorg server closed connection|lib_mod_.*(closed|failed)")
SESSION_END = re.compile(
    r"Session on display (?P<display>\d+) has finished|"
    r"(?:--|\+\+) terminated session.*?display :?(?P<display2>\d+)|"
    r"session (?:\d+ )?on display :?(?P<display3>\d+) (?:has )?(?:finished|ended)"
)
SUCCESS = re.compile(r"login (?:was )?successful|login successful", re.IGNORECASE)
FAILURE = re.compile(r"could not be authenticated|denied|failed|refused|not allowed|locked|expired|maximum", re.I)


@dataclass
class Connection:
    pid: int
    src: str = "-"
    port: str = "-"
    user: str = "-"
    display: str = "-"
    result: str = ""
    closed: bool = False
    seen: float = 0.0


def quote(value: str) -> str:
    return f'"{value}"' if re.search(r'[\s"=]', value) else value


def emit(event: str, priority: int = syslog.LOG_INFO, **fields: str) -> None:
    text = " ".join(f"{k}={quote(str(v))}" for k, v in fields.items() if v not in ("", None))
    syslog.syslog(priority, f"TW-09 rdp event={event} {text}".rstrip())


class Tracker:
    def __init__(self) -> None:
        self.conns: dict[int, Connection] = {}
        self.displays: dict[str, Connection] = {}
        self.kinds: dict[str, tuple[str, float]] = {}
        self.reasons: dict[str, tuple[str, float]] = {}

    def recent(self, table: dict[str, tuple[str, float]], user: str, default: str) -> str:
        value, when = table.pop(user, (default, 0.0))
        return value if time.monotonic() - when < 30 else default

    def session(self, c: Connection) -> None:
        self.displays[c.display] = c
        kind = self.recent(self.kinds, c.user, "new")
        emit("session", user=c.user, src=c.src, port=c.port, display=c.display, kind=kind)

    def success(self, c: Connection) -> None:
        c.result = "success"
        emit("login", result="success", user=c.user, src=c.src, port=c.port)

    def failure(self, c: Connection, text: str) -> None:
        c.result = "failure"
        reason = self.recent(self.reasons, c.user, text)
        emit("login", syslog.LOG_WARNING, result="failure", user=c.user, src=c.src, port=c.port, reason=reason)

    def conn(self, pid: int) -> Connection:
        if pid not in self.conns:
            self.conns[pid] = Connection(pid)
        self.conns[pid].seen = time.monotonic()
        return self.conns[pid]

    def handle(self, ident: str, pid: int, msg: str) -> None:
        if ident == "xrdp":
            self.handle_xrdp(pid, msg)
        else:
            self.handle_sesman(msg)

    def handle_xrdp(self, pid: int, msg: str) -> None:
        if m := TLS.search(msg):
            c = self.conn(pid)
            c.src, c.port = m["src"], m["port"]
            emit("connect", src=c.src, port=c.port, tls=m["tls"])
            return
        if pid not in self.conns:
            return  # e.g. the listener's "connection accepted": the serving process reports the handshake
        c = self.conn(pid)
        if m := LOGIN_REQUEST.search(msg):
            c.user, c.result = m["user"], ""
            return
        if m := LOGIN_RESULT.search(msg):
            c.user = m["user"]
            if m["result"] == "failed":
                self.failure(c, f"login failed for user {c.user}")
                return
            self.success(c)
            if m["display"]:
                c.display = m["display"]
                self.session(c)
            return
        if m := SESSION_READY.search(msg):
            c.display = m["display"]
            self.session(c)
            return
        # 0.10 accepts the password first and may then refuse the session ("Max session limit
        # reached"): that is still a failed login, as long as no session was handed out.
        if (m := WM_MESSAGE.search(msg)) and c.user != "-" and c.result != "failure" and c.display == "-":
            text = m["msg"].strip()
            if SUCCESS.search(text) and not c.result:
                self.success(c)
            elif FAILURE.search(text) or "limit reached" in text.lower():
                self.failure(c, text)
            return
        if not c.closed and c.display != "-" and (CLIENT_GONE.search(msg) or SERVER_GONE.search(msg)):
            c.closed = True
            reason = "client" if CLIENT_GONE.search(msg) else "server"
            emit("disconnect", user=c.user, src=c.src, port=c.port, display=c.display, reason=reason)

    def handle_sesman(self, msg: str) -> None:
        if m := SESSION_KIND.search(msg):
            kind = "new" if m["kind"] == "created" else "reconnect"
            self.kinds[m["user"]] = (kind, time.monotonic())
            return
        if m := LIMIT.search(msg):
            self.reasons[m["user"]] = ("session limit of the host reached", time.monotonic())
            return
        if m := SESSION_END.search(msg):
            display = m["display"] or m["display2"] or m["display3"]
            owner = self.displays.pop(display, None)
            emit(
                "logout",
                user=owner.user if owner else "-",
                src=owner.src if owner else "-",
                display=display,
            )

    def reap(self) -> None:
        """Connections whose xrdp process is gone: report a disconnect not seen in the log."""
        now = time.monotonic()
        for pid, c in list(self.conns.items()):
            if now - c.seen < 10 or Path(f"/proc/{pid}").exists():
                continue
            if not c.closed and c.display != "-" and c.result == "success":
                emit("disconnect", user=c.user, src=c.src, port=c.port, display=c.display, reason="ended")
            del self.conns[pid]


def open_journal(cursor: str | None) -> Any:
    from systemd import journal

    reader = journal.Reader()
    for ident in IDENTIFIERS:
        reader.add_match(SYSLOG_IDENTIFIER=ident)  # matches on one field are OR'ed
    if cursor:
        try:
            reader.seek_cursor(cursor)
            reader.get_next()  # the entry at the cursor was handled before the restart
            return reader
        except OSError:
            pass
    reader.seek_tail()
    reader.get_previous()
    return reader


def main() -> int:
    syslog.openlog("rdp-audit", syslog.LOG_PID, syslog.LOG_AUTHPRIV)
    STATE.mkdir(parents=True, exist_ok=True)
    cursor_file = STATE / "cursor"
    cursor = cursor_file.read_text().strip() if cursor_file.exists() else None
    reader = open_journal(cursor)
    tracker = Tracker()
    saved, last_save = cursor, time.monotonic()
    while True:
        reader.wait(2.0)
        for entry in reader:
            message = entry.get("MESSAGE")
            if isinstance(message, bytes):  # messages that are not UTF-8
                message = message.decode(errors="replace")
            ident = str(entry.get("SYSLOG_IDENTIFIER", ""))
            try:
                pid = int(entry.get("SYSLOG_PID") or entry.get("_PID") or 0)
            except (TypeError, ValueError):
                pid = 0
            if isinstance(message, str):
                tracker.handle(ident, pid, message)
            cursor = entry.get("__CURSOR", cursor)
        tracker.reap()
        if cursor != saved and time.monotonic() - last_save > 5:
            tmp = cursor_file.with_suffix(".tmp")
            tmp.write_text(f"{cursor}\n")
            tmp.replace(cursor_file)
            saved, last_save = cursor, time.monotonic()


if __name__ == "__main__":
    sys.exit(main())
