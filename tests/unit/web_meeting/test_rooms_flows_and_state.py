"""The web_meeting role's filters and the flow checks the meetings need.

- web_meeting.py turns the staff list's rooms into the glue's meeting.json: a mistake here lets a
  disabled user sign in or puts staff in another department's meeting;
- staff_rooms.py is shared with chat_server: one set of rules for who belongs to which room;
- vpn_gateway.py checks the flows that carry the meetings through the VPN (port ranges, single
  hosts), so a wrong range is refused before a firewall is written.
"""

from __future__ import annotations

from typing import Any

from tests.support.modules import load_filter

meeting = load_filter("web_meeting")
rooms = load_filter("staff_rooms")
vpn = load_filter("vpn_gateway")

DEPARTMENTS = [{"code": "somu", "name": "総務課"}, {"code": "zaimu", "name": "財政課"}]
USERS: list[dict[str, Any]] = [
    {"id": "sato.taro", "name": "佐藤 太郎", "department": "somu", "groups": ["telework"], "state": "active"},
    {"id": "kato.mai", "name": "加藤 舞", "department": "zaimu", "groups": ["kikaku"], "state": "active"},
    {"id": "ito.jiro", "name": "伊藤 次郎", "department": "zaimu", "groups": [], "state": "disabled"},
]
WARD = {"name": "zencho", "title": "全庁"}


def state(extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    active = rooms.staff_members(USERS)
    room_list = rooms.staff_room_list(DEPARTMENTS, WARD, True, extra or [], active)
    result: dict[str, Any] = meeting.web_meeting_state(active, room_list, {"janus": "ws://127.0.0.1:8188/"})
    return result


def test_only_active_staff_may_sign_in_with_their_names_from_the_list() -> None:
    assert state()["active"] == {"kato.mai": "加藤 舞", "sato.taro": "佐藤 太郎"}


def test_rooms_take_their_members_and_no_disabled_user() -> None:
    by_name = {r["name"]: r for r in state([{"name": "kikaku", "title": "企画", "groups": ["kikaku"]}])["rooms"]}
    assert by_name["somu"]["members"] == ["sato.taro"]
    assert by_name["zaimu"]["members"] == ["kato.mai"]  # ito.jiro is disabled
    assert by_name["zencho"]["members"] == ["kato.mai", "sato.taro"]
    assert by_name["kikaku"]["members"] == ["kato.mai"]


def test_a_room_keeps_its_number_when_rooms_are_added() -> None:
    before = {r["name"]: r["id"] for r in state()["rooms"]}
    after = {r["name"]: r["id"] for r in state([{"name": "kikaku", "title": "企画", "groups": ["kikaku"]}])["rooms"]}
    assert {k: after[k] for k in before} == before
    assert len(set(after.values())) == len(after)
    assert all(100_000_000 <= i < 1_000_000_000 for i in after.values())


def test_the_settings_pass_through_to_the_glue() -> None:
    assert state()["janus"] == "ws://127.0.0.1:8188/"


def test_duplicates_are_named_once_each() -> None:
    assert rooms.staff_duplicates(["somu", "zaimu", "somu", "kikaku", "somu"]) == ["somu"]
    assert rooms.staff_duplicates(["somu", "zaimu"]) == []


def test_meeting_flows_through_the_vpn_are_accepted_and_wrong_ones_named() -> None:
    zones = {"desktop": ["10.231.33.0/24"], "edge": ["10.231.32.0/24"]}
    good = [
        {"name": "rdp", "to_zones": ["desktop"], "proto": "tcp", "ports": [3389]},
        {"name": "meeting-media", "to_cidrs": ["10.231.32.20/32"], "proto": "udp", "port_ranges": ["20000-20999"]},
    ]
    assert vpn.vpn_gateway_flow_errors(good, zones) == []
    bad = [
        {"name": "a", "to_zones": ["moon"], "ports": [443]},
        {"name": "b", "to_cidrs": ["meet1"], "ports": [443]},
        {"name": "c", "to_cidrs": ["10.231.32.20/32"], "port_ranges": ["21000-20000"]},
        {"name": "d", "to_cidrs": ["10.231.32.20/32"]},
        {"name": "e", "ports": [443]},
    ]
    errors = vpn.vpn_gateway_flow_errors(bad, zones)
    assert any("flow a: to_zones moon" in e for e in errors), errors
    assert any("flow b: to_cidrs meet1" in e for e in errors), errors
    assert any("flow c: ports 21000-20000" in e for e in errors), errors
    assert any("flow d: no ports" in e for e in errors), errors
    assert any("flow e: no destination" in e for e in errors), errors


def test_port_ranges_need_first_below_last_within_the_port_space() -> None:
    assert vpn.port_ranges_invalid(["20000-20999", "1-2"]) == []
    assert vpn.port_ranges_invalid(["0-10", "5-5", "60000-70000", "20000", "a-b"]) == [
        "0-10",
        "5-5",
        "60000-70000",
        "20000",
        "a-b",
    ]
