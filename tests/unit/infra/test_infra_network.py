"""Network component under the mock runtime: subnets per zone, routes, endpoints, flow logs."""

from __future__ import annotations

import ipaddress

import pulumi

from infra.network import Network, NetworkArgs
from infra.tagging import TAG_ZONE, Zone
from infra.vpc_endpoints import VpcEndpoints, VpcEndpointsArgs
from tests.unit.infra.pulumi_mocks import ACCOUNT, TeleworkMocks, config_for, declare

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
FLOW_GROUP = "arn:aws:logs:ap-northeast-1:123456789012:log-group:/telework/test/vpc-flow-logs"


def _network() -> Network:
    cfg = config_for(200)
    net = cfg.network
    return Network(
        "network",
        NetworkArgs(
            stack="test",
            region=cfg.region,
            vpc_cidr=net.vpc_cidr,
            availability_zones=net.availability_zones,
            edge_subnet_cidrs=net.edge_subnet_cidrs,
            desktop_subnet_cidrs=net.desktop_subnet_cidrs,
            management_subnet_cidrs=net.management_subnet_cidrs,
            flow_log_group_arn=FLOW_GROUP,
            account_id=ACCOUNT,
        ),
    )


def test_tw11_two_subnets_per_zone_over_two_availability_zones(
    mocks: TeleworkMocks,
) -> None:
    def program() -> pulumi.Output[None]:
        network = _network()

        def check(ids: list[str]) -> None:
            assert len(set(ids)) == 6
            zones = [i.split("-")[1] for i in ids]
            assert zones == [
                "edge",
                "edge",
                "desktop",
                "desktop",
                "management",
                "management",
            ]

        return pulumi.Output.all(*[i for z in Zone for i in network.subnet_ids[z]]).apply(check)

    declare(program)
    subnets = mocks.of_type(SUBNET)
    assert len(subnets) == 6
    for zone in Zone:
        in_zone = [s for s in subnets if s.tags[TAG_ZONE] == zone.value]
        assert {s.inputs["availabilityZone"] for s in in_zone} == {
            "ap-northeast-1a",
            "ap-northeast-1c",
        }, zone
    vpc = ipaddress.IPv4Network("10.40.0.0/16")
    for subnet in subnets:
        assert ipaddress.IPv4Network(subnet.inputs["cidrBlock"]).subnet_of(vpc)
        assert subnet.inputs["mapPublicIpOnLaunch"] is False


def test_tw11_only_the_edge_zone_has_a_route_to_the_internet(
    mocks: TeleworkMocks,
) -> None:
    def program() -> pulumi.Output[None]:
        network = _network()

        def check(tables: list[str]) -> None:
            assert len(set(tables)) == 3, "one route table per zone"

        return pulumi.Output.all(*network.route_table_ids.values()).apply(check)

    declare(program)
    default_routes = [r for r in mocks.of_type(ROUTE) if r.inputs.get("destinationCidrBlock") == "0.0.0.0/0"]
    assert len(default_routes) == 1
    assert default_routes[0].inputs["routeTableId"] == "network-edge-rt-id"
    assert default_routes[0].inputs["gatewayId"] == "network-igw-id"
    associations = {a.name: a.inputs["routeTableId"] for a in mocks.of_type(ASSOCIATION)}
    assert len(associations) == 6
    for name, table in associations.items():
        zone = name.split("-")[1]
        assert table == f"network-{zone}-rt-id", name


def test_s3_gateway_endpoint_serves_desktop_and_management_tables(
    mocks: TeleworkMocks,
) -> None:
    def program() -> pulumi.Output[None]:
        network = _network()

        def check(prefix_list: str) -> None:
            assert prefix_list.startswith("pl-")

        return network.s3_prefix_list_id.apply(check)

    declare(program)
    (s3,) = mocks.of_type(ENDPOINT)
    assert s3.inputs["serviceName"] == "com.amazonaws.ap-northeast-1.s3"
    assert s3.inputs["vpcEndpointType"] == "Gateway"
    assert sorted(s3.inputs["routeTableIds"]) == [
        "network-desktop-rt-id",
        "network-management-rt-id",
    ]


def test_tw09_flow_log_records_all_traffic_to_cloudwatch(mocks: TeleworkMocks) -> None:
    declare(lambda: _network().vpc_id.apply(lambda _: None))
    (flow_log,) = mocks.of_type(FLOW_LOG)
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["logDestination"] == FLOW_GROUP
    assert flow_log.inputs["vpcId"] == "network-vpc-id"


def test_ssm_logs_and_kms_endpoints_need_no_internet(mocks: TeleworkMocks) -> None:
    def program() -> pulumi.Output[None]:
        endpoints = VpcEndpoints(
            "endpoints",
            VpcEndpointsArgs(
                stack="test",
                region="ap-northeast-1",
                vpc_id="vpc-1",
                subnet_ids=["subnet-m0", "subnet-m1"],
                security_group_id="sg-endpoints",
                account_id=ACCOUNT,
            ),
        )

        def check(ids: list[str]) -> None:
            assert len(set(ids)) == 5

        return pulumi.Output.all(*endpoints.endpoint_ids.values()).apply(check)

    declare(program)
    endpoints = mocks.of_type(ENDPOINT)
    services = sorted(e.inputs["serviceName"].rsplit(".", 1)[1] for e in endpoints)
    assert services == ["ec2messages", "kms", "logs", "ssm", "ssmmessages"]
    for endpoint in endpoints:
        assert endpoint.inputs["vpcEndpointType"] == "Interface"
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert endpoint.inputs["subnetIds"] == ["subnet-m0", "subnet-m1"]
        assert endpoint.inputs["securityGroupIds"] == ["sg-endpoints"]
