"""The RDP entry: an internal network load balancer in front of two session brokers.

AWS Client VPN translates every user's address to one of its own interface addresses, so a
balancer that keeps users by source IP sends most of them to one or two hosts and cannot bring
a reconnecting user back to their session. The user name is in the RDP connection itself:
each broker runs HAProxy (Ansible role `rdp_broker`, the same as on premises and in the lab)
with a stick table keyed on the `mstshash` cookie RDP clients send,
new sessions going to the least-loaded desktop host, and the stick table the two brokers share
(`peers`, port 10000), so a user comes back to their own host whichever broker the balancer
picks. A host tagged `telework:maintenance=drain` gets no new sessions while its users finish.

One broker per desktop subnet (availability zone); the balancer spreads connections over both
and checks them on 3389. The listener's idle timeout is raised from the NLB's 350 s default,
which would cut a session whose user reads a document without touching the keyboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import BROKER_COUNT
from infra.ec2_host import Ec2Host, Ec2HostArgs
from infra.host_context import HostContext
from infra.instance_roles import InstanceRole, InstanceRoleArgs
from infra.security_groups import RDP_PORT
from infra.tagging import Role, Zone, base_tags

# Longer than the desktops' own idle limit (remote_desktop_idle_time_limit, 900 s by default),
# so an idle session is ended by xrdp's rule (which keeps it for reconnection), not cut by the
# balancer. The NLB accepts 60 to 6000 s.
RDP_IDLE_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class SessionBrokersArgs:
    context: HostContext
    instance_type: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    availability_zones: tuple[str, str]
    broker_security_group_id: pulumi.Input[str]
    rdp_entry_security_group_id: pulumi.Input[str]


class SessionBrokers(pulumi.ComponentResource):
    """Internal NLB, its listener and targets, and the two broker hosts."""

    rdp_address: pulumi.Output[str]
    private_ips: list[pulumi.Output[str]]

    def __init__(self, name: str, args: SessionBrokersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("telework:compute:SessionBrokers", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        context = args.context
        stack = context.stack
        balancer = aws.lb.LoadBalancer(
            f"{name}-rdp",
            internal=True,
            load_balancer_type="network",
            subnets=list(args.subnet_ids),
            security_groups=[args.rdp_entry_security_group_id],
            enable_cross_zone_load_balancing=True,
            tags=base_tags(stack, "rdp-entry"),
            opts=child,
        )
        targets = aws.lb.TargetGroup(
            f"{name}-rdp",
            port=RDP_PORT,
            protocol="TCP",
            vpc_id=args.vpc_id,
            target_type="instance",
            # No stickiness here: behind Client VPN every user shares a few source addresses.
            # The brokers keep users on their hosts by user name.
            stickiness=aws.lb.TargetGroupStickinessArgs(type="source_ip", enabled=False),
            deregistration_delay=300,
            health_check=aws.lb.TargetGroupHealthCheckArgs(protocol="TCP", port=str(RDP_PORT), interval=30),
            tags=base_tags(stack, "rdp-brokers"),
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-rdp",
            load_balancer_arn=balancer.arn,
            port=RDP_PORT,
            protocol="TCP",
            tcp_idle_timeout_seconds=RDP_IDLE_TIMEOUT_SECONDS,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=targets.arn)],
            opts=child,
        )
        self.rdp_address = balancer.dns_name

        role = InstanceRole(
            name,
            InstanceRoleArgs(stack=stack, site_bundle_object_arn=context.site_bundle_object_arn),
            opts=child,
        )
        self.private_ips = []
        for index in range(BROKER_COUNT):
            host = Ec2Host(
                f"{name}-{index}",
                Ec2HostArgs(
                    context=context,
                    role=Role.RDP_BROKER,
                    zone=Zone.DESKTOP,
                    controls="TW-07 TW-09 TW-11",
                    instance_type=args.instance_type,
                    subnet_id=args.subnet_ids[index % 2],
                    availability_zone=args.availability_zones[index % 2],
                    security_group_ids=[args.broker_security_group_id],
                    instance_profile_name=role.profile_name,
                    termination_protection=False,
                ),
                opts=child,
            )
            aws.lb.TargetGroupAttachment(
                f"{name}-{index}-target",
                target_group_arn=targets.arn,
                target_id=host.instance_id,
                port=RDP_PORT,
                opts=child,
            )
            self.private_ips.append(host.private_ip)
        self.register_outputs({"rdp_address": self.rdp_address})
