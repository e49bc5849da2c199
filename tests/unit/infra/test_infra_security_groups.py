"""Security groups allow exactly the flows of ARCHITECTURE.md (TW-11), and nothing else."""

from __future__ import annotations

from collections.abc import Iterable

import pulumi

from infra.security_groups import (
    Cidr,
    Group,
    PrefixList,
    SecurityGroups,
    SecurityGroupsArgs,
    allowed_flows,
)
from tests.unit.infra.pulumi_mocks import Registered, TeleworkMocks, declare

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
OFFICE = ("172.20.0.0/16",)
CARRIER = ("172.30.0.0/20",)


def _declare(
    mocks: TeleworkMocks,
    vpn_gateways: bool = True,
    office: tuple[str, ...] = OFFICE,
    carrier: tuple[str, ...] = CARRIER,
) -> None:
    def program() -> pulumi.Output[None]:
        groups = SecurityGroups(
            "sg",
            SecurityGroupsArgs(
                stack="test",
                vpc_id="vpc-1",
                s3_prefix_list_id="pl-s3",
                office_cidrs=office,
                carrier_cidrs=carrier,
                vpn_port=1194,
                vpn_gateways=vpn_gateways,
            ),
        )

        def check(ids: list[str]) -> None:
            assert len(set(ids)) == len(ids) == (8 if vpn_gateways else 7)

        return pulumi.Output.all(*groups.ids.values()).apply(check)

    declare(program)


def _rules(mocks: TeleworkMocks, kind: str, group: Group) -> list[Registered]:
    return [r for r in mocks.of_type(kind) if r.inputs["securityGroupId"] == f"sg-{group}-id"]


def _ports(rules: Iterable[Registered]) -> set[tuple[str, int, int]]:
    return {(r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"]) for r in rules}


def _peer(rule: Registered) -> str:
    inputs = rule.inputs
    return str(inputs.get("referencedSecurityGroupId") or inputs.get("cidrIpv4") or inputs.get("prefixListId"))


def test_tw11_desktop_sg_allows_only_rdp_from_the_session_brokers(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    ingress = _rules(mocks, INGRESS, Group.DESKTOP)
    assert len(ingress) == 1
    assert _ports(ingress) == {("tcp", 3389, 3389)}
    assert _peer(ingress[0]) == "sg-rdp-broker-id"


def test_tw11_brokers_take_rdp_from_the_entry_and_share_sessions_with_each_other(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    ingress = {(_peer(r), r.inputs["fromPort"]) for r in _rules(mocks, INGRESS, Group.RDP_BROKER)}
    assert ingress == {("sg-rdp-entry-id", 3389), ("sg-rdp-broker-id", 10000)}
    egress = {(_peer(r), r.inputs["fromPort"]) for r in _rules(mocks, EGRESS, Group.RDP_BROKER)}
    assert ("sg-desktop-id", 3389) in egress and ("sg-rdp-broker-id", 10000) in egress
    assert ("sg-log-server-id", 6514) in egress


def test_tw11_rdp_entry_accepts_rdp_from_vpn_clients_gateways_and_carrier_only(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    ingress = _rules(mocks, INGRESS, Group.RDP_ENTRY)
    assert _ports(ingress) == {("tcp", 3389, 3389)}
    assert {_peer(r) for r in ingress} == {
        "sg-client-vpn-id",
        "sg-vpn-gateway-id",
        "172.30.0.0/20",
    }


def test_tw11_desktops_reach_office_services_logs_endpoints_and_proxy_only(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    egress = {(_peer(r), r.inputs["fromPort"]) for r in _rules(mocks, EGRESS, Group.DESKTOP)}
    assert egress == {
        ("172.20.0.0/16", 445),
        ("172.20.0.0/16", 5222),
        ("172.20.0.0/16", 443),
        ("sg-log-server-id", 6514),
        ("sg-endpoints-id", 443),
        ("pl-s3", 443),
        ("sg-package-proxy-id", 3142),
    }
    for rule in _rules(mocks, EGRESS, Group.DESKTOP):
        assert rule.inputs["fromPort"] == rule.inputs["toPort"], "no port ranges"


def test_tw09_log_server_accepts_only_6514_from_hosts_and_the_office_zone(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    ingress = _rules(mocks, INGRESS, Group.LOG_SERVER)
    assert _ports(ingress) == {("tcp", 6514, 6514)}
    assert {_peer(r) for r in ingress} == {
        "sg-desktop-id",
        "sg-rdp-broker-id",
        "sg-package-proxy-id",
        "sg-vpn-gateway-id",
        "172.20.0.0/16",
    }


def test_tw11_management_reaches_ssm_through_endpoints_on_443_only(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    ingress = _rules(mocks, INGRESS, Group.ENDPOINTS)
    assert _ports(ingress) == {("tcp", 443, 443)}
    assert {_peer(r) for r in ingress} == {
        "sg-desktop-id",
        "sg-rdp-broker-id",
        "sg-log-server-id",
        "sg-package-proxy-id",
        "sg-vpn-gateway-id",
    }
    assert _rules(mocks, EGRESS, Group.ENDPOINTS) == []


def test_tw11_no_ingress_from_the_internet_except_the_vpn_port(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    open_rules = [r for r in mocks.of_type(INGRESS) if r.inputs.get("cidrIpv4") == "0.0.0.0/0"]
    assert len(open_rules) == 1
    assert open_rules[0].inputs["securityGroupId"] == "sg-vpn-gateway-id"
    assert _ports(open_rules) == {("udp", 1194, 1194)}


def test_tw12_only_the_package_proxy_reaches_the_internet(mocks: TeleworkMocks) -> None:
    _declare(mocks)
    out = [r for r in mocks.of_type(EGRESS) if r.inputs.get("cidrIpv4") == "0.0.0.0/0"]
    assert {r.inputs["securityGroupId"] for r in out} == {"sg-package-proxy-id"}
    assert _ports(out) == {("tcp", 80, 80), ("tcp", 443, 443)}


def test_tw11_without_vpn_gateways_nothing_is_open_to_the_internet(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks, vpn_gateways=False)
    assert not [r for r in mocks.of_type(INGRESS) if r.inputs.get("cidrIpv4") == "0.0.0.0/0"]
    assert "sg-vpn-gateway" not in {r.name for r in mocks.of_type(SG)}


def test_tw11_groups_have_no_inline_rules_and_default_group_is_empty(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    for group in mocks.of_type(SG):
        assert not group.inputs.get("ingress") and not group.inputs.get("egress"), group.name
        assert "TW-11" in group.inputs["description"]
        assert group.inputs["namePrefix"].startswith("telework-test-"), group.name
    (default,) = mocks.of_type(DEFAULT_SG)
    assert default.inputs.get("ingress", []) == [] and default.inputs.get("egress", []) == []


def test_every_rule_names_its_control_in_the_description(mocks: TeleworkMocks) -> None:
    _declare(mocks)
    rules = mocks.of_type(INGRESS) + mocks.of_type(EGRESS)
    assert rules
    for rule in rules:
        assert rule.inputs["description"].startswith("TW-"), rule.name


def test_each_flow_between_groups_opens_both_ends(mocks: TeleworkMocks) -> None:
    _declare(mocks)
    flows = allowed_flows(OFFICE, CARRIER, 1194, True)
    both = [f for f in flows if isinstance(f.source, Group) and isinstance(f.target, Group)]
    from_outside = [f for f in flows if isinstance(f.source, Cidr)]
    to_outside = [f for f in flows if isinstance(f.target, (Cidr, PrefixList))]
    assert len(mocks.of_type(EGRESS)) == len(both) + len(to_outside)
    assert len(mocks.of_type(INGRESS)) == len(both) + len(from_outside)


def _rules_by_name(mocks: TeleworkMocks) -> dict[str, tuple[str, str, int]]:
    return {
        r.name: (r.inputs["securityGroupId"], _peer(r), r.inputs["fromPort"])
        for r in mocks.of_type(INGRESS) + mocks.of_type(EGRESS)
    }


def test_tw11_reordering_cidrs_in_config_renames_no_rule(mocks: TeleworkMocks) -> None:
    """Rule names come from the peer (a CIDR's name holds the CIDR), not from its position:
    with positions, swapping two carrier networks would replace both rules."""
    carriers = ("172.30.0.0/20", "172.30.16.0/20")
    offices = ("172.20.0.0/16", "172.21.0.0/16")
    _declare(mocks, office=offices, carrier=carriers)
    first = _rules_by_name(mocks)
    mocks.resources.clear()
    _declare(mocks, office=offices[::-1], carrier=carriers[::-1])
    assert _rules_by_name(mocks) == first
    assert "sg-carrier-172-30-16-0-20-to-rdp-entry-tcp3389-in" in first
