"""Filters of the file_server role: the shares and who may open them, from the staff list.

One place turns the inventory (departments, extra shares, the staff list) into what smb.conf,
the preflight and the Samba account tool read, so the three never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

ACCESS_KEYS = ("write_departments", "write_groups", "read_departments", "read_groups")


def file_server_share_list(
    departments: Iterable[Mapping[str, Any]],
    shares: Iterable[Mapping[str, Any]],
    root: str,
    group_prefix: str,
    department_shares: bool = True,
) -> list[dict[str, Any]]:
    """Every share, complete: the department shares (one per department, its members write) first."""
    listed: list[Mapping[str, Any]] = []
    if department_shares:
        listed += [{"name": d["code"], "comment": d["name_en"], "write_departments": [d["code"]]} for d in departments]
    listed += list(shares)
    result: list[dict[str, Any]] = []
    for share in listed:
        entry: dict[str, Any] = {
            "name": share["name"],
            "comment": share.get("comment") or share["name"],
            "path": share.get("path") or f"{str(root).rstrip('/')}/{share['name']}",
            "group": f"{group_prefix}{share['name']}",
        }
        for key in ACCESS_KEYS:
            entry[key] = list(share.get(key) or [])
        result.append(entry)
    return result


def file_server_access(
    share_list: Iterable[Mapping[str, Any]], users: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, list[str]]]:
    """share name -> {"write": ids, "read": ids} of the given (active) users; write wins over read."""
    users = list(users)
    access: dict[str, dict[str, list[str]]] = {}
    for share in share_list:
        write, read = [], []
        for user in users:
            groups = set(user.get("groups") or [])
            if user["department"] in share["write_departments"] or groups & set(share["write_groups"]):
                write.append(user["id"])
            elif user["department"] in share["read_departments"] or groups & set(share["read_groups"]):
                read.append(user["id"])
        access[share["name"]] = {"write": sorted(write), "read": sorted(read)}
    return access


def file_server_passdb_users(users: Iterable[Mapping[str, Any]], nt_hashes: Mapping[str, str]) -> dict[str, str]:
    """id -> NT hash (lower case) of the given users that have one."""
    return {u["id"]: str(nt_hashes[u["id"]]).lower() for u in users if u["id"] in nt_hashes}


def file_server_overlapping(folders: Iterable[str], others: Iterable[str]) -> list[str]:
    """ "a and b" for every folder of `folders` that is one of `others`, inside one or holds one."""
    others = list(others)
    found = []
    for folder in folders:
        mine = folder.rstrip("/") + "/"
        for other in others:
            theirs = other.rstrip("/") + "/"
            if mine.startswith(theirs) or theirs.startswith(mine):
                found.append(f"{folder} and {other}")
    return found


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "file_server_share_list": file_server_share_list,
            "file_server_access": file_server_access,
            "file_server_passdb_users": file_server_passdb_users,
            "file_server_overlapping": file_server_overlapping,
        }
