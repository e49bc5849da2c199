"""The VPC: edge, desktop and management subnets over two availability zones, and flow logs.

Only the edge subnets have a route to the internet (an internet gateway: the Client VPN
endpoint, the optional OpenVPN gateways and the package proxy live there). The desktop and
management route tables hold the VPC's local route, the S3 gateway endpoint and, once the
site-to-site VPN attaches, routes to the on-premises office zone and the carrier's closed
network. They never get a default route (TW-11). Every packet's fate is written to a flow log
in CloudWatch Logs (TW-09).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.endpoint_policies import s3_gateway
from infra.tagging import TAG_ZONE, Zone, base_tags

INTERNET = "0.0.0.0/0"


@dataclass(frozen=True)
class NetworkArgs:
    stack: str
    region: str
    vpc_cidr: str
    availability_zones: tuple[str, str]
    edge_subnet_cidrs: tuple[str, str]
    desktop_subnet_cidrs: tuple[str, str]
    management_subnet_cidrs: tuple[str, str]
    flow_log_group_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]


class Network(pulumi.ComponentResource):
    """VPC, subnets per zone, route tables, internet gateway, S3 gateway endpoint, flow log."""

    vpc_id: pulumi.Output[str]
    subnet_ids: dict[Zone, list[pulumi.Output[str]]]
    route_table_ids: dict[Zone, pulumi.Output[str]]
    s3_prefix_list_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("telework:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stack = args.stack

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            # Interface endpoints need private DNS inside the VPC.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=base_tags(stack, "vpc"),
            opts=child,
        )
        self.vpc_id = vpc.id

        cidrs = {
            Zone.EDGE: args.edge_subnet_cidrs,
            Zone.DESKTOP: args.desktop_subnet_cidrs,
            Zone.MANAGEMENT: args.management_subnet_cidrs,
        }
        self.subnet_ids = {}
        self.route_table_ids = {}
        for zone, zone_cidrs in cidrs.items():
            table = aws.ec2.RouteTable(
                f"{name}-{zone}-rt",
                vpc_id=vpc.id,
                tags=base_tags(stack, f"{zone}-rt", **{TAG_ZONE: zone.value}),
                opts=child,
            )
            self.route_table_ids[zone] = table.id
            self.subnet_ids[zone] = []
            for index, (cidr, az) in enumerate(zip(zone_cidrs, args.availability_zones, strict=True)):
                subnet = aws.ec2.Subnet(
                    f"{name}-{zone}-{index}",
                    vpc_id=vpc.id,
                    cidr_block=cidr,
                    availability_zone=az,
                    # No subnet hands out public addresses; the few edge hosts that need one
                    # ask for it explicitly (TW-11).
                    map_public_ip_on_launch=False,
                    tags=base_tags(stack, f"{zone}-{az}", **{TAG_ZONE: zone.value}),
                    opts=child,
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-{zone}-{index}-rta",
                    subnet_id=subnet.id,
                    route_table_id=table.id,
                    opts=child,
                )
                self.subnet_ids[zone].append(subnet.id)

        # The internet gateway serves the edge zone only: the one default route in the VPC.
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=base_tags(stack, "igw"), opts=child)
        aws.ec2.Route(
            f"{name}-edge-default-route",
            route_table_id=self.route_table_ids[Zone.EDGE],
            destination_cidr_block=INTERNET,
            gateway_id=igw.id,
            opts=child,
        )

        # S3 without the internet (SSM file transfer bucket, site bundle, log archive): a gateway
        # endpoint in the desktop and management route tables, for the ward's buckets only.
        s3 = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            policy=s3_gateway(args.account_id, args.region),
            route_table_ids=[
                self.route_table_ids[Zone.DESKTOP],
                self.route_table_ids[Zone.MANAGEMENT],
            ],
            tags=base_tags(stack, "s3-endpoint"),
            opts=child,
        )
        self.s3_prefix_list_id = s3.prefix_list_id

        # TW-09: flow logs of every interface in the VPC, accepted and rejected.
        flow_role = aws.iam.Role(
            f"{name}-flow-log-role",
            assume_role_policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=base_tags(stack, "flow-log-role"),
            opts=child,
        )
        flow_write = aws.iam.RolePolicy(
            f"{name}-flow-log-write",
            role=flow_role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": [
                                args.flow_log_group_arn,
                                pulumi.Output.concat(args.flow_log_group_arn, ":*"),
                            ],
                        }
                    ],
                }
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=args.flow_log_group_arn,
            iam_role_arn=flow_role.arn,
            max_aggregation_interval=60,
            tags=base_tags(stack, "flow-log"),
            # The role must be able to write before the flow log starts delivering.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[flow_write]),
        )

        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "edge_subnet_ids": self.subnet_ids[Zone.EDGE],
                "desktop_subnet_ids": self.subnet_ids[Zone.DESKTOP],
                "management_subnet_ids": self.subnet_ids[Zone.MANAGEMENT],
            }
        )
