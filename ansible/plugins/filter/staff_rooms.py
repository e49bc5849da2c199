"""Rooms from the staff list, for every service that has them (chat_server, web_meeting).

One place turns the inventory (departments, a ward-wide room, extra rooms by department or group,
the staff list) into rooms and their members, so that chat rooms and meeting rooms never
disagree about who belongs where.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any


def staff_members(users: Iterable[Mapping[str, Any]], account_group: str = "") -> list[Mapping[str, Any]]:
    """The active staff who may use a service: every active member, or those in account_group."""
    return [
        u
        for u in users
        if u.get("state") == "active" and (not account_group or account_group in (u.get("groups") or []))
    ]


def staff_room_list(
    departments: Iterable[Mapping[str, Any]],
    ward_room: Mapping[str, Any],
    department_rooms: bool,
    rooms: Iterable[Mapping[str, Any]],
    users: Iterable[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Every room, complete: department rooms, the ward room, then the extra rooms.

    Each has name, title, departments, groups, ward (everyone) and members: the ids of `users`
    (pass the active ones) who belong to it, sorted.
    """
    result: list[dict[str, Any]] = []
    if department_rooms:
        for d in departments:
            code = d["code"]
            result.append({"name": code, "title": d["name"], "departments": [code], "groups": [], "ward": False})
    if ward_room.get("name"):
        title = ward_room.get("title") or ward_room["name"]
        result.append({"name": ward_room["name"], "title": title, "departments": [], "groups": [], "ward": True})
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
    people = list(users)
    for room in result:
        room["members"] = sorted(u["id"] for u in people if _belongs(u, room))
    return result


def staff_duplicates(names: Iterable[str]) -> list[str]:
    """The names given more than once, sorted (a room name used twice, for the error message)."""
    seen: set[str] = set()
    twice: set[str] = set()
    for n in names:
        (twice if n in seen else seen).add(n)
    return sorted(twice)


def _belongs(user: Mapping[str, Any], room: Mapping[str, Any]) -> bool:
    """Everyone belongs to the ward room; others by department or by group."""
    groups = set(user.get("groups") or [])
    return bool(room["ward"] or user["department"] in room["departments"] or set(room["groups"]) & groups)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "staff_members": staff_members,
            "staff_room_list": staff_room_list,
            "staff_duplicates": staff_duplicates,
        }
