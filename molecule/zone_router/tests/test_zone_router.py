"""TW-11: the zone router forwards exactly the allowed flows between zones.

Every blocked flow is proved against a port that answers: the router itself (which sits in each
zone, and whose own connections no forward rule filters) reaches it first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import bad_input_batch, converge_check

from tests.support.bad_input import Case, CaseResult, assert_refused
from tests.support.hosts import get_host
from tests.support.listeners import Listeners
from tests.support.network import Outcome, assert_blocked, reaches, route_of
from tests.support.nftables import rule_counter

pytestmark = pytest.mark.journal("zone-router")

ROUTER = "router1"
DESK, OFFICE, MGMT = "10.231.33.10", "10.231.35.10", "10.231.34.10"
GATEWAY_OF = {"desk1": "10.231.33.1", "office1": "10.231.35.1", "mgmt1": "10.231.34.1"}
LISTEN_PORTS = (445, 5222, 6514, 22, 8080)


@pytest.fixture(scope="module")
def listeners() -> Iterator[None]:
    """Something listens on each probed port of the desktop, office and management hosts."""
    probes = Listeners()
    for name in ("office1", "mgmt1", "desk1"):
        for port in LISTEN_PORTS:
            probes.ensure(name, port)
        # The zone hosts send everything of the site through the router (lab_routes).
        assert f"via {GATEWAY_OF[name]} " in route_of(name, "10.231.36.1"), name
    yield
    probes.close()


@pytest.mark.parametrize("port", [445, 5222])
def test_tw11_desktop_reaches_office_services(listeners: None, port: int) -> None:
    assert reaches("desk1", OFFICE, port)


@pytest.mark.parametrize("port", [22, 8080, 6514])
def test_tw11_desktop_cannot_reach_other_office_ports(listeners: None, port: int) -> None:
    assert reaches("desk1", OFFICE, 445), "the path desktop -> router -> office must work"
    assert_blocked("desk1", OFFICE, port, answers_from=ROUTER)


def test_tw11_every_zone_reaches_the_log_port_in_management(listeners: None) -> None:
    assert reaches("desk1", MGMT, 6514)
    assert reaches("office1", MGMT, 6514)
    assert_blocked("desk1", MGMT, 8080, answers_from=ROUTER)


def test_tw11_office_cannot_open_connections_to_desktop(listeners: None) -> None:
    assert reaches("office1", MGMT, 6514), "the office host's path through the router must work"
    assert_blocked("office1", DESK, 445, answers_from=ROUTER)
    assert_blocked("office1", DESK, 22, answers_from=ROUTER)


def dropped_packets() -> int:
    return rule_counter(ROUTER, "zone_router", "forward", "not an allowed flow")


def test_tw11_blocked_flows_are_counted_and_a_log_rule_precedes_the_drop(listeners: None) -> None:
    # The kernel logs drops with the prefix "zone-router drop" (not visible inside a lab
    # container: netfilter logs of non-initial network namespaces are off); the counter is.
    # Positive control: an allowed flow crosses the router and the drop counter stays put, so the
    # counter counts refused flows only, not whatever the router forwards.
    before = dropped_packets()
    assert reaches("desk1", OFFICE, 445)
    assert dropped_packets() == before, "an allowed flow was counted as dropped"
    # A blocked flow: dropped (the SYN goes unanswered, no reject), and every try counted.
    assert assert_blocked("office1", DESK, 8080, answers_from=ROUTER) is Outcome.TIMEOUT
    assert dropped_packets() > before
    listing = get_host(ROUTER).check_output("sudo nft list chain inet zone_router forward")
    rules = [line.strip() for line in listing.splitlines()]
    drop = next(i for i, line in enumerate(rules) if line.endswith('drop comment "not an allowed flow"'))
    assert drop > 0 and 'log prefix "zone-router drop: "' in rules[drop - 1], rules


def forward_rules() -> str:
    """The router's forward chain without its counters (they move with traffic)."""
    listing = get_host(ROUTER).check_output("sudo nft list chain inet zone_router forward")
    return re.sub(r"counter packets \d+ bytes \d+", "counter", listing)


def test_tw11_rules_survive_a_firewall_reload_and_restart_and_still_filter(listeners: None) -> None:
    router = get_host(ROUTER)
    before = forward_rules()
    # nftables.service flushes the whole ruleset (Debian's /etc/nftables.conf); the zone router's
    # table must come back each time, and its own restart must load the same rules.
    for action in ("restart nftables", "reload nftables", "restart zone-router"):
        proc = router.run(f"sudo systemctl {action}")
        assert proc.rc == 0, f"{action}: {proc.stderr}"
        assert forward_rules() == before, f"the forward rules changed after `systemctl {action}`"
    assert router.sysctl("net.ipv4.ip_forward") == 1
    assert reaches("desk1", OFFICE, 445)
    assert_blocked("desk1", OFFICE, 8080, answers_from=ROUTER)


def test_check_mode_reports_no_change_on_a_converged_router() -> None:
    assert converge_check() == {"router1": 0}


# (zone_router_extra_flows, text the error must contain)
BAD_INPUT: list[tuple[object, str]] = [
    (
        [{"name": "x", "from_zones": ["nowhere"], "to_zones": ["office"], "proto": "tcp", "ports": [1]}],
        "must name zones",
    ),
    (
        [{"name": "x", "from_zones": ["desktop"], "to_zones": ["office"], "proto": "tcp", "ports": [70000]}],
        "ports from 1 to 65535",
    ),
    ([{"name": "x", "from_zones": ["desktop"], "to_zones": ["office"], "proto": "icmp", "ports": [1]}], "proto"),
    ("not-a-list", "zone_router_extra_flows"),
]


@pytest.fixture(scope="module")
def bad_input() -> list[CaseResult]:
    """Every case in one run of the converge play."""
    cases = [Case({"zone_router_extra_flows": flows}, message) for flows, message in BAD_INPUT]
    return bad_input_batch("converge.yml", cases, watch={ROUTER: "sha256sum /etc/zone-router/rules.nft"})


@pytest.mark.parametrize(("flows", "message"), BAD_INPUT)
def test_bad_input_stops_the_play_before_the_host_changes(
    bad_input: list[CaseResult], flows: object, message: str
) -> None:
    assert_refused(bad_input[BAD_INPUT.index((flows, message))], message)
