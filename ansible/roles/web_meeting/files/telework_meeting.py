#!/usr/bin/python3
"""The ward's meeting page glue (role web_meeting): sign-in, rooms, and the relay to Janus.

Janus (the media server, its VideoRoom plugin) listens on 127.0.0.1 only and requires a signed
token on every request. This service, behind nginx (TLS), is the only way in:

  POST /api/signin   staff-list identity: user and password, checked by saslauthd (PAM service
                     telework-meeting: a managed staff account, not locked or expired); an active
                     user of the staff list gets a session cookie
  POST /api/signout  ends the session (and its media connection)
  GET  /api/me       the user's name, the rooms they may enter, and TURN credentials for an hour
  GET  /api/janus    WebSocket relay to Janus (protocol janus-protocol) for a signed-in user:
                     only the VideoRoom plugin, only the requests a participant needs, a room the
                     user may enter (the relay adds the room's PIN, the user's display name and
                     the Janus token; the browser knows none of them)

The rooms are made in Janus when the service starts (and again when Janus restarts): private,
with a PIN and a secret derived from a key only this host holds. A reload (SIGHUP, after the role
wrote a new staff list) ends the media connections of users who are no longer active or lost a
room they are in: Janus then takes them out of the room at once. Sign-ins, joins and leaves are
logged with user, room and source address (syslog, forwarded to the log server).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import logging.handlers
import secrets
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

CONFIG = Path(sys.argv[1] if len(sys.argv) > 1 else "/etc/telework-meeting/meeting.json")
COOKIE = "tw_meeting"
PLUGIN = "janus.plugin.videoroom"
# What a participant may ask of Janus, and of the VideoRoom plugin.
JANUS_REQUESTS = {"create", "attach", "message", "trickle", "keepalive", "detach", "hangup", "destroy"}
ROOM_REQUESTS = {
    "join",
    "joinandconfigure",
    "configure",
    "publish",
    "unpublish",
    "start",
    "pause",
    "switch",
    "update",
    "subscribe",
    "unsubscribe",
    "leave",
    "listparticipants",
}
JOINS = {"join", "joinandconfigure"}

log = logging.getLogger("telework-meeting")


@dataclass
class Room:
    id: int
    name: str
    title: str
    members: set[str]


@dataclass
class Settings:
    janus: str
    listen: tuple[str, int]
    saslauthd: str
    pam_service: str
    session_hours: float
    key: bytes
    token_secret: str
    turn_secret: str
    turn_urls: list[str]
    max_publishers: int
    bitrate: int
    active: dict[str, str]  # user -> display name
    rooms: dict[int, Room]

    @classmethod
    def load(cls) -> Settings:
        doc = json.loads(CONFIG.read_text())
        rooms = {r["id"]: Room(r["id"], r["name"], r["title"], set(r["members"])) for r in doc["rooms"]}
        return cls(
            janus=doc["janus"],
            listen=(doc["listen"]["address"], int(doc["listen"]["port"])),
            saslauthd=doc["saslauthd"],
            pam_service=doc["pam_service"],
            session_hours=float(doc["session_hours"]),
            key=Path(doc["key_file"]).read_bytes().strip(),
            token_secret=Path(doc["token_secret_file"]).read_text().strip(),
            turn_secret=Path(doc["turn_secret_file"]).read_text().strip(),
            turn_urls=list(doc["turn_urls"]),
            max_publishers=int(doc["max_publishers"]),
            bitrate=int(doc["bitrate"]),
            active=dict(doc["active"]),
            rooms=rooms,
        )

    def derived(self, purpose: str, room: Room) -> str:
        """A room's PIN or secret: stable across restarts of this service, known to no browser."""
        return hmac.new(self.key, f"{purpose}:{room.id}:{room.name}".encode(), hashlib.sha256).hexdigest()[:32]

    def janus_token(self, seconds: int = 120) -> str:
        """Janus's signed token (token_auth_secret): expiry, realm and plugin, HMAC-SHA1."""
        data = f"{int(time.time()) + seconds},janus,{PLUGIN}"
        mac = hmac.new(self.token_secret.encode(), data.encode(), hashlib.sha1).digest()
        return f"{data}:{base64.b64encode(mac).decode()}"

    def turn_credentials(self, user: str, seconds: int = 3600) -> dict[str, Any]:
        """coturn's time-limited credentials (use-auth-secret): the name carries the expiry."""
        name = f"{int(time.time()) + seconds}:{user}"
        mac = hmac.new(self.turn_secret.encode(), name.encode(), hashlib.sha1).digest()
        return {"urls": self.turn_urls, "username": name, "credential": base64.b64encode(mac).decode()}

    def rooms_of(self, user: str) -> list[Room]:
        return [r for r in self.rooms.values() if user in r.members]


def saslauthd_check(socket_path: str, user: str, password: str, service: str) -> bool:
    """Ask saslauthd (the same PAM check as the desktops); its protocol: four counted strings."""
    request = b"".join(struct.pack("!H", len(p)) + p for p in (user.encode(), password.encode(), service.encode(), b""))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(socket_path)
        s.sendall(request)
        size = struct.unpack("!H", s.recv(2))[0]
        answer = b""
        while len(answer) < size:
            chunk = s.recv(size - len(answer))
            if not chunk:
                break
            answer += chunk
    return answer.startswith(b"OK")


@dataclass
class Session:
    user: str
    expires: float
    relays: set[Relay] = field(default_factory=set)


@dataclass(eq=False)
class Relay:
    """One browser's WebSocket to Janus, through this service."""

    user: str
    source: str
    browser: web.WebSocketResponse
    upstream: aiohttp.ClientWebSocketResponse | None = None
    handles: dict[int, int] = field(default_factory=dict)  # handle -> room joined through it
    pending: dict[str, int] = field(default_factory=dict)  # transaction of a join -> room

    async def close(self, reason: str, names: dict[int, str] | None = None) -> None:
        for room in set(self.handles.values()):
            name = (names or {}).get(room, str(room))
            log.info("event=leave user=%s room=%s src=%s reason=%s", self.user, name, self.source, reason)
        self.handles.clear()
        if self.upstream is not None and not self.upstream.closed:
            await self.upstream.close()
        if not self.browser.closed:
            await self.browser.close(code=4003 if reason == "revoked" else 1000)


class Meeting:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions: dict[str, Session] = {}
        self.rooms_ready = asyncio.Event()
        self.control: JanusControl | None = None  # this service's own Janus session, while it is up

    # --- Janus: the rooms -------------------------------------------------------------------

    async def keep_rooms(self) -> None:
        """Make the rooms in Janus, keep the control session alive, start again when Janus does."""
        while True:
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.ws_connect(self.settings.janus, protocols=("janus-protocol",), heartbeat=20) as ws,
                ):
                    control = JanusControl(ws, self.settings)
                    await control.open()
                    for room in self.settings.rooms.values():
                        await control.ensure_room(room)
                    self.rooms_ready.set()
                    log.info("event=rooms result=ready count=%d", len(self.settings.rooms))
                    self.control = control
                    await control.keepalive()
            except (aiohttp.ClientError, OSError, RuntimeError, TimeoutError) as error:
                self.rooms_ready.clear()
                log.warning(
                    "event=rooms result=retry reason=%s", f"{type(error).__name__}:{error}".replace(" ", "_")[:120]
                )
            await asyncio.sleep(2)

    # --- staff list changes ---------------------------------------------------------------------

    async def reload(self) -> None:
        old = self.settings
        new = Settings.load()
        self.settings = new
        for sid, session in list(self.sessions.items()):
            if session.user not in new.active:
                for relay in list(session.relays):
                    await relay.close("revoked", self.room_names(old))
                del self.sessions[sid]
                log.info("event=signout user=%s reason=revoked", session.user)
                continue
            for relay in list(session.relays):
                if any(
                    new.rooms.get(r) is None or relay.user not in new.rooms[r].members for r in relay.handles.values()
                ):
                    await relay.close("revoked", self.room_names(old))
        if {r.id for r in old.rooms.values()} != {r.id for r in new.rooms.values()} and self.control is not None:
            for room in new.rooms.values():
                await self.control.ensure_room(room)
        log.info("event=reload active=%d rooms=%d", len(new.active), len(new.rooms))

    # --- HTTP ----------------------------------------------------------------------------------

    def session_of(self, request: web.Request) -> Session | None:
        sid = request.cookies.get(COOKIE, "")
        session = self.sessions.get(sid)
        if session is None or session.expires < time.time() or session.user not in self.settings.active:
            return None
        return session

    @staticmethod
    def source(request: web.Request) -> str:
        return request.headers.get("X-Real-IP", request.remote or "-")

    async def signin(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            user, password = str(body["user"]).strip(), str(body["password"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "bad-request"}, status=400)
        src = self.source(request)
        ok = False
        if user in self.settings.active and password and len(user) < 64:
            s = self.settings
            ok = await asyncio.get_running_loop().run_in_executor(
                None, saslauthd_check, s.saslauthd, user, password, s.pam_service
            )
        if not ok:
            log.info("event=signin result=failure user=%s src=%s", user[:64] or "-", src)
            await asyncio.sleep(1)  # no fast guessing through the page
            return web.json_response({"error": "denied"}, status=401)
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = Session(user, time.time() + self.settings.session_hours * 3600)
        log.info("event=signin result=success user=%s src=%s", user, src)
        response = web.json_response({"user": user})
        response.set_cookie(COOKIE, sid, secure=True, httponly=True, samesite="Strict", path="/")
        return response

    async def signout(self, request: web.Request) -> web.Response:
        sid = request.cookies.get(COOKIE, "")
        session = self.sessions.pop(sid, None)
        if session is not None:
            for relay in list(session.relays):
                await relay.close("signout", self.room_names())
            log.info("event=signout user=%s src=%s", session.user, self.source(request))
        response = web.json_response({})
        response.del_cookie(COOKIE, path="/")
        return response

    async def me(self, request: web.Request) -> web.Response:
        session = self.session_of(request)
        if session is None:
            return web.json_response({"error": "signin"}, status=401)
        s = self.settings
        return web.json_response(
            {
                "user": session.user,
                "name": s.active[session.user],
                "rooms": [{"id": r.id, "name": r.name, "title": r.title} for r in s.rooms_of(session.user)],
                "iceServers": [s.turn_credentials(session.user)],
            }
        )

    async def janus(self, request: web.Request) -> web.StreamResponse:
        session = self.session_of(request)
        if session is None:
            return web.json_response({"error": "signin"}, status=401)
        browser = web.WebSocketResponse(protocols=("janus-protocol",), heartbeat=30, max_msg_size=1 << 20)
        await browser.prepare(request)
        relay = Relay(session.user, self.source(request), browser)
        session.relays.add(relay)
        try:
            await asyncio.wait_for(self.rooms_ready.wait(), 30)
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(self.settings.janus, protocols=("janus-protocol",), max_msg_size=1 << 20) as upstream,
            ):
                relay.upstream = upstream
                await asyncio.gather(self.to_janus(relay), self.from_janus(relay))
        except (TimeoutError, aiohttp.ClientError, OSError):
            pass
        finally:
            session.relays.discard(relay)
            await relay.close("closed", self.room_names())
        return browser

    async def to_janus(self, relay: Relay) -> None:
        assert relay.upstream is not None
        async for msg in relay.browser:
            if msg.type != WSMsgType.TEXT:
                break
            try:
                request = json.loads(msg.data)
                refusal = self.vet(relay, request)
            except (ValueError, TypeError, AttributeError):
                refusal = "malformed request"
                request = {}
            if refusal:
                await relay.browser.send_json(
                    {
                        "janus": "error",
                        "transaction": request.get("transaction"),
                        "error": {"code": 403, "reason": refusal},
                    }
                )
                continue
            request["token"] = self.settings.janus_token()
            await relay.upstream.send_json(request)
        await relay.upstream.close()

    def vet(self, relay: Relay, request: dict[str, Any]) -> str:
        """Refuse what a participant must not ask; fill in what only this side knows."""
        request.pop("token", None)
        request.pop("apisecret", None)
        kind = request.get("janus")
        if kind not in JANUS_REQUESTS:
            return f"request {kind} is not offered"
        if kind == "attach" and request.get("plugin") != PLUGIN:
            return "only the meeting rooms are offered"
        if kind != "message":
            return ""
        body = request.get("body")
        if not isinstance(body, dict) or body.get("request") not in ROOM_REQUESTS:
            return "request not offered in a meeting room"
        if "room" in body or body["request"] in JOINS:
            room = self.settings.rooms.get(body.get("room"))  # type: ignore[arg-type]
            if room is None or relay.user not in room.members:
                log.info("event=join result=refused user=%s room=%s src=%s", relay.user, body.get("room"), relay.source)
                return "this room is not one of yours"
            body["pin"] = self.settings.derived("pin", room)
            if body["request"] in JOINS:
                body["display"] = self.settings.active[relay.user]
                if body.get("ptype") == "publisher":
                    relay.pending[str(request.get("transaction"))] = room.id
        return ""

    async def from_janus(self, relay: Relay) -> None:
        assert relay.upstream is not None
        async for msg in relay.upstream:
            if msg.type != WSMsgType.TEXT:
                break
            event = json.loads(msg.data)
            data = (event.get("plugindata") or {}).get("data") or {}
            # Janus acknowledges a join first ("ack"), then answers with the same transaction.
            room = None
            if event.get("janus") != "ack":
                room = relay.pending.pop(str(event.get("transaction")), None)
            if room is not None and data.get("videoroom") == "joined":
                relay.handles[int(event.get("sender", 0))] = room
                log.info(
                    "event=join result=success user=%s room=%s src=%s", relay.user, self.room_name(room), relay.source
                )
            elif data.get("leaving") == "ok" or event.get("janus") == "detached":
                left = relay.handles.pop(int(event.get("sender", 0)), None)
                if left is not None:
                    log.info(
                        "event=leave user=%s room=%s src=%s reason=left", relay.user, self.room_name(left), relay.source
                    )
            await relay.browser.send_str(msg.data)
        await relay.browser.close()

    def room_names(self, settings: Settings | None = None) -> dict[int, str]:
        return {r.id: r.name for r in (settings or self.settings).rooms.values()}

    def room_name(self, room: int) -> str:
        return self.room_names().get(room, str(room))


class JanusControl:
    """This service's own Janus session: it makes the rooms (only it knows their secrets)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, settings: Settings) -> None:
        self.ws, self.settings = ws, settings
        self.session = self.handle = 0
        self.lock = asyncio.Lock()  # one request at a time on this connection (keepalive, rooms)

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        async with self.lock:
            return await self._call(request)

    async def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        request = {**request, "transaction": secrets.token_hex(8), "token": self.settings.janus_token()}
        if self.session:
            request["session_id"] = self.session
        if self.handle and request["janus"] == "message":
            request["handle_id"] = self.handle
        await self.ws.send_json(request)
        while True:
            msg = await self.ws.receive(timeout=30)
            if msg.type != WSMsgType.TEXT:
                raise RuntimeError(f"janus closed the control connection ({msg.type})")
            answer = json.loads(msg.data)
            # Janus answers a keepalive with an ack only; other requests with their result after it
            done = answer.get("janus") != "ack" or request["janus"] == "keepalive"
            if answer.get("transaction") == request["transaction"] and done:
                if answer.get("janus") == "error":
                    raise RuntimeError(f"janus refused {request['janus']}: {answer['error']}")
                return answer

    async def open(self) -> None:
        self.session = (await self.call({"janus": "create"}))["data"]["id"]
        self.handle = (await self.call({"janus": "attach", "plugin": PLUGIN}))["data"]["id"]

    async def room(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.call({"janus": "message", "body": body})
        return answer["plugindata"]["data"]

    async def ensure_room(self, room: Room) -> None:
        s = self.settings
        exists = await self.room({"request": "exists", "room": room.id})
        if exists.get("exists"):
            return
        made = await self.room(
            {
                "request": "create",
                "admin_key": hashlib.sha256(s.token_secret.encode()).hexdigest(),
                "room": room.id,
                "description": room.title,
                "secret": s.derived("secret", room),
                "pin": s.derived("pin", room),
                "is_private": True,
                "permanent": False,
                "publishers": s.max_publishers,
                "bitrate": s.bitrate,
                "audiocodec": "opus",
                "videocodec": "vp8",
                "notify_joining": True,
                "require_pvtid": True,
            }
        )
        if made.get("videoroom") != "created":
            raise RuntimeError(f"room {room.name} not made: {made}")

    async def keepalive(self) -> None:
        while True:
            await asyncio.sleep(25)
            await self.call({"janus": "keepalive"})


def main() -> None:
    handler = logging.handlers.SysLogHandler(address="/dev/log", facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV)
    handler.setFormatter(logging.Formatter("telework-meeting: %(message)s"))
    # syslog only (tracebacks still reach the journal through stderr)
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    meeting = Meeting(Settings.load())
    app = web.Application()
    app.add_routes(
        [
            web.post("/api/signin", meeting.signin),
            web.post("/api/signout", meeting.signout),
            web.get("/api/me", meeting.me),
            web.get("/api/janus", meeting.janus),
        ]
    )

    async def start(app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(meeting.reload()))
        app["rooms"] = asyncio.ensure_future(meeting.keep_rooms())

    app.on_startup.append(start)
    host, port = meeting.settings.listen
    web.run_app(app, host=host, port=port, print=None, access_log=None, shutdown_timeout=5)


if __name__ == "__main__":
    main()
