"""TW-09 on the whole site: every managed host's logs reach the log server, sealed by day."""

from __future__ import annotations

import time
import uuid

import pytest
from conftest import lab_host

from lab.state import LabState

LOG_SERVER = "log1"


def managed_hosts(site: LabState) -> list[str]:
    return sorted(name for name, hs in site.hosts.items() if "home_pc" not in hs.groups)


def stored_lines(marker: str) -> str:
    """Stored lines containing marker. The pattern is written so that it does not match itself:
    sudo logs this grep's command line, and that log line is stored on the log server too."""
    pattern = marker[0] + "[" + marker[1] + "]" + marker[2:]
    return lab_host(LOG_SERVER).run(f"sudo grep -rhE -- '{pattern}' /var/log/remote/").stdout


def test_tw09_every_managed_host_delivers_its_logs_to_the_log_server(site: LabState) -> None:
    marker = f"tw09-{uuid.uuid4().hex[:12]}"
    hosts = managed_hosts(site)
    for name in hosts:
        assert lab_host(name).run(f"logger -p authpriv.notice -t e2e {marker}-{name}").rc == 0
    deadline = time.monotonic() + 60
    missing = hosts
    while missing and time.monotonic() < deadline:
        got = stored_lines(marker)
        missing = [n for n in hosts if f"{marker}-{n}" not in got]
        if missing:
            time.sleep(1)
    assert not missing, f"no log line from {missing} on {LOG_SERVER}"


def test_tw09_each_host_is_stored_under_its_own_name(site: LabState) -> None:
    listing = lab_host(LOG_SERVER).run("sudo ls /var/log/remote/").stdout.split()
    for name in managed_hosts(site):
        assert name in listing


@pytest.mark.parametrize("src", ["rdp1", "fs1"])
def test_tw08_plain_syslog_to_the_log_server_is_not_stored(site: LabState, src: str) -> None:
    token = uuid.uuid4().hex[:12]
    marker = f"plain-{token}"
    # The marker is put together on the host, so the (logged) command line does not contain it.
    lab_host(src).run(
        f"M=$(printf 'plain-%s' {token}); "
        f"timeout 3 bash -c \"echo '<13>1 - {src} e2e - - - $M' > /dev/tcp/10.231.34.10/6514\" 2>/dev/null; true"
    )
    time.sleep(2)
    assert marker not in stored_lines(marker)


def test_tw09_the_manifest_of_the_stored_logs_verifies(site: LabState) -> None:
    log = lab_host(LOG_SERVER)
    assert log.run("sudo log-manifest seal").rc == 0
    proc = log.run("sudo log-manifest verify")
    assert proc.rc == 0, proc.stdout + proc.stderr
