"""Interface VPC endpoints: SSM, CloudWatch Logs and KMS without any route to the internet.

They sit in the management subnets with private DNS, so the SSM agent, the CloudWatch agent
and the AWS CLI on every host use the regional names unchanged. Their security group accepts
HTTPS only from the hosts' groups (see `security_groups.allowed_flows`); the services that take
an endpoint policy get one that admits only the ward's own principals (`endpoint_policies`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.endpoint_policies import POLICY_SERVICES, account_only
from infra.tagging import base_tags

# ssm, ssmmessages and ec2messages: Session Manager and the Ansible SSM connection.
INTERFACE_SERVICES = ("ssm", "ssmmessages", "ec2messages", "logs", "kms")


@dataclass(frozen=True)
class VpcEndpointsArgs:
    stack: str
    region: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    account_id: pulumi.Input[str]


class VpcEndpoints(pulumi.ComponentResource):
    """One interface endpoint per service of `INTERFACE_SERVICES`."""

    endpoint_ids: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        args: VpcEndpointsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("telework:network:VpcEndpoints", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ids: dict[str, pulumi.Output[str]] = {}
        self.endpoint_ids = ids
        for service in INTERFACE_SERVICES:
            endpoint = aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=args.vpc_id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=list(args.subnet_ids),
                security_group_ids=[args.security_group_id],
                policy=account_only(args.account_id) if service in POLICY_SERVICES else None,
                tags=base_tags(args.stack, f"{service}-endpoint"),
                opts=child,
            )
            ids[service] = endpoint.id
        self.register_outputs({"endpoint_ids": ids})
