"""The file server on the whole site: a desktop saves on a share, the write is on the log server.

rdp1 (desktop zone) reaches fs1 (office zone) through the zone router on 445 only; staff log in
with the same password as on the desktop. The client here is Debian's smbclient, installed on rdp1
by this module; the desktops' own client path (a real RDP session mounting its shares through GVfs
with the login's password) is tested in test_remote_desktop.py.
"""

from __future__ import annotations

import shlex
import uuid
from typing import Any

import pytest
from testinfra.host import Host

from lab.state import LabState
from tests.support.hosts import get_host
from tests.support.polling import wait_for

FILE_SERVER = "10.231.35.10"  # fs1's office-zone address
DESKTOP = "rdp1"
DESKTOP_ADDRESS = "10.231.33.10"
LOG_SERVER = "log1"
USER = "sato.taro"  # General Affairs (somu), inventories/lab/group_vars/all/staff.yml
PASSWORD = "Tw-Lab-Passw0rd!"


@pytest.fixture(scope="module")
def desktop(site: LabState) -> Host:
    host = get_host(DESKTOP)
    host.run_test("sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends smbclient")
    host.run_test(
        f"umask 077; printf 'username = %s\\npassword = %s\\n' {USER} {shlex.quote(PASSWORD)} > /tmp/smb-auth-{USER}"
    )
    return host


def smb(desktop: Host, share: str, commands: str) -> Any:
    return desktop.run(f"smbclient //{FILE_SERVER}/{share} -A /tmp/smb-auth-{USER} -c {shlex.quote(commands)} 2>&1")


def stored(marker: str, timeout: float = 60) -> str:
    """Lines on the log server with marker (the pattern does not match its own logged command line)."""
    pattern = shlex.quote(marker[0] + "[" + marker[1] + "]" + marker[2:])
    command = f"sudo grep -rh -- {pattern} /var/log/remote/fs1/"
    return str(wait_for(lambda: get_host(LOG_SERVER).run(command).stdout, timeout, step=1))


def test_tw09_tw13_a_desktop_saves_on_the_department_share_and_the_write_is_on_the_log_server(desktop: Host) -> None:
    name = f"e2e-{uuid.uuid4().hex[:10]}.txt"
    desktop.run_test(f"echo 'saved from the desktop' > /tmp/{name}")
    saved = smb(desktop, "somu", f"put /tmp/{name} {name}; ls {name}")
    assert saved.rc == 0 and name in saved.stdout, saved.stdout
    assert get_host("fs1").file(f"/srv/shares/somu/{name}").content_string == "saved from the desktop\n"
    line = stored(name)
    assert f"smbd_audit: {USER}|{DESKTOP_ADDRESS}|somu|openat|ok|w|/srv/shares/somu/{name}" in line, line


def test_tw13_the_desktop_is_refused_another_departments_share(desktop: Host) -> None:
    assert smb(desktop, "somu", "ls").rc == 0  # positive control
    other = smb(desktop, "zaimu", "ls")
    assert other.rc != 0 and "NT_STATUS_ACCESS_DENIED" in other.stdout, other.stdout


EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def test_tw12_a_test_virus_saved_from_a_desktop_is_quarantined_and_the_finding_is_on_the_log_server(
    desktop: Host,
) -> None:
    """The lab's signatures are the inventory's own (inventories/lab/group_vars/file_server.yml: EICAR)."""
    name = f"e2e-av-{uuid.uuid4().hex[:10]}"
    desktop.run_test(f"printf %s {shlex.quote(EICAR)} > /tmp/{name}.com; echo clean > /tmp/{name}.txt")
    saved = smb(desktop, "somu", f"put /tmp/{name}.com {name}.com; put /tmp/{name}.txt {name}.txt")
    assert saved.rc == 0, saved.stdout
    fs1 = get_host("fs1")
    fs1.run_test("sudo systemctl start tw-malware-scan.service")  # as its nightly timer does
    line = stored(f"path={name}.com")
    assert f"malware found share=somu path={name}.com signature=TW-Lab-EICAR.UNOFFICIAL quarantined=" in line, line
    listing = smb(desktop, "somu", f"ls {name}*").stdout
    assert f"{name}.txt" in listing and f"{name}.com" not in listing, listing  # the clean file beside it stays
