"""Remote-desktop hosts and the RDP entry: sizing from seats, launch template hardening,
schedules, the session brokers behind the internal balancer."""

from __future__ import annotations

import base64

import pulumi
import pytest

from infra.config import desktop_hosts_for
from infra.debian_image import DEBIAN_13_NAME, DEBIAN_OWNER_ID, debian_13_image
from infra.desktops import Desktops, DesktopsArgs, DesktopSizing
from infra.host_context import HostContext
from infra.session_brokers import SessionBrokers, SessionBrokersArgs
from infra.tagging import TAG_ROLE, TAG_SSM_BUCKET, TAG_ZONE
from tests.unit.infra.pulumi_mocks import DEBIAN_AMI, TeleworkMocks, declare

TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GROUP = "aws:autoscaling/group:Group"
SCHEDULE = "aws:autoscaling/schedule:Schedule"
TARGETS = "aws:lb/targetGroup:TargetGroup"
BALANCER = "aws:lb/loadBalancer:LoadBalancer"


def _context() -> HostContext:
    return HostContext(
        stack="test",
        region="ap-northeast-1",
        image=debian_13_image(),
        kms_key_arn="arn:aws:kms:ap-northeast-1:123456789012:key/k",
        ssm_bucket_name="ssm-transfer-0a1b2c",
        site_bundle_object_arn="arn:aws:s3:::site-bundle/site.zip",
        proxy_address="10.40.0.10",
    )


def _declare(mocks: TeleworkMocks, hosts: int = 20, off_hours: int = 1) -> None:
    def program() -> pulumi.Output[None]:
        context = _context()
        desktops = Desktops(
            "desktops",
            DesktopsArgs(
                context=context,
                sizing=DesktopSizing(
                    hosts=hosts,
                    off_hours_hosts=off_hours,
                    work_start_hour=7,
                    work_end_hour=22,
                ),
                instance_type="m7i.2xlarge",
                volume_gb=60,
                subnet_ids=["subnet-d0", "subnet-d1"],
                desktop_security_group_id="sg-desktop",
                instance_profile_arn="arn:aws:iam::123456789012:instance-profile/desktop",
                service_linked_role_arn="arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/x",
                lifecycle_hooks=[],
                launch_after=[],
            ),
        )
        brokers = SessionBrokers(
            "rdp-brokers",
            SessionBrokersArgs(
                context=context,
                instance_type="c7i.large",
                vpc_id="vpc-1",
                subnet_ids=["subnet-d0", "subnet-d1"],
                availability_zones=("ap-northeast-1a", "ap-northeast-1c"),
                broker_security_group_id="sg-rdp-broker",
                rdp_entry_security_group_id="sg-rdp-entry",
            ),
        )

        def check(values: list[str]) -> None:
            group_name, address = values
            assert group_name == "telework-test-desktops"
            assert address == "rdp.internal.example"

        return pulumi.Output.all(desktops.group_name, brokers.rdp_address).apply(check)

    declare(program)


@pytest.mark.parametrize(
    ("seats", "users_per_host", "hosts"),
    [
        (50, 10, 5),
        (200, 10, 20),
        (2000, 10, 200),
        (2000, 8, 250),
        (1, 10, 1),
        (51, 10, 6),
    ],
)
def test_host_count_covers_every_seat(seats: int, users_per_host: int, hosts: int) -> None:
    assert desktop_hosts_for(seats, users_per_host) == hosts


def test_group_runs_every_host_in_working_hours_over_both_subnets(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks, hosts=20)
    (group,) = mocks.of_type(GROUP)
    assert (
        group.inputs["minSize"],
        group.inputs["maxSize"],
        group.inputs["desiredCapacity"],
    ) == (
        20,
        22,
        20,
    )
    assert group.inputs["vpcZoneIdentifiers"] == ["subnet-d0", "subnet-d1"]
    assert group.inputs["healthCheckType"] == "EC2"
    assert group.inputs["launchTemplate"]["id"] == "desktops-template-id"


def test_tw07_group_grows_before_work_and_shrinks_after_it_in_tokyo_time(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks, hosts=20, off_hours=2)
    schedules = {s.inputs["scheduledActionName"]: s.inputs for s in mocks.of_type(SCHEDULE)}
    up = schedules["telework-working-hours"]
    down = schedules["telework-off-hours"]
    # An hour before work starts: the time a fresh host needs to configure itself.
    assert up["recurrence"] == "0 6 * * 1-5" and up["timeZone"] == "Asia/Tokyo"
    assert (up["minSize"], up["desiredCapacity"]) == (20, 20)
    assert down["recurrence"] == "0 22 * * *" and down["timeZone"] == "Asia/Tokyo"
    assert (down["minSize"], down["desiredCapacity"], down["maxSize"]) == (2, 2, 22)


def test_tw07_work_starting_at_midnight_warms_up_the_evening_before() -> None:
    sizing = DesktopSizing(hosts=5, off_hours_hosts=0, work_start_hour=0, work_end_hour=8)
    assert sizing.scale_up_recurrence == "0 23 * * 0-4"


def test_launch_template_requires_imdsv2_and_encrypts_the_volume(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    (template,) = mocks.of_type(TEMPLATE)
    inputs = template.inputs
    assert inputs["metadataOptions"]["httpTokens"] == "required"
    assert inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (mapping,) = inputs["blockDeviceMappings"]
    assert mapping["deviceName"] == "/dev/xvda"
    assert mapping["ebs"]["encrypted"] == "true"
    assert mapping["ebs"]["kmsKeyId"].startswith("arn:aws:kms:")


def test_tw11_desktops_get_no_public_address_and_only_the_desktop_group(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    (template,) = mocks.of_type(TEMPLATE)
    (interface,) = template.inputs["networkInterfaces"]
    assert interface["associatePublicIpAddress"] == "false"
    assert interface["securityGroups"] == ["sg-desktop"]
    assert template.inputs["iamInstanceProfile"]["arn"].endswith("instance-profile/desktop")


def test_desktops_boot_debian_13_from_the_debian_owner(mocks: TeleworkMocks) -> None:
    _declare(mocks)
    (template,) = mocks.of_type(TEMPLATE)
    assert template.inputs["imageId"] == DEBIAN_AMI
    assert mocks.calls.count("aws:ec2/getAmi:getAmi") == 1
    assert DEBIAN_OWNER_ID == "136693071363" and DEBIAN_13_NAME == "debian-13-amd64-*"
    script = base64.b64decode(template.inputs["userData"]).decode()
    assert script.startswith("#!/bin/sh")
    assert 'Acquire::http::Proxy "http://10.40.0.10:3142"' in script


def test_instances_and_volumes_carry_the_inventory_tags(mocks: TeleworkMocks) -> None:
    _declare(mocks)
    (template,) = mocks.of_type(TEMPLATE)
    specs = {s["resourceType"]: s["tags"] for s in template.inputs["tagSpecifications"]}
    assert set(specs) == {"instance", "volume", "network-interface"}
    for tags in specs.values():
        assert tags[TAG_ROLE] == "remote_desktop"
        assert tags[TAG_ZONE] == "desktop"
        assert tags[TAG_SSM_BUCKET] == "ssm-transfer-0a1b2c"
        assert tags["telework:project"] == "telework"


def test_tw11_rdp_entry_is_internal_and_forwards_to_one_broker_per_zone(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    (balancer,) = mocks.of_type(BALANCER)
    assert balancer.inputs["internal"] is True
    assert balancer.inputs["loadBalancerType"] == "network"
    assert balancer.inputs["securityGroups"] == ["sg-rdp-entry"]
    (targets,) = mocks.of_type(TARGETS)
    assert targets.inputs["port"] == 3389 and targets.inputs["protocol"] == "TCP"
    assert targets.inputs["stickiness"] == {"type": "source_ip", "enabled": False}
    brokers = [i for i in mocks.of_type("aws:ec2/instance:Instance") if i.tags[TAG_ROLE] == "rdp_broker"]
    assert sorted(b.inputs["subnetId"] for b in brokers) == ["subnet-d0", "subnet-d1"]
    assert all(b.inputs["vpcSecurityGroupIds"] == ["sg-rdp-broker"] for b in brokers)
    attached = {a.inputs["targetId"] for a in mocks.of_type("aws:lb/targetGroupAttachment:TargetGroupAttachment")}
    assert attached == {"rdp-brokers-0-instance-id", "rdp-brokers-1-instance-id"}
