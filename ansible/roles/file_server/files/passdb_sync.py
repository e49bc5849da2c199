#!/usr/bin/python3
"""Keep Samba's accounts in step with the staff list, and end connections that lost their access.

Installed by the file_server role as /usr/local/sbin/file-server-passdb; the role runs
`file-server-passdb sync [--check]` with one JSON request on stdin (it carries NT hashes, so it is
never an argument and the role hides it from Ansible's log):

    {"users": {"id": "<nt hash>", ...},          # the active staff of this host
     "known": ["id", ...],                        # every id of the staff list, any state
     "managed_group": "tw-staff",                 # Unix group of the accounts telework_users manages
     "access": {"share": {"write": [ids], "read": [ids]}, ...},
     "kill": true}

- every user of "users" gets a Samba account with that NT hash, enabled;
- every other Samba account of a known id or of a member of managed_group is removed (a user who
  was disabled or left the list: the staff list is the only source of who may log in);
- with "kill", every connection of a removed user, and every connection to a share of "access"
  held by a user who may no longer open it, is ended (SIGTERM to its smbd process, then SIGKILL).

It prints one JSON line, {"changed": ["what", ...]}, and never a hash. `--check` reports what it
would change and changes nothing. `file-server-passdb status` prints the Samba accounts and the
open connections (user, share, client, cipher) for operators.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from typing import Any

PDBEDIT = "/usr/bin/pdbedit"
SMBSTATUS = "/usr/bin/smbstatus"


def run(argv: list[str], stdin: str | None = None) -> str:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
    return proc.stdout


def accounts() -> dict[str, dict[str, Any]]:
    """Samba accounts: name -> {"nt": hash, "disabled": bool} (pdbedit -L -w: name:uid:lm:nt:[flags]:lct:)."""
    found: dict[str, dict[str, Any]] = {}
    for line in run([PDBEDIT, "--list", "--smbpasswd-style"]).splitlines():
        fields = line.split(":")
        if len(fields) < 5:
            continue
        found[fields[0]] = {"nt": fields[3].lower(), "disabled": "D" in fields[4].strip("[]")}
    return found


def connections() -> list[dict[str, Any]]:
    """Open connections: one entry per session, with the shares it has open."""
    out = run([SMBSTATUS, "--json"])
    data = json.loads(out) if out.strip() else {}
    sessions = data.get("sessions") or {}
    tcons = data.get("tcons") or {}
    result: list[dict[str, Any]] = []
    for sid, session in sessions.items():
        user = str(session.get("username", "")).split("\\")[-1].lower()
        pid = int((session.get("server_id") or {}).get("pid", 0))
        shares = sorted(
            {
                str(t.get("service", ""))
                for t in tcons.values()
                if str(t.get("session_id", "")) == str(session.get("session_id", sid))
                and int((t.get("server_id") or {}).get("pid", 0)) == pid
            }
        )
        result.append(
            {
                "user": user,
                "pid": pid,
                "shares": shares,
                "client": session.get("remote_machine", ""),
                "dialect": session.get("session_dialect", ""),
                "cipher": (session.get("encryption") or {}).get("cipher", ""),
            }
        )
    return result


def end_process(pid: int) -> None:
    """SIGTERM, then SIGKILL after 5 s: one smbd process serves one client connection."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def managed_members(group: str) -> set[str]:
    try:
        return set(grp.getgrnam(group).gr_mem)
    except KeyError:
        return set()


def sync(request: dict[str, Any], check: bool) -> list[str]:
    wanted: dict[str, str] = {u: h.lower() for u, h in request["users"].items()}
    known = set(request.get("known", [])) | managed_members(request.get("managed_group", "tw-staff"))
    access: dict[str, dict[str, list[str]]] = request.get("access", {})
    changed: list[str] = []
    current = accounts()

    for user, nt in sorted(wanted.items()):
        have = current.get(user)
        if have is None:
            changed.append(f"add {user}")
            if not check:
                # A random password first (pdbedit asks for one), replaced by the staff list's hash at once.
                throwaway = secrets.token_urlsafe(24)
                run([PDBEDIT, "--create", "--user", user, "--password-from-stdin"], stdin=f"{throwaway}\n{throwaway}\n")
                run([PDBEDIT, "--user", user, "--set-nt-hash", nt])
            continue
        if have["nt"] != nt:
            changed.append(f"password {user}")
            if not check:
                run([PDBEDIT, "--user", user, "--set-nt-hash", nt])
        if have["disabled"]:
            changed.append(f"enable {user}")
            if not check:
                run([PDBEDIT, "--user", user, "--account-control", "[U]"])

    removed = sorted(u for u in current if u in known and u not in wanted)
    for user in removed:
        changed.append(f"remove {user}")
        if not check:
            run([PDBEDIT, "--delete", "--user", user])

    if request.get("kill", True):
        for conn in connections():
            user = conn["user"]
            lost = [s for s in conn["shares"] if s in access and user not in access[s]["write"] + access[s]["read"]]
            if (user in known and user not in wanted) or lost:
                why = f"shares {', '.join(lost)}" if lost and user in wanted else "account"
                changed.append(f"end connection of {user} from {conn['client']} (lost: {why})")
                if not check and conn["pid"] > 0:
                    end_process(conn["pid"])
    return changed


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "status":
        print(json.dumps({"accounts": sorted(accounts()), "connections": connections()}, indent=2))
        return 0
    if not argv or argv[0] != "sync" or any(a not in ("sync", "--check") for a in argv):
        print("usage: file-server-passdb sync [--check] < request.json | file-server-passdb status", file=sys.stderr)
        return 2
    try:
        request = json.load(sys.stdin)
        if not isinstance(request.get("users"), dict):
            raise ValueError('"users" must be a mapping of id to NT hash')
    except (ValueError, AttributeError) as exc:
        print(f"file-server-passdb: the request on stdin is not valid: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"changed": sync(request, "--check" in argv)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
