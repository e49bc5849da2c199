"""The package proxy (TW-12): apt-cacher-ng in the edge zone, the one host that reaches the
internet, and only to fetch Debian packages for the hosts that have no route out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.ec2_host import Ec2Host, Ec2HostArgs
from infra.host_context import HostContext
from infra.instance_roles import InstanceRole, InstanceRoleArgs
from infra.tagging import Role, Zone
from infra.user_data import package_proxy_setup


@dataclass(frozen=True)
class PackageProxyArgs:
    context: HostContext  # its proxy_address is None: the proxy fetches directly
    instance_type: str
    subnet_id: pulumi.Input[str]
    availability_zone: str
    security_group_ids: Sequence[pulumi.Input[str]]


class PackageProxy(pulumi.ComponentResource):
    """One apt-cacher-ng host with a public address in the first edge subnet."""

    instance_id: pulumi.Output[str]
    private_ip: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: PackageProxyArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("telework:compute:PackageProxy", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        context = args.context
        role = InstanceRole(
            name,
            InstanceRoleArgs(stack=context.stack, site_bundle_object_arn=context.site_bundle_object_arn),
            opts=child,
        )
        host = Ec2Host(
            name,
            Ec2HostArgs(
                context=context,
                role=Role.PACKAGE_PROXY,
                zone=Zone.EDGE,
                controls="TW-12",
                instance_type=args.instance_type,
                subnet_id=args.subnet_id,
                availability_zone=args.availability_zone,
                security_group_ids=args.security_group_ids,
                instance_profile_name=role.profile_name,
                termination_protection=False,
                root_volume_gb=60,
                public_ip=True,
                user_data=package_proxy_setup(context.region),
            ),
            opts=child,
        )
        self.instance_id = host.instance_id
        self.private_ip = host.private_ip
        self.register_outputs({"instance_id": self.instance_id, "private_ip": self.private_ip})
