"""Filters of the chat_server role: rooms, rosters and who may log in, from the staff list.

One place turns the inventory (departments, the ward-wide room, extra rooms, the staff list) into
what the preflight checks and what Prosody's telework modules read, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any


def chat_server_users(users: Iterable[Mapping[str, Any]], account_group: str = "") -> list[Mapping[str, Any]]:
    """The active staff who may use chat: every active member, or those in account_group."""
    return [
        u
        for u in users
        if u.get("state") == "active" and (not account_group or account_group in (u.get("groups") or []))
    ]


def chat_server_room_list(
    departments: Iterable[Mapping[str, Any]],
    ward_room: Mapping[str, Any],
    department_rooms: bool,
    rooms: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Every room, complete (name, title, departments, groups, ward): department rooms, ward room, then extra."""
    result: list[dict[str, Any]] = []
    if department_rooms:
        for d in departments:
            result.append(
                {"name": d["code"], "title": d["name"], "departments": [d["code"]], "groups": [], "ward": False}
            )
    if ward_room.get("name"):
        result.append(
            {
                "name": ward_room["name"],
                "title": ward_room.get("title") or ward_room["name"],
                "departments": [],
                "groups": [],
                "ward": True,
            }
        )
    for r in rooms:
        result.append(
            {
                "name": r["name"],
                "title": r["title"],
                "departments": list(r.get("departments") or []),
                "groups": list(r.get("groups") or []),
                "ward": False,
            }
        )
    return result


def chat_server_state(
    users: Iterable[Mapping[str, Any]],
    departments: Iterable[Mapping[str, Any]],
    room_list: Iterable[Mapping[str, Any]],
    domain: str,
    rooms_domain: str,
) -> dict[str, Any]:
    """What the server's telework modules read: who may log in, the roster groups, the rooms and their members."""
    active = list(users)
    names = {d["code"]: d["name"] for d in departments}
    groups: dict[str, list[dict[str, str]]] = {}
    for u in active:
        groups.setdefault(u["department"], []).append({"jid": f"{u['id']}@{domain}", "name": u["name"]})
    rooms = []
    for r in room_list:
        members = [
            f"{u['id']}@{domain}"
            for u in active
            if r["ward"] or u["department"] in r["departments"] or set(r["groups"]) & set(u.get("groups") or [])
        ]
        rooms.append({"jid": f"{r['name']}@{rooms_domain}", "title": r["title"], "members": sorted(members)})
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
        return {
            "chat_server_users": chat_server_users,
            "chat_server_room_list": chat_server_room_list,
            "chat_server_state": chat_server_state,
        }
