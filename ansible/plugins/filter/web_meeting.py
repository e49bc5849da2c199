"""Filters of the web_meeting role: what the meeting page's glue reads (meeting.json).

The rooms and their members come from staff_rooms.py (shared with chat_server). Janus names a
room by a number: it is derived from the room's name, so a room keeps its number when others are
added or removed, and a meeting in progress is not moved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def web_meeting_room_id(name: str) -> int:
    """Janus's number for the room called name: stable, 9 digits."""
    return 100_000_000 + int(hashlib.sha256(name.encode()).hexdigest()[:12], 16) % 900_000_000


def web_meeting_state(
    users: Iterable[Mapping[str, Any]],
    room_list: Iterable[Mapping[str, Any]],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """meeting.json: the glue's settings, who may sign in (id -> display name) and the rooms with their members."""
    return {
        **settings,
        "active": {u["id"]: u["name"] for u in sorted(users, key=lambda u: u["id"])},
        "rooms": [
            {"id": web_meeting_room_id(r["name"]), "name": r["name"], "title": r["title"], "members": r["members"]}
            for r in room_list
        ],
    }


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"web_meeting_room_id": web_meeting_room_id, "web_meeting_state": web_meeting_state}
