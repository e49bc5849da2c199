"""TW-11: the nftables host firewall lets in SSH from the admin networks and declared services only.

peer1 (management 10.231.34.20, office 10.231.35.20) probes base1 from outside. Every port that
must stay closed to it is proved to answer first: base1 reaches it on the same address itself
(its own traffic comes in on lo, which the firewall lets through), and the listeners of
prepare.yml run behind every probed port.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_playbook

from tests.support.network import assert_blocked, reaches

pytestmark = pytest.mark.journal("nftables")

testinfra_hosts = ["ansible://base1"]

BASE1_MANAGEMENT = "10.231.34.10"
BASE1_OFFICE = "10.231.35.10"
PEER = "peer1"


def closed_to_peer(address: str, port: int) -> None:
    """peer1 cannot connect to base1's address:port, which answers on base1 itself."""
    assert_blocked(PEER, address, port, answers_from="base1")


def table(host) -> list[dict]:
    return json.loads(host.check_output("sudo nft -j list table inet host_firewall"))["nftables"]


def chain(host, name: str) -> dict:
    return next(item["chain"] for item in table(host) if "chain" in item and item["chain"]["name"] == name)


def test_tw11_input_and_forward_policies_drop(host) -> None:
    assert chain(host, "input")["policy"] == "drop"
    assert chain(host, "forward")["policy"] == "drop"
    assert chain(host, "output")["policy"] == "accept"


def test_tw11_ssh_rule_comes_before_any_drop_and_names_only_admin_networks(host) -> None:
    listing = host.check_output("sudo nft list chain inet host_firewall input")
    lines = [line.strip() for line in listing.splitlines()]
    ssh_rule = next(i for i, line in enumerate(lines) if "dport 22 accept" in line)
    assert "ip saddr 10.231.0.0/20 tcp dport 22 accept" in lines[ssh_rule]
    first_drop = next(i for i, line in enumerate(lines) if line.endswith("drop") and "policy" not in line)
    assert ssh_rule < first_drop
    assert any('log prefix "host_firewall drop: "' in line and "limit rate" in line for line in lines)


def test_tw11_service_from_a_zone_is_open_to_that_zone_only() -> None:
    assert reaches(PEER, BASE1_MANAGEMENT, 8443), "probe-zone must be open to the management zone"
    closed_to_peer(BASE1_OFFICE, 8443)


def test_tw11_service_from_an_address_is_open_to_that_address_only() -> None:
    assert reaches(PEER, BASE1_OFFICE, 8444), "probe-cidr must be open to 10.231.35.20"
    closed_to_peer(BASE1_MANAGEMENT, 8444)


def test_tw11_undeclared_port_and_ssh_are_closed_to_other_networks() -> None:
    assert reaches(PEER, BASE1_MANAGEMENT, 8443), "peer1's path to base1 must work"
    closed_to_peer(BASE1_MANAGEMENT, 8445)
    closed_to_peer(BASE1_MANAGEMENT, 22)
    closed_to_peer(BASE1_OFFICE, 22)


def test_tw11_service_rules_live_in_their_own_checked_files(host) -> None:
    snippet = host.file("/etc/nftables.d/probe-zone.nft")
    assert snippet.exists
    assert "tcp dport 8443 accept" in snippet.content_string
    assert host.run("sudo nft -c -f /etc/nftables.conf").rc == 0
    assert host.service("nftables").is_enabled


def test_tw11_reloading_the_firewall_keeps_the_ssh_session(host) -> None:
    out = host.run("sudo systemctl reload nftables && sleep 1 && echo still-connected")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "still-connected"


def test_tw11_another_role_opens_and_closes_a_port_with_tasks_from() -> None:
    closed_to_peer(BASE1_MANAGEMENT, 8446)
    try:
        opened = run_playbook("open_service.yml", extra_vars={"probe_state": "present"})
        assert opened.returncode == 0, opened.stdout[-3000:]
        assert reaches(PEER, BASE1_MANAGEMENT, 8446)
        closed_to_peer(BASE1_OFFICE, 8446)
    finally:
        closed = run_playbook("open_service.yml", extra_vars={"probe_state": "absent"})
    assert closed.returncode == 0, closed.stdout[-3000:]
    closed_to_peer(BASE1_MANAGEMENT, 8446)
