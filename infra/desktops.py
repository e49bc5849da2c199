"""The remote-desktop hosts: a launch template, an Auto Scaling group and an RDP entry point.

Sizing: `ceil(seats / users_per_host)` hosts during working hours, spread over the two desktop
subnets; outside working hours (and at weekends) a schedule keeps `off_hours_hosts` running for
staff on call or working through a disaster. Users reach a host through an internal network
load balancer on 3389 with source-IP stickiness, so a reconnecting user returns to the same
session; the balancer's own security group is the only source the desktops accept RDP from.

Every host: the Debian 13 image, IMDSv2 only, an encrypted root volume (KMS), no public
address, the SSM instance profile, and the tags the Ansible inventory groups by.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.debian_image import ROOT_DEVICE
from infra.ec2_host import IMDS_HOP_LIMIT, IMDS_TOKENS, VOLUME_TYPE
from infra.tagging import Role, Zone, base_tags, host_tags

RDP_PORT = 3389
TIME_ZONE = "Asia/Tokyo"
WORKING_DAYS = "1-5"  # Monday to Friday; public holidays are not known to cron


@dataclass(frozen=True)
class DesktopSizing:
    """How many hosts run, and when."""

    hosts: int
    off_hours_hosts: int
    work_start_hour: int
    work_end_hour: int

    @property
    def scale_up_recurrence(self) -> str:
        return f"0 {self.work_start_hour} * * {WORKING_DAYS}"

    @property
    def scale_down_recurrence(self) -> str:
        return f"0 {self.work_end_hour} * * *"


@dataclass(frozen=True)
class DesktopsArgs:
    stack: str
    sizing: DesktopSizing
    image_id: pulumi.Input[str]
    instance_type: str
    volume_gb: int
    vpc_id: pulumi.Input[str]
    subnet_ids: list[pulumi.Output[str]]
    desktop_security_group_id: pulumi.Input[str]
    rdp_entry_security_group_id: pulumi.Input[str]
    instance_profile_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    ssm_bucket_name: pulumi.Input[str]
    user_data: pulumi.Input[str]


class Desktops(pulumi.ComponentResource):
    """Launch template, Auto Scaling group, working-hours schedules and the RDP balancer."""

    group_name: pulumi.Output[str]
    rdp_address: pulumi.Output[str]
    hosts: int

    def __init__(self, name: str, args: DesktopsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("telework:compute:Desktops", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stack = args.stack
        sizing = args.sizing
        self.hosts = sizing.hosts

        tags = host_tags(
            stack,
            "remote-desktop",
            Role.REMOTE_DESKTOP,
            Zone.DESKTOP,
            "TW-01 TW-02 TW-03 TW-06 TW-07 TW-10",
            args.ssm_bucket_name,
        )
        template = aws.ec2.LaunchTemplate(
            f"{name}-template",
            description="telework remote-desktop host (xrdp session host)",
            image_id=args.image_id,
            instance_type=args.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=args.instance_profile_arn),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens=IMDS_TOKENS,
                http_put_response_hop_limit=IMDS_HOP_LIMIT,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_type=VOLUME_TYPE,
                        volume_size=args.volume_gb,
                        encrypted="true",
                        kms_key_id=args.kms_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0,
                    associate_public_ip_address="false",
                    security_groups=[args.desktop_security_group_id],
                    delete_on_termination="true",
                )
            ],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            user_data=pulumi.Output.from_input(args.user_data).apply(
                lambda script: base64.b64encode(script.encode()).decode()
            ),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            update_default_version=True,
            tags=base_tags(stack, "desktop-template"),
            opts=child,
        )

        balancer = aws.lb.LoadBalancer(
            f"{name}-rdp",
            internal=True,
            load_balancer_type="network",
            subnets=args.subnet_ids,
            security_groups=[args.rdp_entry_security_group_id],
            enable_cross_zone_load_balancing=True,
            tags=base_tags(stack, "rdp-entry"),
            opts=child,
        )
        target_group = aws.lb.TargetGroup(
            f"{name}-rdp",
            port=RDP_PORT,
            protocol="TCP",
            vpc_id=args.vpc_id,
            target_type="instance",
            # The desktops see the user's VPN address in their own logs (TW-09).
            preserve_client_ip="true",
            stickiness=aws.lb.TargetGroupStickinessArgs(type="source_ip", enabled=True),
            deregistration_delay=300,
            health_check=aws.lb.TargetGroupHealthCheckArgs(protocol="TCP", port=str(RDP_PORT), interval=30),
            tags=base_tags(stack, "rdp-targets"),
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-rdp",
            load_balancer_arn=balancer.arn,
            port=RDP_PORT,
            protocol="TCP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)],
            opts=child,
        )
        self.rdp_address = balancer.dns_name

        group = aws.autoscaling.Group(
            f"{name}-group",
            vpc_zone_identifiers=args.subnet_ids,
            min_size=sizing.hosts,
            max_size=sizing.hosts,
            desired_capacity=sizing.hosts,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            target_group_arns=[target_group.arn],
            health_check_type="ELB",
            health_check_grace_period=900,
            # Scale-in ends sessions: take the newest hosts first, the ones with fewest users.
            termination_policies=["NewestInstance"],
            tags=[
                aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=False)
                for key, value in base_tags(stack, "desktop-group").items()
            ],
            # The schedules below move capacity; `pulumi up` at night must not undo them.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity", "minSize"]),
        )
        self.group_name = group.name

        aws.autoscaling.Schedule(
            f"{name}-working-hours",
            scheduled_action_name="telework-working-hours",
            autoscaling_group_name=group.name,
            recurrence=sizing.scale_up_recurrence,
            time_zone=TIME_ZONE,
            min_size=sizing.hosts,
            max_size=sizing.hosts,
            desired_capacity=sizing.hosts,
            opts=child,
        )
        aws.autoscaling.Schedule(
            f"{name}-off-hours",
            scheduled_action_name="telework-off-hours",
            autoscaling_group_name=group.name,
            recurrence=sizing.scale_down_recurrence,
            time_zone=TIME_ZONE,
            min_size=sizing.off_hours_hosts,
            max_size=sizing.hosts,
            desired_capacity=sizing.off_hours_hosts,
            opts=child,
        )
        self.register_outputs({"group_name": self.group_name, "rdp_address": self.rdp_address})
