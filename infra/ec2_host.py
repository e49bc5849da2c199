"""One hardened EC2 instance: the shape shared by the log server, the package proxy, the
session brokers and the optional OpenVPN gateways (the desktops use a launch template with the
same settings).

IMDSv2 only with a hop limit of 1 (a process in a container cannot reach the metadata
service; the first-boot script lets only root reach it at all), root and data volumes
encrypted with the platform's KMS key, a public address only when asked for (edge hosts),
management through SSM, and the tags the Ansible inventory reads. Termination protection is
an argument each caller sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.host_context import HostContext
from infra.tagging import Role, Zone, host_tags
from infra.user_data import ssm_bootstrap

# Settings shared with the desktops' launch template.
IMDS_TOKENS = "required"  # IMDSv2 only
IMDS_HOP_LIMIT = 1
VOLUME_TYPE = "gp3"
DATA_DEVICE = "/dev/xvdf"


@dataclass(frozen=True)
class Ec2HostArgs:
    context: HostContext
    role: Role
    zone: Zone
    controls: str
    instance_type: str
    subnet_id: pulumi.Input[str]
    availability_zone: str
    security_group_ids: Sequence[pulumi.Input[str]]
    instance_profile_name: pulumi.Input[str]
    # True where losing the host loses records (the log server); every caller decides.
    termination_protection: bool
    root_volume_gb: int = 20
    data_volume_gb: int | None = None
    public_ip: bool = False
    # None: the common first-boot script (package proxy, IMDS guard, SSM agent).
    user_data: pulumi.Input[str] | None = None


class Ec2Host(pulumi.ComponentResource):
    """An instance (and its optional encrypted data volume), tagged by role and zone."""

    instance_id: pulumi.Output[str]
    private_ip: pulumi.Output[str]

    def __init__(self, name: str, args: Ec2HostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("telework:compute:Ec2Host", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        context = args.context
        tags = host_tags(context.stack, name, args.role, args.zone, args.controls, context.ssm_bucket_name)
        user_data = args.user_data
        if user_data is None:
            user_data = ssm_bootstrap(context.region, context.proxy_address)
        instance = aws.ec2.Instance(
            f"{name}-instance",
            ami=context.image.id,
            instance_type=args.instance_type,
            subnet_id=args.subnet_id,
            vpc_security_group_ids=list(args.security_group_ids),
            associate_public_ip_address=args.public_ip,
            iam_instance_profile=args.instance_profile_name,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens=IMDS_TOKENS,
                http_put_response_hop_limit=IMDS_HOP_LIMIT,
            ),
            monitoring=True,
            disable_api_termination=args.termination_protection,
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_type=VOLUME_TYPE,
                volume_size=args.root_volume_gb,
                encrypted=True,
                kms_key_id=context.kms_key_arn,
                delete_on_termination=True,
            ),
            user_data=user_data,
            volume_tags=tags,
            tags=tags,
            # A newer Debian image must not replace a running host; Ansible patches it.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["ami"]),
        )
        self.instance_id = instance.id
        self.private_ip = instance.private_ip

        if args.data_volume_gb is not None:
            volume = aws.ebs.Volume(
                f"{name}-data",
                availability_zone=args.availability_zone,
                size=args.data_volume_gb,
                type=VOLUME_TYPE,
                encrypted=True,
                kms_key_id=context.kms_key_arn,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            aws.ec2.VolumeAttachment(
                f"{name}-data-attachment",
                device_name=DATA_DEVICE,
                volume_id=volume.id,
                instance_id=instance.id,
                opts=child,
            )
        self.register_outputs({"instance_id": self.instance_id, "private_ip": self.private_ip})
