"""Who may open which share: the file_server role's filters (ansible/plugins/filter/file_server.py).

smb.conf's `valid users` and `write list`, the preflight and the Samba account tool all read
these results, so a mistake here opens a share to the wrong people: each rule has its case.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

PLUGIN = Path(__file__).resolve().parents[3] / "ansible" / "plugins" / "filter" / "file_server.py"
_spec = importlib.util.spec_from_file_location("filter_file_server", PLUGIN)
assert _spec is not None and _spec.loader is not None
filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(filters)
file_server_access = filters.file_server_access
file_server_passdb_users = filters.file_server_passdb_users
file_server_share_list = filters.file_server_share_list

DEPARTMENTS = [
    {"code": "somu", "name": "総務課", "name_en": "General Affairs"},
    {"code": "zaimu", "name": "財政課", "name_en": "Finance"},
]
USERS = [
    {"id": "sato.taro", "department": "somu", "groups": ["telework"], "state": "active"},
    {"id": "tanaka.yui", "department": "somu", "groups": [], "state": "active"},
    {"id": "suzuki.hanako", "department": "zaimu", "groups": ["telework"], "state": "active"},
    {"id": "kato.mai", "department": "zaimu", "groups": [], "state": "active"},
]
COMMON = {"name": "kyotsu", "write_departments": ["somu"], "read_groups": ["telework"]}


def shares(*extra: dict[str, Any], department_shares: bool = True) -> list[dict[str, Any]]:
    return file_server_share_list(DEPARTMENTS, list(extra), "/srv/shares/", "tw-share-", department_shares)


def test_one_share_per_department_then_the_inventorys_own_with_path_group_and_comment() -> None:
    listed = shares(COMMON)
    assert [s["name"] for s in listed] == ["somu", "zaimu", "kyotsu"]
    somu = listed[0]
    assert somu["path"] == "/srv/shares/somu" and somu["group"] == "tw-share-somu"
    assert somu["comment"] == "General Affairs" and somu["write_departments"] == ["somu"]
    assert listed[2]["comment"] == "kyotsu" and listed[2]["read_departments"] == []


def test_a_share_may_name_its_own_path() -> None:
    listed = shares({**COMMON, "path": "/data/kyotsu"})
    assert listed[-1]["path"] == "/data/kyotsu"


def test_without_department_shares_only_the_inventorys_shares_remain() -> None:
    assert [s["name"] for s in shares(COMMON, department_shares=False)] == ["kyotsu"]


def test_members_write_their_department_share_and_no_one_else_gets_in() -> None:
    access = file_server_access(shares(), USERS)
    assert access["somu"] == {"write": ["sato.taro", "tanaka.yui"], "read": []}
    assert access["zaimu"] == {"write": ["kato.mai", "suzuki.hanako"], "read": []}


def test_readers_come_from_groups_and_a_writer_is_never_also_a_reader() -> None:
    access = file_server_access(shares(COMMON), USERS)
    # sato.taro is a telework member (a reader) and in somu (a writer): write wins
    assert access["kyotsu"] == {"write": ["sato.taro", "tanaka.yui"], "read": ["suzuki.hanako"]}


def test_only_the_users_given_count() -> None:
    # the role passes the active users of the host: a disabled user is simply not there
    active = [u for u in USERS if u["id"] != "tanaka.yui"]
    assert file_server_access(shares(), active)["somu"]["write"] == ["sato.taro"]


def test_samba_accounts_are_the_given_users_with_a_hash_in_lower_case() -> None:
    hashes = {"sato.taro": "E2B064A9541E528A57430A03EE3A9E7B", "ito.jiro": "e2b064a9541e528a57430a03ee3a9e7b"}
    assert file_server_passdb_users(USERS, hashes) == {"sato.taro": "e2b064a9541e528a57430a03ee3a9e7b"}
