"""Check mode changes nothing on converged hosts; bad input stops the play before any host changes."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import converge_check, recap, run_playbook
from lab_hosts import CLIENT_NAME, SERVER_NAME

from tests.support.hosts import get_host

testinfra_hosts = [f"ansible://{SERVER_NAME}"]

MANAGED = {
    SERVER_NAME: "/etc/rsyslog.conf /etc/rsyslog.d/50-log-server.conf /etc/default/log-server /etc/rsyslog-tls/*",
    CLIENT_NAME: "/etc/rsyslog.conf /etc/rsyslog-tls/*",
}


def managed_files() -> dict[str, str]:
    return {name: get_host(name).check_output(f"sha256sum {files}") for name, files in MANAGED.items()}


def test_check_mode_on_converged_hosts_reports_no_change() -> None:
    assert converge_check() == {"log1": 0, "client1": 0}


# (variables, text the error must contain, the host the role runs on: the play is limited to it)
@pytest.mark.parametrize(
    ("bad", "named", "target"),
    [
        ({"log_server_retention_days": 0}, "log_server_retention_days", SERVER_NAME),
        ({"log_server_retention_days": "forever"}, "log_server_retention_days", SERVER_NAME),
        ({"log_server_port": 70000}, "log_server_port", SERVER_NAME),
        ({"log_server_tls_min_version": "TLSv1.1"}, "log_server_tls_min_version", SERVER_NAME),
        ({"log_server_disk_guard_threshold_percent": 100}, "log_server_disk_guard_threshold_percent", SERVER_NAME),
        ({"log_server_manifest_on_calendar": "every other tuesday"}, "log_server_manifest_on_calendar", SERVER_NAME),
        ({"log_server_firewall_enabled": True, "log_server_firewall_from_zones": ["moon"]}, "from_zones", SERVER_NAME),
        ({"site_pki_key_algorithm": "dsa-1024"}, "site_pki_key_algorithm", SERVER_NAME),
        ({"log_forwarding_input": "imfile"}, "log_forwarding_input", CLIENT_NAME),
        ({"log_forwarding_servers": []}, "log_forwarding_servers", CLIENT_NAME),
        ({"log_forwarding_servers": [{"host": "10.231.34.10", "port": 0}]}, "log_forwarding_servers[0]", CLIENT_NAME),
        ({"log_forwarding_relp_window_size": "big"}, "log_forwarding_relp_window_size", CLIENT_NAME),
        ({"log_forwarding_queue_max_disk_space": "lots"}, "log_forwarding_queue_max_disk_space", CLIENT_NAME),
    ],
)
def test_bad_input_stops_the_play_before_any_host_changes(bad: dict[str, Any], named: str, target: str) -> None:
    before = managed_files()
    proc = run_playbook("converge.yml", "--limit", target, extra_vars=bad)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert named in output, output[-3000:]
    counters = recap(proc.stdout)
    assert counters and all(c["changed"] == 0 for c in counters.values()), output[-3000:]
    assert managed_files() == before
