"""Check mode changes nothing on converged hosts; bad input stops the play before any host changes."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import converge_check, run_playbook
from lab_hosts import SERVER_NAME

testinfra_hosts = [f"ansible://{SERVER_NAME}"]

MANAGED = "/etc/rsyslog.conf /etc/rsyslog.d/50-log-server.conf /etc/default/log-server"


def test_check_mode_on_converged_hosts_reports_no_change() -> None:
    assert converge_check() == {"log1": 0, "client1": 0}


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"log_server_retention_days": 0}, "log_server_retention_days"),
        ({"log_server_retention_days": "forever"}, "log_server_retention_days"),
        ({"log_server_port": 70000}, "log_server_port"),
        ({"log_server_tls_min_version": "TLSv1.1"}, "log_server_tls_min_version"),
        ({"log_server_disk_guard_threshold_percent": 100}, "log_server_disk_guard_threshold_percent"),
        ({"log_server_manifest_on_calendar": "every other tuesday"}, "log_server_manifest_on_calendar"),
        ({"log_server_firewall_enabled": True, "log_server_firewall_from_zones": ["moon"]}, "from_zones"),
        ({"log_forwarding_input": "imfile"}, "log_forwarding_input"),
        ({"log_forwarding_servers": []}, "log_forwarding_servers"),
        ({"log_forwarding_servers": [{"host": "10.231.34.10", "port": 0}]}, "log_forwarding_servers[0]"),
        ({"log_forwarding_relp_window_size": "big"}, "log_forwarding_relp_window_size"),
        ({"site_pki_key_algorithm": "dsa-1024"}, "site_pki_key_algorithm"),
    ],
)
def test_bad_input_stops_the_play_before_any_host_changes(host, bad: dict[str, Any], named: str) -> None:
    before = host.check_output(f"sha256sum {MANAGED}")
    proc = run_playbook("converge.yml", extra_vars=bad)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert named in output, output[-3000:]
    assert "changed=0" in output
    assert "changed=1" not in output and "changed=2" not in output
    assert host.check_output(f"sha256sum {MANAGED}") == before
