"""The whole program under the mock runtime at 50, 200 and 2,000 seats."""

from __future__ import annotations

from collections import Counter

import pytest

from infra.tagging import (
    TAG_PROJECT,
    TAG_ROLE,
    TAG_SSM_BUCKET,
    TAG_STACK,
    TAG_ZONE,
    Role,
)
from tests.unit.infra.pulumi_mocks import TeleworkMocks, program_at

SEATS = [50, 200, 2000]
# Resource types that take tags and are not sub-configurations of another resource.
UNTAGGED_TYPES = {
    "aws:ec2/route:Route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/vpnConnectionRoute:VpnConnectionRoute",
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation",
    "aws:ec2/volumeAttachment:VolumeAttachment",
    "aws:ec2clientvpn/networkAssociation:NetworkAssociation",
    "aws:ec2clientvpn/authorizationRule:AuthorizationRule",
    "aws:autoscaling/schedule:Schedule",
    "aws:autoscaling/group:Group",  # tagged through a list of tag objects
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:kms/alias:Alias",
    "aws:lb/listener:Listener",
    "aws:lb/targetGroupAttachment:TargetGroupAttachment",
    "aws:cloudwatch/eventTarget:EventTarget",
    "aws:cloudwatch/logStream:LogStream",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
}


@pytest.fixture(params=SEATS, ids=[f"{s}-seats" for s in SEATS])
def run(request: pytest.FixtureRequest) -> tuple[int, TeleworkMocks]:
    seats: int = request.param
    return seats, program_at(seats)


def test_desktop_group_is_sized_from_seats_and_users_per_host(
    run: tuple[int, TeleworkMocks],
) -> None:
    seats, mocks = run
    (group,) = mocks.of_type("aws:autoscaling/group:Group")
    hosts = -(-seats // 10)
    refresh_room = max(1, -(-hosts // 10))
    assert (
        group.inputs["minSize"],
        group.inputs["maxSize"],
        group.inputs["desiredCapacity"],
    ) == (
        hosts,
        hosts + refresh_room,
        hosts,
    )


def test_the_same_resources_at_every_scale(run: tuple[int, TeleworkMocks]) -> None:
    _, mocks = run
    counts = Counter(r.type for r in mocks.resources)
    assert counts["aws:ec2/subnet:Subnet"] == 6
    assert counts["aws:ec2/vpc:Vpc"] == 1
    assert counts["aws:ec2/instance:Instance"] == 4  # log server, package proxy, two brokers
    assert counts["aws:ec2/launchTemplate:LaunchTemplate"] == 1
    assert counts["aws:ec2clientvpn/endpoint:Endpoint"] == 1
    assert counts["aws:ec2/vpnConnection:VpnConnection"] == 2
    assert counts["aws:s3/bucket:Bucket"] == 3  # archive, SSM transfer, site bundle
    assert counts["aws:ssm/association:Association"] == 4  # desktops, brokers, log server, proxy
    assert counts["aws:ec2/route:Route"] == 1  # the edge zone's default route, nothing else


def test_tw11_no_instance_outside_the_edge_zone_has_a_public_address(
    run: tuple[int, TeleworkMocks],
) -> None:
    _, mocks = run
    for instance in mocks.of_type("aws:ec2/instance:Instance"):
        public = instance.inputs["associatePublicIpAddress"]
        assert public is (instance.tags[TAG_ZONE] == "edge"), instance.name
        assert instance.tags[TAG_ROLE] != Role.LOG_SERVER or public is False


def test_every_volume_and_bucket_is_encrypted(run: tuple[int, TeleworkMocks]) -> None:
    _, mocks = run
    for instance in mocks.of_type("aws:ec2/instance:Instance"):
        assert instance.inputs["rootBlockDevice"]["encrypted"] is True
    for volume in mocks.of_type("aws:ebs/volume:Volume"):
        assert volume.inputs["encrypted"] is True
    (template,) = mocks.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert all(m["ebs"]["encrypted"] == "true" for m in template.inputs["blockDeviceMappings"])
    buckets = {b.inputs.get("bucket", f"{b.name}-0a1b2c") for b in mocks.of_type("aws:s3/bucket:Bucket")}
    encrypted = {
        e.inputs["bucket"]
        for e in mocks.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    }
    assert buckets == encrypted


def test_every_host_requires_imdsv2(run: tuple[int, TeleworkMocks]) -> None:
    _, mocks = run
    for instance in mocks.of_type("aws:ec2/instance:Instance"):
        assert instance.inputs["metadataOptions"]["httpTokens"] == "required"
    (template,) = mocks.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"


def test_every_taggable_resource_names_project_and_stack(
    run: tuple[int, TeleworkMocks],
) -> None:
    _, mocks = run
    for resource in mocks.resources:
        bucket_setting = resource.type.startswith("aws:s3/bucket") and not resource.type.startswith("aws:s3/bucket:")
        if resource.type.startswith("telework:") or resource.type in UNTAGGED_TYPES or bucket_setting:
            continue
        assert resource.tags.get(TAG_PROJECT) == "telework", resource.type
        assert resource.tags.get(TAG_STACK) == "test", resource.type


def test_every_instance_carries_the_inventory_tags(
    run: tuple[int, TeleworkMocks],
) -> None:
    _, mocks = run
    roles = set()
    for instance in mocks.of_type("aws:ec2/instance:Instance"):
        assert instance.tags[TAG_SSM_BUCKET] == "ssm-transfer-bucket-0a1b2c"
        roles.add(instance.tags[TAG_ROLE])
    assert roles == {"log_server", "package_proxy", "rdp_broker"}


def test_tw09_retention_of_every_log_group_is_the_configured_one(
    run: tuple[int, TeleworkMocks],
) -> None:
    _, mocks = run
    groups = mocks.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 3
    assert {g.inputs["retentionInDays"] for g in groups} == {400}


def test_tw09_only_the_log_server_is_protected_from_termination(
    run: tuple[int, TeleworkMocks],
) -> None:
    _, mocks = run
    protected = {
        i.tags[TAG_ROLE]: i.inputs["disableApiTermination"] for i in mocks.of_type("aws:ec2/instance:Instance")
    }
    assert protected == {"log_server": True, "package_proxy": False, "rdp_broker": False}


def test_termination_protection_is_the_callers_choice_not_a_check_of_the_role(mocks: TeleworkMocks) -> None:
    from infra.debian_image import HostImage
    from infra.ec2_host import Ec2Host, Ec2HostArgs
    from infra.host_context import HostContext
    from infra.tagging import Zone
    from tests.unit.infra.pulumi_mocks import declare

    context = HostContext(
        stack="test",
        region="ap-northeast-1",
        image=HostImage(id="ami-1", root_device_name="/dev/xvda"),
        kms_key_arn="arn:aws:kms:ap-northeast-1:123456789012:key/k",
        ssm_bucket_name="ssm",
        site_bundle_object_arn="arn:aws:s3:::bundle/site.zip",
        proxy_address=None,
    )
    for role, protect in ((Role.PACKAGE_PROXY, True), (Role.LOG_SERVER, False)):
        name = f"host-{role.value.replace('_', '-')}"
        args = Ec2HostArgs(
            context=context,
            role=role,
            zone=Zone.EDGE,
            controls="TW-11",
            instance_type="t3.small",
            subnet_id="subnet-1",
            availability_zone="ap-northeast-1a",
            security_group_ids=["sg-1"],
            instance_profile_name="profile",
            termination_protection=protect,
        )
        declare(lambda n=name, a=args: Ec2Host(n, a).instance_id.apply(lambda _: None))
        assert mocks.one("aws:ec2/instance:Instance", f"{name}-instance").inputs["disableApiTermination"] is protect


def test_openvpn_gateways_are_optional_edge_hosts_with_elastic_ips() -> None:
    mocks = program_at(200, "gateways", vpn_gateway_count=2, customer_gateways=[])
    gateways = [i for i in mocks.of_type("aws:ec2/instance:Instance") if i.tags[TAG_ROLE] == "vpn_gateway"]
    assert len(gateways) == 2
    assert {g.inputs["subnetId"] for g in gateways} == {
        "network-edge-0-id",
        "network-edge-1-id",
    }
    assert all(g.inputs["associatePublicIpAddress"] is True for g in gateways)
    assert len(mocks.of_type("aws:ec2/eip:Eip")) == 2
    assert not mocks.of_type("aws:ec2/vpnConnection:VpnConnection")
    assert not mocks.of_type("aws:ec2/vpnGateway:VpnGateway")


def test_entry_point_reads_config_and_builds_the_stack(mocks: TeleworkMocks, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import runpy
    from pathlib import Path

    from tests.unit.infra.pulumi_mocks import CLIENT_CA, SERVER_CERT, declare

    monkeypatch.setenv(
        "PULUMI_CONFIG",
        json.dumps(
            {
                "telework:seats": "30",
                "telework:client_vpn_server_certificate_arn": SERVER_CERT,
                "telework:client_vpn_root_certificate_arn": CLIENT_CA,
            }
        ),
    )
    main = Path(__file__).resolve().parents[3] / "infra" / "__main__.py"
    declare(lambda: runpy.run_path(str(main), run_name="__main__") and None)
    (group,) = mocks.of_type("aws:autoscaling/group:Group")
    assert group.inputs["desiredCapacity"] == 3
    assert not mocks.of_type("aws:ec2/vpnConnection:VpnConnection")
