"""Remote-desktop hosts: sizing from seats, launch template hardening, schedules, RDP entry."""

from __future__ import annotations

import base64

import pulumi
import pytest

from infra.config import desktop_hosts_for
from infra.debian_image import DEBIAN_13_NAME, DEBIAN_OWNER_ID, debian_13_image_id
from infra.desktops import Desktops, DesktopsArgs, DesktopSizing
from infra.tagging import TAG_ROLE, TAG_SSM_BUCKET, TAG_ZONE
from tests.unit.infra.pulumi_mocks import DEBIAN_AMI, TeleworkMocks, declare

TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GROUP = "aws:autoscaling/group:Group"
SCHEDULE = "aws:autoscaling/schedule:Schedule"
TARGETS = "aws:lb/targetGroup:TargetGroup"
BALANCER = "aws:lb/loadBalancer:LoadBalancer"


def _declare(mocks: TeleworkMocks, hosts: int = 20, off_hours: int = 1) -> None:
    def program() -> pulumi.Output[None]:
        desktops = Desktops(
            "desktops",
            DesktopsArgs(
                stack="test",
                sizing=DesktopSizing(
                    hosts=hosts,
                    off_hours_hosts=off_hours,
                    work_start_hour=7,
                    work_end_hour=22,
                ),
                image_id=debian_13_image_id(),
                instance_type="m7i.2xlarge",
                volume_gb=60,
                vpc_id="vpc-1",
                subnet_ids=[
                    pulumi.Output.from_input("subnet-d0"),
                    pulumi.Output.from_input("subnet-d1"),
                ],
                desktop_security_group_id="sg-desktop",
                rdp_entry_security_group_id="sg-rdp-entry",
                instance_profile_arn="arn:aws:iam::123456789012:instance-profile/desktop",
                kms_key_arn="arn:aws:kms:ap-northeast-1:123456789012:key/k",
                ssm_bucket_name="ssm-transfer-0a1b2c",
                user_data="#!/bin/sh\necho hello\n",
            ),
        )

        def check(values: list[str]) -> None:
            group_name, address = values
            assert group_name == "desktops-group-0a1b2c"
            assert address == "rdp.internal.example"

        return pulumi.Output.all(desktops.group_name, desktops.rdp_address).apply(check)

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
        20,
        20,
    )
    assert group.inputs["vpcZoneIdentifiers"] == ["subnet-d0", "subnet-d1"]
    assert group.inputs["healthCheckType"] == "ELB"
    assert group.inputs["launchTemplate"]["id"] == "desktops-template-id"


def test_tw07_group_scales_down_outside_working_hours_in_tokyo_time(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks, hosts=20, off_hours=2)
    schedules = {s.inputs["scheduledActionName"]: s.inputs for s in mocks.of_type(SCHEDULE)}
    up = schedules["telework-working-hours"]
    down = schedules["telework-off-hours"]
    assert up["recurrence"] == "0 7 * * 1-5" and up["timeZone"] == "Asia/Tokyo"
    assert (up["minSize"], up["desiredCapacity"]) == (20, 20)
    assert down["recurrence"] == "0 22 * * *" and down["timeZone"] == "Asia/Tokyo"
    assert (down["minSize"], down["desiredCapacity"], down["maxSize"]) == (2, 2, 20)


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


def test_tw11_rdp_entry_is_internal_and_keeps_users_on_their_host(
    mocks: TeleworkMocks,
) -> None:
    _declare(mocks)
    (balancer,) = mocks.of_type(BALANCER)
    assert balancer.inputs["internal"] is True
    assert balancer.inputs["loadBalancerType"] == "network"
    assert balancer.inputs["securityGroups"] == ["sg-rdp-entry"]
    (targets,) = mocks.of_type(TARGETS)
    assert targets.inputs["port"] == 3389 and targets.inputs["protocol"] == "TCP"
    assert targets.inputs["stickiness"] == {"type": "source_ip", "enabled": True}
