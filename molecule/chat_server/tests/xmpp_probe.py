#!/usr/bin/python3
"""The tests' XMPP client on client1: Debian's slixmpp (1.8 on Debian 12, 1.10 on 13) and, for what a
library will not do on purpose (a client that never starts TLS), a plain socket.

Every command prints one JSON object and exits 0; the verdict is in the JSON, so a test asserts on
what the server did. Passwords are read from a file (--password-file), never from argv.

  xmpp-probe login   --jid J [--hold SECONDS]       log in over STARTTLS (site CA, name checked);
                                                     --hold: stay until the server ends the session
  xmpp-probe chat    --jid J --to J2 --password-file-to F2 --body B
                                                     J sends B to J2; did J2's session receive it?
  xmpp-probe roster  --jid J                         the roster groups the server hands J
  xmpp-probe room    --jid J --room R [--say B] [--history]
                                                     join room R, optionally say B, query its archive
  xmpp-probe remote  --jid J --to someone@elsewhere  send to another server: the error that comes back
  xmpp-probe plain   --domain D                      no TLS: what the server offers, and a PLAIN login
  xmpp-probe register --domain D                     in-band registration after STARTTLS

--ca FILE checks the server's certificate against FILE (default: the site CA the tests copy to
/etc/xmpp-probe/ca.pem; a desktop's system bundle proves what its own clients trust).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import re
import socket
import ssl
import sys
import time
import uuid
from typing import Any

CA = "/etc/xmpp-probe/ca.pem"


def context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=CA)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class Session:
    """One logged-in (or refused) slixmpp client; events recorded with their time."""

    def __init__(self, jid: str, password: str, server: str, port: int) -> None:
        import slixmpp

        self.client = slixmpp.ClientXMPP(jid, password)
        self.client.ssl_context = context()
        # STARTTLS on the client port only (slixmpp 1.10 tries direct TLS first; 1.8 has no such setting)
        self.client.enable_direct_tls = False
        self.client.enable_starttls = True
        self.client.enable_plaintext = False
        self.server, self.port = server, port
        self.started = asyncio.Event()
        self.failed = asyncio.Event()
        self.gone = asyncio.Event()
        self.received: list[dict[str, str]] = []
        self.errors: list[str] = []
        self.stream_error = ""
        self.client.add_event_handler("session_start", self._start)
        self.client.add_event_handler("failed_auth", lambda _e: self.failed.set())
        self.client.add_event_handler("disconnected", lambda _e: self.gone.set())
        self.client.add_event_handler("connection_failed", lambda _e: self.failed.set())
        self.client.add_event_handler("stream_error", self._stream_error)
        self.client.add_event_handler("message", self._message)
        self.client.add_event_handler("message_error", self._message)

    async def _start(self, _event: Any) -> None:
        self.client.send_presence()
        await self.client.get_roster()
        self.started.set()

    def _stream_error(self, error: Any) -> None:
        self.stream_error = error["condition"] or "stream-error"

    def _message(self, msg: Any) -> None:
        if msg["type"] == "error":
            self.errors.append(msg["error"]["condition"])
        else:
            self.received.append({"from": str(msg["from"].bare), "body": msg["body"]})

    async def open(self, timeout: float = 30) -> bool:
        try:  # slixmpp 1.10 takes host=/port=, 1.8 an address tuple
            self.client.connect(host=self.server, port=self.port)
        except TypeError:
            self.client.connect(address=(self.server, self.port))
        started = asyncio.ensure_future(self.started.wait())
        failed = asyncio.ensure_future(self.failed.wait())
        gone = asyncio.ensure_future(self.gone.wait())
        await asyncio.wait([started, failed, gone], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for f in (started, failed, gone):
            f.cancel()
        return self.started.is_set()

    async def close(self) -> None:
        if not self.gone.is_set():
            self.client.disconnect()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.gone.wait(), 10)


def password(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read().rstrip("\n")


async def cmd_login(a: argparse.Namespace) -> dict[str, Any]:
    s = Session(a.jid, password(a.password_file), a.server, a.port)
    ok = await s.open()
    out: dict[str, Any] = {"ok": ok, "stream_error": s.stream_error}
    if ok:
        out["tls"] = s.client.socket.version() if hasattr(s.client.socket, "version") else ""
    if ok and a.hold:
        began = time.monotonic()
        try:
            await asyncio.wait_for(s.gone.wait(), a.hold)
            out["ended_by_server"] = True
        except TimeoutError:
            out["ended_by_server"] = False
        out["held"] = round(time.monotonic() - began, 1)
        out["stream_error"] = s.stream_error
    await s.close()
    return out


async def cmd_chat(a: argparse.Namespace) -> dict[str, Any]:
    sender = Session(a.jid, password(a.password_file), a.server, a.port)
    receiver = Session(a.to, password(a.password_file_to), a.server, a.port)
    if not await receiver.open():
        return {"ok": False, "why": "receiver could not log in"}
    if not await sender.open():
        await receiver.close()
        return {"ok": False, "why": "sender could not log in"}
    sender.client.send_message(mto=a.to, mbody=a.body, mtype="chat")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(m["body"] == a.body for m in receiver.received):
        await asyncio.sleep(0.2)
    out = {"ok": True, "delivered": any(m["body"] == a.body for m in receiver.received), "received": receiver.received}
    await sender.close()
    await receiver.close()
    return out


async def cmd_roster(a: argparse.Namespace) -> dict[str, Any]:
    s = Session(a.jid, password(a.password_file), a.server, a.port)
    if not await s.open():
        return {"ok": False}
    groups: dict[str, list[str]] = {}
    roster = s.client.client_roster
    for jid in roster:
        for group in roster[jid]["groups"]:
            groups.setdefault(group, []).append(str(jid))
    await s.close()
    return {"ok": True, "groups": {g: sorted(j) for g, j in groups.items()}}


async def cmd_room(a: argparse.Namespace) -> dict[str, Any]:
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath

    s = Session(a.jid, password(a.password_file), a.server, a.port)
    if not await s.open():
        return {"ok": False}
    nick = a.jid.split("@")[0]
    joined = asyncio.Event()
    result: dict[str, Any] = {"ok": True, "joined": False, "error": "", "history": []}

    def presence(p: Any) -> None:
        if str(p["from"].bare) != a.room:
            return
        if p["type"] == "error":
            result["error"] = p["error"]["condition"]
            joined.set()
        elif str(p["from"].resource) == nick:
            result["joined"] = True
            joined.set()

    s.client.add_event_handler("presence", presence)
    # the MUC join element: without it the server treats the presence as a plain one
    muc = "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x>"
    s.client.send_raw(f"<presence to='{a.room}/{nick}'>{muc}</presence>")
    try:
        await asyncio.wait_for(joined.wait(), 15)
    except TimeoutError:
        result["error"] = "timeout"
    if result["joined"] and a.say:
        s.client.send_message(mto=a.room, mbody=a.say, mtype="groupchat")
        deadline = time.monotonic() + 10  # the room echoes the message once it has it
        while time.monotonic() < deadline and not any(m["body"] == a.say for m in s.received):
            await asyncio.sleep(0.2)
    if a.history:
        bodies: list[str] = []
        done = asyncio.Event()
        qid = uuid.uuid4().hex

        def archived(msg: Any) -> None:
            body = msg.xml.find(".//{jabber:client}body")
            if body is not None and body.text:
                bodies.append(body.text)

        def fin(iq: Any) -> None:
            if iq["id"] == qid:
                if iq["type"] == "error":
                    result["history_error"] = iq["error"]["condition"]
                done.set()

        s.client.register_handler(
            Callback("mam-result", MatchXPath("{jabber:client}message/{urn:xmpp:mam:2}result"), archived)
        )
        s.client.register_handler(Callback("mam-fin", MatchXPath("{jabber:client}iq"), fin))
        s.client.send_raw(f"<iq type='set' id='{qid}' to='{a.room}'><query xmlns='urn:xmpp:mam:2'/></iq>")
        try:
            await asyncio.wait_for(done.wait(), 15)
        except TimeoutError:
            result["history_error"] = "timeout"
        result["history"] = bodies
    await s.close()
    return result


async def cmd_remote(a: argparse.Namespace) -> dict[str, Any]:
    s = Session(a.jid, password(a.password_file), a.server, a.port)
    if not await s.open():
        return {"ok": False}
    s.client.send_message(mto=a.to, mbody="federation probe", mtype="chat")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not s.errors:
        await asyncio.sleep(0.2)
    await s.close()
    return {"ok": True, "errors": s.errors}


def read_until(sock: socket.socket | ssl.SSLSocket, pattern: str, timeout: float = 10) -> str:
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not re.search(pattern, data.decode("utf-8", "replace"), re.S):
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


def stream_header(domain: str) -> bytes:
    return (
        f"<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams'>"
    ).encode()


def cmd_plain(a: argparse.Namespace) -> dict[str, Any]:
    """A client that never starts TLS: what the server offers, and what a PLAIN login gets."""
    with socket.create_connection((a.server, a.port), timeout=10) as sock:
        sock.sendall(stream_header(a.domain))
        features = read_until(sock, r"</stream:features>")
        auth = base64.b64encode(f"\0{a.jid.split('@')[0]}\0{password(a.password_file)}".encode()).decode()
        sock.sendall(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>".encode())
        answer = read_until(sock, r"(</failure>|<success|</stream:stream>|</stream:error>)")
    return {
        "ok": True,
        "starttls_required": bool(re.search(r"<starttls[^>]*>\s*<required", features)),
        "mechanisms": re.findall(r"<mechanism>([^<]+)</mechanism>", features),
        "success": "<success" in answer,
        "answer": answer[:500],
    }


def cmd_register(a: argparse.Namespace) -> dict[str, Any]:
    """In-band registration (XEP-0077) after STARTTLS, as a client that wants an account would try."""
    with socket.create_connection((a.server, a.port), timeout=10) as raw:
        raw.sendall(stream_header(a.domain))
        read_until(raw, r"</stream:features>")
        raw.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        proceed = read_until(raw, r"<proceed")
        if "<proceed" not in proceed:
            return {"ok": False, "why": "no STARTTLS"}
        with context().wrap_socket(raw, server_hostname=a.domain) as tls:
            tls.sendall(stream_header(a.domain))
            features = read_until(tls, r"</stream:features>")
            tls.sendall(b"<iq type='get' id='reg1'><query xmlns='jabber:iq:register'/></iq>")
            answer = read_until(tls, r"</iq>|</stream:stream>|</stream:error>")
    error = re.search(r"<error[^>]*>\s*<([a-z-]+)", answer)
    return {
        "ok": True,
        "register_feature": "http://jabber.org/features/iq-register" in features,
        "mechanisms": re.findall(r"<mechanism>([^<]+)</mechanism>", features),
        "result": "error"
        if "type='error'" in answer or 'type="error"' in answer
        else ("result" if "</iq>" in answer or "/>" in answer else "none"),
        "error": error.group(1) if error else "",
        "form": "jabber:iq:register" in answer and "<username" in answer,
    }


def main() -> int:
    global CA  # one setting for every connection of this run
    p = argparse.ArgumentParser(prog="xmpp-probe")
    p.add_argument("command", choices=["login", "chat", "roster", "room", "remote", "plain", "register"])
    p.add_argument("--server", required=True, help="the server's address")
    p.add_argument("--port", type=int, default=5222)
    p.add_argument("--jid", default="")
    p.add_argument("--domain", default="")
    p.add_argument("--password-file", default="")
    p.add_argument("--to", default="")
    p.add_argument("--password-file-to", default="")
    p.add_argument("--body", default="")
    p.add_argument("--room", default="")
    p.add_argument("--say", default="")
    p.add_argument("--history", action="store_true")
    p.add_argument("--hold", type=float, default=0)
    p.add_argument("--ca", default=CA, help="the CA file the server's certificate is checked against")
    a = p.parse_args()
    CA = a.ca
    if a.command == "plain":
        out = cmd_plain(a)
    elif a.command == "register":
        out = cmd_register(a)
    else:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        fn = {"login": cmd_login, "chat": cmd_chat, "roster": cmd_roster, "room": cmd_room, "remote": cmd_remote}
        out = loop.run_until_complete(fn[a.command](a))
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
