"""The remote-desktop hosts: a launch template, an Auto Scaling group and its schedules.

Sizing: `ceil(seats / users_per_host)` hosts during working hours, spread over the two desktop
subnets; outside working hours (and at weekends) a schedule keeps `off_hours_hosts` running for
staff on call or working through a disaster. The group grows an hour before `work_start_hour`,
the time a fresh host needs to configure itself, so every host takes sessions when work starts.

A new host configures itself before it counts (`infra.desktop_lifecycle`: launch hook, site
playbook on the host); a leaving host drains first (terminate hook). An instance refresh rolls
a new launch template through one host at a time, launching the new host before the old one
leaves (at least 100 % of the capacity stays in service) and skipping hosts already current.
Users reach the hosts through the session brokers (`infra.session_brokers`); the desktops
accept RDP from the brokers only.

Every host: the Debian 13 image, IMDSv2 only (hop limit 1, root only), an encrypted root volume
(KMS) under the image's own root device name, no public address, the SSM instance profile,
and the tags the Ansible inventory groups by.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.ec2_host import IMDS_HOP_LIMIT, IMDS_TOKENS, VOLUME_TYPE
from infra.host_context import HostContext
from infra.tagging import Role, Zone, base_tags, host_tags
from infra.user_data import ssm_bootstrap

TIME_ZONE = "Asia/Tokyo"
WORKING_DAYS = "1-5"  # Monday to Friday; public holidays are not known to cron
DAYS_BEFORE_WORKING_DAYS = "0-4"  # Sunday to Thursday, for a warm-up that starts the day before
CONFIGURE_LEAD_HOURS = 1
# Instance refresh: never below the working capacity; one extra host at a time (up to 200 %).
REFRESH_MIN_HEALTHY_PERCENT = 100
REFRESH_MAX_HEALTHY_PERCENT = 110


def group_name(stack: str) -> str:
    """The desktop group's name (known before it exists: the lifecycle rules match it)."""
    return f"telework-{stack}-desktops"


@dataclass(frozen=True)
class DesktopSizing:
    """How many hosts run, and when."""

    hosts: int
    off_hours_hosts: int
    work_start_hour: int
    work_end_hour: int

    @property
    def max_hosts(self) -> int:
        """Room above the working capacity for an instance refresh's extra hosts."""
        return self.hosts + max(1, math.ceil(self.hosts * (REFRESH_MAX_HEALTHY_PERCENT - 100) / 100))

    @property
    def scale_up_recurrence(self) -> str:
        """`CONFIGURE_LEAD_HOURS` before work starts, on working days (Tokyo time)."""
        hour = self.work_start_hour - CONFIGURE_LEAD_HOURS
        if hour < 0:
            return f"0 {hour + 24} * * {DAYS_BEFORE_WORKING_DAYS}"
        return f"0 {hour} * * {WORKING_DAYS}"

    @property
    def scale_down_recurrence(self) -> str:
        return f"0 {self.work_end_hour} * * *"


@dataclass(frozen=True)
class DesktopsArgs:
    context: HostContext
    sizing: DesktopSizing
    instance_type: str
    volume_gb: int
    subnet_ids: Sequence[pulumi.Input[str]]
    desktop_security_group_id: pulumi.Input[str]
    instance_profile_arn: pulumi.Input[str]
    # The stack's own Auto Scaling service-linked role (the key policy names it).
    service_linked_role_arn: pulumi.Input[str]
    lifecycle_hooks: Sequence[aws.autoscaling.GroupInitialLifecycleHookArgs]
    # Resources that must exist before the first host launches (the hooks' EventBridge rules).
    launch_after: Sequence[pulumi.Resource]


class Desktops(pulumi.ComponentResource):
    """Launch template, Auto Scaling group with lifecycle hooks and refresh, schedules."""

    group_name: pulumi.Output[str]

    def __init__(self, name: str, args: DesktopsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("telework:compute:Desktops", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        context = args.context
        stack = context.stack
        sizing = args.sizing

        tags = host_tags(
            stack,
            "remote-desktop",
            Role.REMOTE_DESKTOP,
            Zone.DESKTOP,
            "TW-01 TW-02 TW-03 TW-06 TW-07 TW-10",
            context.ssm_bucket_name,
        )
        template = aws.ec2.LaunchTemplate(
            f"{name}-template",
            description="telework remote-desktop host (xrdp session host)",
            image_id=context.image.id,
            instance_type=args.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=args.instance_profile_arn),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens=IMDS_TOKENS,
                http_put_response_hop_limit=IMDS_HOP_LIMIT,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=context.image.root_device_name,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_type=VOLUME_TYPE,
                        volume_size=args.volume_gb,
                        encrypted="true",
                        kms_key_id=context.kms_key_arn,
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
            user_data=ssm_bootstrap(context.region, context.proxy_address).apply(
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

        group = aws.autoscaling.Group(
            f"{name}-group",
            name=group_name(stack),
            vpc_zone_identifiers=list(args.subnet_ids),
            min_size=sizing.hosts,
            max_size=sizing.max_hosts,
            desired_capacity=sizing.hosts,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            service_linked_role_arn=args.service_linked_role_arn,
            initial_lifecycle_hooks=list(args.lifecycle_hooks),
            # The brokers check the hosts' RDP port; the group replaces hosts whose instance
            # fails. With a launch hook the grace period starts only once the host is configured.
            health_check_type="EC2",
            health_check_grace_period=300,
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=REFRESH_MIN_HEALTHY_PERCENT,
                    max_healthy_percentage=REFRESH_MAX_HEALTHY_PERCENT,
                    skip_matching=True,
                ),
            ),
            # Scale-in drains hosts first (terminate hook); take the newest, which have fewest users.
            termination_policies=["NewestInstance"],
            tags=[
                aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=False)
                for key, value in base_tags(stack, "desktop-group").items()
            ],
            # The schedules below move capacity; `pulumi up` at night must not undo them.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["desiredCapacity", "minSize"], depends_on=list(args.launch_after)
            ),
        )
        self.group_name = group.name

        aws.autoscaling.Schedule(
            f"{name}-working-hours",
            scheduled_action_name="telework-working-hours",
            autoscaling_group_name=group.name,
            recurrence=sizing.scale_up_recurrence,
            time_zone=TIME_ZONE,
            min_size=sizing.hosts,
            max_size=sizing.max_hosts,
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
            max_size=sizing.max_hosts,
            desired_capacity=sizing.off_hours_hosts,
            opts=child,
        )
        self.register_outputs({"group_name": self.group_name})
