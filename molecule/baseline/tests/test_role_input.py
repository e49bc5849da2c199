"""The role changes nothing in check mode on a converged host, and bad input stops it before any change."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import bad_input_batch, converge_check, recap, run_playbook

from tests.support.bad_input import Case, CaseResult, assert_refused
from tests.support.hosts import get_host

testinfra_hosts = ["ansible://base1"]

MARKER = "baseline-bad-input-marker"
WATCHED = "/etc/issue /etc/ssh/sshd_config /etc/nftables.conf"


def test_check_mode_on_a_converged_host_reports_no_change() -> None:
    assert converge_check() == {"base1": 0}


def test_check_mode_on_a_fresh_host_fails_no_task_and_changes_nothing() -> None:
    peer = get_host("peer1")
    before = peer.check_output("sudo sha256sum /etc/ssh/sshd_config /etc/login.defs /etc/pam.d/common-auth")
    proc = run_playbook("check_fresh.yml", "--check")
    counters = recap(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert counters["peer1"]["failed"] == 0
    assert counters["peer1"]["changed"] > 0, "a fresh host must show pending changes"
    assert peer.check_output("sudo sha256sum /etc/ssh/sshd_config /etc/login.defs /etc/pam.d/common-auth") == before
    assert not peer.package("nftables").is_installed


# (variables, text the error must contain)
BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"baseline_ssh_port": "twenty-two"}, "baseline_ssh_port"),
    ({"baseline_firewall_forward_policy": "reject"}, "baseline_firewall_forward_policy"),
    ({"baseline_ssh_port": 70000}, "baseline_ssh_port"),
    ({"baseline_pam_faillock_deny": 0}, "baseline_pam_faillock_deny"),
    ({"baseline_ssh_allow_users": ["someone"]}, "baseline_admin_user"),
    (
        {"baseline_firewall_services": [{"name": "web", "port": 0, "from_zones": ["office"]}]},
        "baseline_firewall_service",
    ),
    (
        {"baseline_firewall_services": [{"name": "web", "port": 443, "from_zones": ["moon"]}]},
        "from_zones",
    ),
    ({"baseline_firewall_ssh_extra_networks": ["not-a-network"]}, "baseline_firewall_ssh_extra_networks"),
    ({"baseline_pam_pwquality_minlen": "long"}, "baseline_pam_pwquality_minlen"),
]


@pytest.fixture(scope="module")
def bad_input() -> tuple[list[CaseResult], str]:
    """Every case in one run (each with the marker banner text), then /etc/issue as it is after them."""
    cases = [Case({**bad, "baseline_banner_text": MARKER}, named) for bad, named in BAD_INPUT]
    outcomes = bad_input_batch("apply_role.yml", cases, watch={"base1": f"sha256sum {WATCHED}"})
    return outcomes, get_host("base1").file("/etc/issue").content_string


@pytest.mark.parametrize(("bad", "named"), BAD_INPUT)
def test_bad_input_stops_the_play_before_the_host_changes(
    host, bad_input: tuple[list[CaseResult], str], bad: dict[str, Any], named: str
) -> None:
    # (host: testinfra's fixture, so that the node ids name the host as before)
    outcomes, issue = bad_input
    assert_refused(outcomes[BAD_INPUT.index((bad, named))], named)
    assert MARKER not in issue


def test_tw11_opening_a_port_before_baseline_leaves_other_tables_alone() -> None:
    """A role's own scenario may open its port on a host without baseline: nothing is flushed."""
    peer = get_host("peer1")
    peer.check_output("sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q nftables")
    peer.check_output("sudo nft add table inet other_role")
    proc = run_playbook("open_service.yml", extra_vars={"target": "probe", "probe_state": "present"})
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "tcp dport 8446 accept" in peer.file("/etc/nftables.d/probe-role.nft").content_string
    tables = peer.check_output("sudo nft list tables")
    assert "table inet other_role" in tables
    assert "host_firewall" not in tables
