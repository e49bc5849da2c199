"""Check mode changes nothing on converged hosts; bad input stops the play before any host changes."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import bad_input_batch, converge_check
from lab_hosts import CLIENT_NAME, SERVER_NAME

from tests.support.bad_input import Case, CaseResult, assert_refused

testinfra_hosts = [f"ansible://{SERVER_NAME}"]

MANAGED = {
    SERVER_NAME: "/etc/rsyslog.conf /etc/rsyslog.d/50-log-server.conf /etc/default/log-server /etc/rsyslog-tls/*",
    CLIENT_NAME: "/etc/rsyslog.conf /etc/rsyslog-tls/*",
}


def test_check_mode_on_converged_hosts_reports_no_change() -> None:
    assert converge_check() == {"log1": 0, "client1": 0}


# (variables, text the error must contain, the host the role runs on: the case is limited to it)
BAD_INPUT: list[tuple[dict[str, Any], str, str]] = [
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
]


@pytest.fixture(scope="module")
def bad_input() -> list[CaseResult]:
    """Every case in one run of both converge plays, each case on its own host."""
    cases = [Case(bad, named, hosts=(target,)) for bad, named, target in BAD_INPUT]
    return bad_input_batch("converge.yml", cases, watch={name: f"sha256sum {files}" for name, files in MANAGED.items()})


@pytest.mark.parametrize(("bad", "named", "target"), BAD_INPUT)
def test_bad_input_stops_the_play_before_any_host_changes(
    bad_input: list[CaseResult], bad: dict[str, Any], named: str, target: str
) -> None:
    outcome = bad_input[BAD_INPUT.index((bad, named, target))]
    assert outcome.ran_on == [target], outcome.label
    assert_refused(outcome, named)
