"""Optional self-managed OpenVPN gateways in the edge zone (Ansible role `vpn_gateway`).

For wards whose identity provider cannot do SAML: these gateways ask for the client
certificate and a TOTP code (TW-04, TW-05), exactly as in the lab. Each gets an Elastic IP so
staff profiles keep working across restarts. Their security group is the only one that
accepts a connection from the internet, and only on the VPN port (see the policy pack).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.ec2_host import Ec2Host, Ec2HostArgs
from infra.host_context import HostContext
from infra.instance_roles import InstanceRole, InstanceRoleArgs
from infra.tagging import Role, Zone, base_tags


@dataclass(frozen=True)
class VpnGatewaysArgs:
    context: HostContext
    count: int
    instance_type: str
    subnet_ids: Sequence[pulumi.Input[str]]
    availability_zones: tuple[str, str]
    security_group_ids: Sequence[pulumi.Input[str]]


class VpnGateways(pulumi.ComponentResource):
    """`count` OpenVPN hosts spread over the edge subnets, each with an Elastic IP."""

    public_ips: list[pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        args: VpnGatewaysArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("telework:vpn:VpnGateways", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = InstanceRole(
            name,
            InstanceRoleArgs(stack=args.context.stack, site_bundle_object_arn=args.context.site_bundle_object_arn),
            opts=child,
        )
        self.public_ips = []
        for index in range(args.count):
            zone_index = index % 2
            host = Ec2Host(
                f"{name}-{index}",
                Ec2HostArgs(
                    context=args.context,
                    role=Role.VPN_GATEWAY,
                    zone=Zone.EDGE,
                    controls="TW-04 TW-05 TW-07 TW-08",
                    instance_type=args.instance_type,
                    subnet_id=args.subnet_ids[zone_index],
                    availability_zone=args.availability_zones[zone_index],
                    security_group_ids=args.security_group_ids,
                    instance_profile_name=role.profile_name,
                    termination_protection=False,
                    public_ip=True,
                ),
                opts=child,
            )
            eip = aws.ec2.Eip(
                f"{name}-{index}-eip",
                domain="vpc",
                instance=host.instance_id,
                tags=base_tags(args.context.stack, f"{name}-{index}-eip"),
                opts=child,
            )
            self.public_ips.append(eip.public_ip)
        self.register_outputs({"public_ips": self.public_ips})
