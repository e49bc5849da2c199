"""The revocation fast path on the lab site: `site.yml --tags staff` alone applies the staff list.

Disabling a teleworker in the staff list and running only the `staff` tag cuts their open VPN
session, refuses their next connection, locks their desktop account and removes their Samba account
on the file server; running it again with
the list as it was lets them back in. A broken staff list stops the tagged run before any host
changes (TW-13, TW-05). Run after `make lab`, as root:

    .venv/bin/python -m pytest -q tests/lab/test_staff.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import INVENTORY, ROOT, VPN

from lab.state import LabState
from tests.support.hosts import get_host
from tests.support.vpn_client import READY

USER = "suzuki.hanako"  # an active member of the telework group (inventories/lab/group_vars/all/staff.yml)
CLIENT, GATEWAY = VPN.client, VPN.gateway
SESSION = "staff"  # the client's unit: vpntest-staff
RECAP_CHANGED = "changed="


def staff_list() -> list[dict[str, Any]]:
    doc = yaml.safe_load((INVENTORY / "group_vars" / "all" / "staff.yml").read_text())
    users: list[dict[str, Any]] = doc["telework_users"]
    return users


def staff_run(tmp_path: Path, users: list[dict[str, Any]] | None) -> subprocess.CompletedProcess[str]:
    """ansible-playbook site.yml --tags staff, with the staff list replaced when users is given."""
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(INVENTORY), "ansible/site.yml"]
    argv += ["--tags", "staff"]
    if users is not None:
        extra = tmp_path / "staff.json"
        extra.write_text(json.dumps({"telework_users": users}, ensure_ascii=False))
        argv += ["-e", f"@{extra}"]
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible" / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


def changed(output: str) -> dict[str, int]:
    counts = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] == ":" and parts[3].startswith(RECAP_CHANGED):
            counts[parts[0]] = int(parts[3].removeprefix(RECAP_CHANGED))
    return counts


def samba_accounts() -> list[str]:
    """The Samba accounts of the file server fs1."""
    return get_host("fs1").check_output("sudo pdbedit -L | cut -d: -f1").split()


def account_state(user: str) -> str:
    """P (usable password), L (locked) or NP, as `passwd -S` reports it on rdp1."""
    return get_host("rdp1").check_output(f"sudo passwd -S {user}").split()[1]


@pytest.fixture(scope="module")
def client_tools(site: LabState) -> None:
    VPN.install_client_tools()


@pytest.fixture
def restore_list(tmp_path: Path) -> Iterator[None]:
    """Whatever a test does to the staff list, the site gets the real list back afterwards."""
    yield
    proc = staff_run(tmp_path, None)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_tw13_tw05_one_staff_run_revokes_vpn_and_desktop_and_a_second_restores_them(
    client_tools: None, restore_list: None, tmp_path: Path
) -> None:
    # Positive control: the user is in, on the VPN and on the desktop host.
    assert account_state(USER) == "P"
    assert USER in samba_accounts()
    session = VPN.connect(USER, SESSION)
    assert session.running()
    old_profile, old_secret = VPN.profile(USER), VPN.secret(USER)  # what the user keeps on their PC

    disabled = [dict(u, state="disabled") if u["id"] == USER else u for u in staff_list()]
    since = int(time.time()) - 1
    proc = staff_run(tmp_path, disabled)
    assert proc.returncode == 0, proc.stdout[-3000:]
    counts = changed(proc.stdout)
    assert counts.get(GATEWAY, 0) > 0 and counts.get("rdp1", 0) > 0 and counts.get("fs1", 0) > 0, counts

    # The gateway ended the open session during the run (the client only notices at its next
    # keep-alive, so the test stops it), a new connection is refused at the certificate (the CRL),
    # the desktop account is locked.
    ended = f"sudo journalctl -t vpn-session --since @{since} --no-pager -o cat"
    assert f"event=disconnect user={USER}" in get_host(GATEWAY).check_output(ended), proc.stdout[-3000:]
    session.stop()
    attempted = time.time()
    refused = VPN.attempt("staff-refused", old_profile, USER, VPN.fresh_code(USER, old_secret))
    assert READY not in refused, refused[-2000:]
    assert re.search(r"VERIFY ERROR.*certificate revoked", VPN.server_log(attempted)), refused[-2000:]
    assert account_state(USER) == "L"
    assert USER not in samba_accounts()  # the file server: no Samba account, no share

    # The list as it is: the user is back (a new certificate, an unlocked account).
    proc = staff_run(tmp_path, None)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert account_state(USER) == "P"
    assert USER in samba_accounts()
    back = VPN.connect(USER, SESSION)
    assert back.running()
    back.stop()


def test_tw13_staff_run_with_a_broken_list_stops_before_any_host_changes(site: LabState, tmp_path: Path) -> None:
    crl = "sudo sha256sum /etc/openvpn/server/telework/crl.pem /etc/shadow"
    before_gw = get_host(GATEWAY).check_output(crl)
    before_rdp = get_host("rdp1").check_output("sudo sha256sum /etc/shadow /etc/group")
    samba = "sudo sha256sum /etc/samba/smb.conf; sudo pdbedit -L -w | sort"
    before_fs = get_host("fs1").check_output(samba)
    users = staff_list()
    broken = [*users, dict(users[0])]  # the same id twice
    proc = staff_run(tmp_path, broken)
    assert proc.returncode != 0
    assert "duplicate id" in proc.stdout, proc.stdout[-3000:]
    counts = changed(proc.stdout)
    assert counts and not any(counts.values()), counts
    assert get_host(GATEWAY).check_output(crl) == before_gw
    assert get_host("rdp1").check_output("sudo sha256sum /etc/shadow /etc/group") == before_rdp
    assert get_host("fs1").check_output(samba) == before_fs
