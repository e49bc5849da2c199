"""TW-09 on the whole site: every managed host's logs reach the log server, sealed by day."""

from __future__ import annotations

import time
import uuid

import pytest

from lab.state import LabState
from tests.support.hosts import get_host
from tests.support.plain_syslog import plain_send

LOG_SERVER = "log1"


def managed_hosts(site: LabState) -> list[str]:
    return sorted(name for name, hs in site.hosts.items() if "home_pc" not in hs.groups)


def stored_lines(marker: str) -> str:
    """Stored lines containing marker. The pattern is written so that it does not match itself:
    sudo logs this grep's command line, and that log line is stored on the log server too."""
    pattern = marker[0] + "[" + marker[1] + "]" + marker[2:]
    return get_host(LOG_SERVER).run(f"sudo grep -rhE -- '{pattern}' /var/log/remote/").stdout


def test_tw09_every_managed_host_delivers_its_logs_to_the_log_server(site: LabState) -> None:
    marker = f"tw09-{uuid.uuid4().hex[:12]}"
    hosts = managed_hosts(site)
    for name in hosts:
        assert get_host(name).run(f"logger -p authpriv.notice -t e2e {marker}-{name}").rc == 0
    deadline = time.monotonic() + 60
    missing = hosts
    while missing and time.monotonic() < deadline:
        got = stored_lines(marker)
        missing = [n for n in hosts if f"{marker}-{n}" not in got]
        if missing:
            time.sleep(1)
    assert not missing, f"no log line from {missing} on {LOG_SERVER}"


def test_tw09_each_host_is_stored_under_its_own_name(site: LabState) -> None:
    listing = get_host(LOG_SERVER).run("sudo ls /var/log/remote/").stdout.split()
    for name in managed_hosts(site):
        assert name in listing


def wait_for_stored(marker: str, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    got = stored_lines(marker)
    while text not in got and time.monotonic() < deadline:
        time.sleep(1)
        got = stored_lines(marker)
    return got


@pytest.mark.parametrize("src", ["rdp1", "fs1"])
def test_tw08_plain_syslog_to_the_log_server_is_not_stored(site: LabState, src: str) -> None:
    token = uuid.uuid4().hex[:12]
    marker = f"plain-{token}"
    # The marker is put together on the host, so the (logged) command line does not contain it.
    with_marker = f"M=$(printf 'plain-%s' {token}); "
    host = get_host(src)
    # Positive control: the marker, forwarded the way the site does it (RELP over TLS), is stored
    # and found by the search that must find nothing of the plain sends below.
    assert host.run(with_marker + 'logger -p authpriv.notice -t e2e "$M forwarded"').rc == 0
    assert f"{marker} forwarded" in wait_for_stored(marker, f"{marker} forwarded")
    source = site.hosts[src].interfaces[next(iter(site.hosts[src].interfaces))].split("/")[0]
    log = get_host(LOG_SERVER)
    since = log.check_output("date '+%Y-%m-%d %H:%M:%S'")
    # Plain syslog, and RELP without TLS, to the RELP/TLS port: each is sent (the zone router lets
    # the port through), and the server drops the connection at the TLS handshake.
    for kind in ("syslog", "relp"):
        sent = host.run(with_marker + f'M="$M plain-{kind}"; ' + plain_send("10.231.34.10", 6514, kind))
        assert sent.rc == 0, f"the plain {kind} send from {src} did not happen: {sent.stdout} {sent.stderr}"
    time.sleep(2)
    journal = log.run(f"sudo journalctl -u rsyslog --since '{since}' --no-pager").stdout
    refused = [line for line in journal.splitlines() if "TLS handshake failed" in line and f"clt {source}/" in line]
    assert len(refused) >= 2, f"log1 did not see both plain sends from {src} ({source}):\n{journal[-2000:]}"
    stored = stored_lines(marker)
    assert "plain-syslog" not in stored and "plain-relp" not in stored, stored


def test_tw09_the_manifest_of_the_stored_logs_verifies(site: LabState) -> None:
    log = get_host(LOG_SERVER)
    assert log.run("sudo log-manifest seal").rc == 0
    proc = log.run("sudo log-manifest verify")
    assert proc.rc == 0, proc.stdout + proc.stderr
