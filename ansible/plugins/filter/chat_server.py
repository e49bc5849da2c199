"""Filters of the chat_server role: what Prosody's telework modules read, from the staff list.

The rooms and their members come from staff_rooms.py (shared with web_meeting); this turns them,
the active staff and the departments into staff.json: who may log in, roster groups, rooms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any


def chat_server_state(
    users: Iterable[Mapping[str, Any]],
    departments: Iterable[Mapping[str, Any]],
    room_list: Iterable[Mapping[str, Any]],
    domain: str,
    rooms_domain: str,
) -> dict[str, Any]:
    """What the server's telework modules read: who may log in, the roster groups, the rooms and their members.

    room_list comes from staff_room_list with the same (active) users.
    """
    active = list(users)
    names = {d["code"]: d["name"] for d in departments}
    groups: dict[str, list[dict[str, str]]] = {}
    for u in active:
        groups.setdefault(u["department"], []).append({"jid": f"{u['id']}@{domain}", "name": u["name"]})
    rooms = [
        {"jid": f"{r['name']}@{rooms_domain}", "title": r["title"], "members": [f"{m}@{domain}" for m in r["members"]]}
        for r in room_list
    ]
    return {
        "domain": domain,
        "active": sorted(u["id"] for u in active),
        "roster_groups": [
            {"name": names.get(code, code), "members": sorted(m, key=lambda e: e["jid"])}
            for code, m in sorted(groups.items())
        ],
        "rooms": rooms,
    }


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"chat_server_state": chat_server_state}
