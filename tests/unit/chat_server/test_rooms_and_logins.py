"""Who may log in and who is in which room: the chat_server role's filters (chat_server.py, staff_rooms.py).

Prosody's telework modules read these results (staff.json): a mistake here lets a disabled user
log in or puts staff in another department's room, so each rule has its case.
"""

from __future__ import annotations

from typing import Any

from tests.support.modules import load_filter

filters = load_filter("chat_server")
rooms_filters = load_filter("staff_rooms")  # shared with web_meeting

DEPARTMENTS = [
    {"code": "somu", "name": "総務課", "name_en": "General Affairs"},
    {"code": "zaimu", "name": "財政課", "name_en": "Finance"},
]
USERS: list[dict[str, Any]] = [
    {"id": "sato.taro", "name": "佐藤 太郎", "department": "somu", "groups": ["telework"], "state": "active"},
    {"id": "tanaka.yui", "name": "田中 結衣", "department": "somu", "groups": [], "state": "active"},
    {"id": "kato.mai", "name": "加藤 舞", "department": "zaimu", "groups": ["kikaku"], "state": "active"},
    {"id": "ito.jiro", "name": "伊藤 次郎", "department": "zaimu", "groups": ["kikaku"], "state": "disabled"},
]
WARD = {"name": "zencho", "title": "全庁"}


def state(users: list[dict[str, Any]] | None = None, rooms: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    active = rooms_filters.staff_members(USERS if users is None else users)
    room_list = rooms_filters.staff_room_list(DEPARTMENTS, WARD, True, rooms or [], active)
    result: dict[str, Any] = filters.chat_server_state(active, DEPARTMENTS, room_list, "chat.x.jp", "rooms.chat.x.jp")
    return result


def members(result: dict[str, Any], room: str) -> list[str]:
    return next(r["members"] for r in result["rooms"] if r["jid"] == f"{room}@rooms.chat.x.jp")


def test_every_active_member_may_log_in_office_staff_included_and_no_disabled_one() -> None:
    assert state()["active"] == ["kato.mai", "sato.taro", "tanaka.yui"]


def test_an_account_group_narrows_who_may_log_in() -> None:
    assert [u["id"] for u in rooms_filters.staff_members(USERS, "telework")] == ["sato.taro"]


def test_department_rooms_take_their_active_members_only() -> None:
    result = state()
    assert members(result, "somu") == ["sato.taro@chat.x.jp", "tanaka.yui@chat.x.jp"]
    assert members(result, "zaimu") == ["kato.mai@chat.x.jp"]  # ito.jiro is disabled


def test_the_ward_room_takes_everyone_active() -> None:
    assert members(state(), "zencho") == ["kato.mai@chat.x.jp", "sato.taro@chat.x.jp", "tanaka.yui@chat.x.jp"]


def test_a_room_of_groups_and_departments_takes_both_and_no_one_else() -> None:
    result = state(rooms=[{"name": "kikaku", "title": "企画", "groups": ["kikaku"], "departments": []}])
    assert members(result, "kikaku") == ["kato.mai@chat.x.jp"]
    both = state(rooms=[{"name": "kikaku", "title": "企画", "groups": ["kikaku"], "departments": ["somu"]}])
    assert members(both, "kikaku") == ["kato.mai@chat.x.jp", "sato.taro@chat.x.jp", "tanaka.yui@chat.x.jp"]


def test_no_ward_room_and_no_department_rooms_when_turned_off() -> None:
    rooms = rooms_filters.staff_room_list(DEPARTMENTS, {"name": "", "title": ""}, False, [])
    assert rooms == []


def test_roster_groups_are_named_in_japanese_and_list_active_staff_only() -> None:
    groups = state()["roster_groups"]
    assert groups == [
        {
            "name": "総務課",
            "members": [
                {"jid": "sato.taro@chat.x.jp", "name": "佐藤 太郎"},
                {"jid": "tanaka.yui@chat.x.jp", "name": "田中 結衣"},
            ],
        },
        {"name": "財政課", "members": [{"jid": "kato.mai@chat.x.jp", "name": "加藤 舞"}]},
    ]


def test_disabling_a_user_takes_them_out_of_every_room_and_roster() -> None:
    users = [{**u, "state": "disabled"} if u["id"] == "kato.mai" else u for u in USERS]
    result = state(users)
    assert "kato.mai" not in result["active"]
    assert all("kato.mai@chat.x.jp" not in r["members"] for r in result["rooms"])
    assert all(m["jid"] != "kato.mai@chat.x.jp" for g in result["roster_groups"] for m in g["members"])
