"""Each policy rejects a resource that breaks it and accepts one that keeps it.

The validators are called directly with crafted arguments: the pulumi-policy runtime itself
can only be driven by the Pulumi CLI, which CI runs (`pulumi preview --policy-pack policy`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import telework_policies as rules
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

OPTS = PolicyResourceOptions(
    protect=False,
    ignore_changes=[],
    delete_before_replace=None,
    aliases=[],
    custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
    additional_secret_outputs=[],
)


def _resource_args(
    resource_type: str,
    props: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource_type=resource_type,
        props=props,
        urn=f"urn:pulumi:test::telework::{resource_type}::r",
        name="r",
        opts=OPTS,
        provider=None,
        config=config,
    )


def violations(
    validator: Callable[[ResourceValidationArgs, Any], None],
    resource_type: str,
    props: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    found: list[str] = []
    validator(
        _resource_args(resource_type, props, config),
        lambda message, urn=None: found.append(message),
    )
    return found


def _resource(resource_type: str, props: Mapping[str, Any], name: str) -> PolicyResource:
    return PolicyResource(
        resource_type=resource_type,
        props=props,
        urn=f"urn:pulumi:test::telework::{resource_type}::{name}",
        name=name,
        opts=OPTS,
        provider=None,
        parent=None,
        dependencies=[],
        property_dependencies={},
    )


def stack_violations(
    validator: Callable[[StackValidationArgs, Any], None],
    resources: list[PolicyResource],
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    found: list[str] = []
    validator(
        StackValidationArgs(resources, config),
        lambda message, urn=None: found.append(message),
    )
    return found


DESKTOP_INSTANCE: dict[str, Any] = {
    "tags": {"telework:role": "remote_desktop", "telework:zone": "desktop"},
    "associatePublicIpAddress": False,
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
    "rootBlockDevice": {"encrypted": True},
    "ebsBlockDevices": [{"deviceName": "/dev/xvdf", "encrypted": True}],
}
DESKTOP_TEMPLATE: dict[str, Any] = {
    "tagSpecifications": [
        {"resourceType": "instance", "tags": {"telework:role": "remote_desktop"}},
    ],
    "networkInterfaces": [{"associatePublicIpAddress": "false"}],
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}],
}


def _with(base: Mapping[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    changed: Any = copy.deepcopy(dict(base))
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return dict(changed)


# --- no public address on desktop or log hosts (TW-11) ---


@pytest.mark.parametrize("role", ["remote_desktop", "log_server"])
def test_tw11_public_ip_on_desktop_or_log_instance_is_rejected(role: str) -> None:
    props = _with(
        _with(DESKTOP_INSTANCE, ["associatePublicIpAddress"], True),
        ["tags", "telework:role"],
        role,
    )
    assert violations(rules.no_public_ip_on_private_hosts, rules.INSTANCE, props)
    assert not violations(rules.no_public_ip_on_private_hosts, rules.INSTANCE, DESKTOP_INSTANCE)


def test_tw11_public_ip_on_the_vpn_gateway_in_the_edge_zone_is_accepted() -> None:
    props = {
        "tags": {"telework:role": "vpn_gateway", "telework:zone": "edge"},
        "associatePublicIpAddress": True,
    }
    assert not violations(rules.no_public_ip_on_private_hosts, rules.INSTANCE, props)


def test_tw11_instance_without_role_tag_is_rejected() -> None:
    assert violations(rules.no_public_ip_on_private_hosts, rules.INSTANCE, {"tags": {}})


def test_tw11_desktop_launch_template_with_public_ip_is_rejected() -> None:
    bad = _with(DESKTOP_TEMPLATE, ["networkInterfaces", 0, "associatePublicIpAddress"], "true")
    assert violations(rules.no_public_ip_on_private_hosts, rules.LAUNCH_TEMPLATE, bad)
    assert not violations(rules.no_public_ip_on_private_hosts, rules.LAUNCH_TEMPLATE, DESKTOP_TEMPLATE)


def test_tw11_desktop_subnet_mapping_public_ips_is_rejected() -> None:
    good = {"tags": {"telework:zone": "desktop"}, "mapPublicIpOnLaunch": False}
    bad = _with(good, ["mapPublicIpOnLaunch"], True)
    assert violations(rules.no_public_ip_on_private_hosts, rules.SUBNET, bad)
    assert not violations(rules.no_public_ip_on_private_hosts, rules.SUBNET, good)


# --- encryption on every volume and bucket (TW-09) ---


@pytest.mark.parametrize(
    ("resource_type", "good", "path", "bad_value"),
    [
        (rules.VOLUME, {"encrypted": True}, ["encrypted"], False),
        (rules.INSTANCE, DESKTOP_INSTANCE, ["rootBlockDevice", "encrypted"], False),
        (rules.INSTANCE, DESKTOP_INSTANCE, ["ebsBlockDevices", 0, "encrypted"], False),
        (
            rules.LAUNCH_TEMPLATE,
            DESKTOP_TEMPLATE,
            ["blockDeviceMappings", 0, "ebs", "encrypted"],
            "false",
        ),
    ],
)
def test_tw09_unencrypted_volume_is_rejected(
    resource_type: str, good: Mapping[str, Any], path: list[Any], bad_value: Any
) -> None:
    assert violations(rules.encrypted_volumes, resource_type, _with(good, path, bad_value))
    assert not violations(rules.encrypted_volumes, resource_type, good)


def test_tw09_volume_without_encrypted_flag_is_rejected() -> None:
    assert violations(rules.encrypted_volumes, rules.VOLUME, {"size": 10})


def _bucket(name: str, **props: Any) -> PolicyResource:
    return _resource(rules.BUCKET, {"bucket": name, **props}, name)


def _sse(bucket: str, algorithm: str) -> PolicyResource:
    props = {
        "bucket": bucket,
        "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}],
    }
    return _resource(rules.BUCKET_SSE, props, f"{bucket}-sse")


def test_tw09_bucket_without_encryption_configuration_is_rejected() -> None:
    found = stack_violations(rules.encrypted_buckets, [_bucket("a"), _bucket("b"), _sse("a", "aws:kms")])
    assert len(found) == 1 and "bucket b" in found[0]
    assert not stack_violations(
        rules.encrypted_buckets,
        [_bucket("a"), _bucket("b"), _sse("a", "aws:kms"), _sse("b", "AES256")],
    )


def test_tw09_bucket_with_an_unknown_algorithm_is_rejected() -> None:
    assert stack_violations(rules.encrypted_buckets, [_bucket("a"), _sse("a", "none")])


# --- IMDSv2 ---


@pytest.mark.parametrize(
    "resource_type, good",
    [(rules.INSTANCE, DESKTOP_INSTANCE), (rules.LAUNCH_TEMPLATE, DESKTOP_TEMPLATE)],
)
def test_imdsv1_is_rejected(resource_type: str, good: Mapping[str, Any]) -> None:
    assert violations(
        rules.imdsv2_required,
        resource_type,
        _with(good, ["metadataOptions", "httpTokens"], "optional"),
    )
    assert violations(rules.imdsv2_required, resource_type, _with(good, ["metadataOptions"], {}))
    assert not violations(rules.imdsv2_required, resource_type, good)


@pytest.mark.parametrize(
    "resource_type, good",
    [(rules.INSTANCE, DESKTOP_INSTANCE), (rules.LAUNCH_TEMPLATE, DESKTOP_TEMPLATE)],
)
@pytest.mark.parametrize("hops", [2, None])
def test_tw11_metadata_reachable_beyond_the_instance_is_rejected(
    resource_type: str, good: Mapping[str, Any], hops: int | None
) -> None:
    bad = _with(good, ["metadataOptions", "httpPutResponseHopLimit"], hops)
    assert any("HopLimit" in v for v in violations(rules.imdsv2_required, resource_type, bad))
    assert not violations(rules.imdsv2_required, resource_type, good)


# --- no one may destroy a key (TW-09) ---

KEY_POLICY = {
    "Statement": [
        {"Sid": "NoOne", "Effect": "Deny", "Principal": "*", "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"]},
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*"},
    ]
}


def test_tw09_key_that_an_administrator_may_delete_is_rejected() -> None:
    good = {"policy": json.dumps(KEY_POLICY)}
    assert not violations(rules.keys_cannot_be_destroyed, rules.KMS_KEY, good)
    without_deny = {"policy": json.dumps({"Statement": KEY_POLICY["Statement"][1:]})}
    assert len(violations(rules.keys_cannot_be_destroyed, rules.KMS_KEY, without_deny)) == 2
    only_for_one_user = copy.deepcopy(KEY_POLICY)
    only_for_one_user["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::123456789012:user/x"}
    assert violations(rules.keys_cannot_be_destroyed, rules.KMS_KEY, {"policy": json.dumps(only_for_one_user)})
    wildcard = copy.deepcopy(KEY_POLICY)
    wildcard["Statement"][0]["Action"] = "kms:*"
    assert not violations(rules.keys_cannot_be_destroyed, rules.KMS_KEY, {"policy": json.dumps(wildcard)})


# --- endpoints limited to the ward (TW-11) ---

WARD_ONLY = {
    "Statement": [
        {
            "Sid": "Ward",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}},
        },
        {
            "Sid": "Agent",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::amazon-ssm-ap-northeast-1/*"],
        },
    ]
}


@pytest.mark.parametrize("service", ["s3", "ssm", "logs", "kms"])
def test_tw11_endpoint_open_to_any_principal_is_rejected(service: str) -> None:
    name = f"com.amazonaws.ap-northeast-1.{service}"
    good = {"serviceName": name, "policy": json.dumps(WARD_ONLY)}
    assert not violations(rules.endpoints_limited_to_the_ward, rules.VPC_ENDPOINT, good)
    assert violations(rules.endpoints_limited_to_the_ward, rules.VPC_ENDPOINT, {"serviceName": name})
    open_policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
    assert violations(
        rules.endpoints_limited_to_the_ward,
        rules.VPC_ENDPOINT,
        {"serviceName": name, "policy": json.dumps(open_policy)},
    )


def test_tw11_endpoints_of_services_without_policies_are_left_alone() -> None:
    props = {"serviceName": "com.amazonaws.ap-northeast-1.ssmmessages"}
    assert not violations(rules.endpoints_limited_to_the_ward, rules.VPC_ENDPOINT, props)
    assert violations(
        rules.endpoints_limited_to_the_ward, rules.VPC_ENDPOINT, props, {"policyServices": ["ssmmessages"]}
    )


# --- no wildcard S3 writes (TW-11) ---


@pytest.mark.parametrize(
    ("action", "resource"),
    [("s3:PutObject", "*"), ("s3:*", "arn:aws:s3:::*"), ("*", "*"), ("s3:Delete*", "arn:aws:s3:::*/*")],
)
def test_tw11_role_that_writes_to_every_bucket_is_rejected(action: str, resource: str) -> None:
    bad = {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})}
    assert violations(rules.no_wildcard_s3_writes, rules.ROLE_POLICY, bad)
    named = {
        "policy": json.dumps(
            {"Statement": [{"Effect": "Allow", "Action": action, "Resource": "arn:aws:s3:::archive/*"}]}
        )
    }
    assert not violations(rules.no_wildcard_s3_writes, rules.ROLE_POLICY, named)
    read = {
        "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]})
    }
    assert not violations(rules.no_wildcard_s3_writes, rules.ROLE_POLICY, read)


# --- no ingress from 0.0.0.0/0 except the VPN port (TW-11) ---

VPN_CONFIG = {"vpnPort": 1194, "vpnProtocol": "udp"}


@pytest.mark.parametrize(
    "props",
    [
        {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22},
        {
            "cidrIpv4": "0.0.0.0/0",
            "ipProtocol": "tcp",
            "fromPort": 3389,
            "toPort": 3389,
        },
        {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "-1", "fromPort": -1, "toPort": -1},
        {"cidrIpv6": "::/0", "ipProtocol": "udp", "fromPort": 1190, "toPort": 1200},
    ],
)
def test_tw11_ingress_rule_open_to_the_internet_is_rejected(
    props: Mapping[str, Any],
) -> None:
    assert violations(rules.no_open_ingress_except_vpn, rules.SG_INGRESS, props, VPN_CONFIG)


@pytest.mark.parametrize(
    "props",
    [
        {
            "cidrIpv4": "0.0.0.0/0",
            "ipProtocol": "udp",
            "fromPort": 1194,
            "toPort": 1194,
        },
        {
            "cidrIpv4": "172.30.0.0/20",
            "ipProtocol": "tcp",
            "fromPort": 3389,
            "toPort": 3389,
        },
        {
            "referencedSecurityGroupId": "sg-1",
            "ipProtocol": "tcp",
            "fromPort": 6514,
            "toPort": 6514,
        },
    ],
)
def test_tw11_vpn_port_and_internal_ingress_rules_are_accepted(
    props: Mapping[str, Any],
) -> None:
    assert not violations(rules.no_open_ingress_except_vpn, rules.SG_INGRESS, props, VPN_CONFIG)


def test_tw11_inline_and_legacy_rules_open_to_the_internet_are_rejected() -> None:
    inline = {
        "ingress": [
            {
                "cidrBlocks": ["0.0.0.0/0"],
                "protocol": "tcp",
                "fromPort": 22,
                "toPort": 22,
            }
        ]
    }
    assert violations(rules.no_open_ingress_except_vpn, rules.SG, inline, VPN_CONFIG)
    legacy = {
        "type": "ingress",
        "cidrBlocks": ["0.0.0.0/0"],
        "protocol": "tcp",
        "fromPort": 443,
        "toPort": 443,
    }
    assert violations(rules.no_open_ingress_except_vpn, rules.SG_RULE, legacy, VPN_CONFIG)
    assert not violations(
        rules.no_open_ingress_except_vpn,
        rules.SG_RULE,
        dict(legacy, type="egress"),
        VPN_CONFIG,
    )
    vpn = {
        "ingress": [
            {
                "cidrBlocks": ["0.0.0.0/0"],
                "protocol": "udp",
                "fromPort": 1194,
                "toPort": 1194,
            }
        ]
    }
    assert not violations(rules.no_open_ingress_except_vpn, rules.SG, vpn, VPN_CONFIG)


def test_tw11_the_vpn_port_comes_from_policy_config() -> None:
    rule = {
        "cidrIpv4": "0.0.0.0/0",
        "ipProtocol": "udp",
        "fromPort": 443,
        "toPort": 443,
    }
    assert violations(rules.no_open_ingress_except_vpn, rules.SG_INGRESS, rule, VPN_CONFIG)
    assert not violations(rules.no_open_ingress_except_vpn, rules.SG_INGRESS, rule, {"vpnPort": 443})


# --- log retention at least the configured minimum (TW-09) ---


def test_tw09_log_group_shorter_than_the_minimum_is_rejected() -> None:
    config = {"minimumRetentionDays": 365}
    assert violations(rules.log_retention_minimum, rules.LOG_GROUP, {"retentionInDays": 90}, config)
    assert not violations(rules.log_retention_minimum, rules.LOG_GROUP, {"retentionInDays": 400}, config)
    assert not violations(rules.log_retention_minimum, rules.LOG_GROUP, {"retentionInDays": 0}, config)


def test_tw09_default_minimum_is_ninety_days() -> None:
    assert violations(rules.log_retention_minimum, rules.LOG_GROUP, {"retentionInDays": 60})
    assert not violations(rules.log_retention_minimum, rules.LOG_GROUP, {"retentionInDays": 90})


# --- Object Lock on the archive (TW-09) ---

ARCHIVE_TAGS = {"telework:purpose": "log-archive"}


def _lock(bucket: str, days: int, enabled: str = "Enabled") -> PolicyResource:
    props = {
        "bucket": bucket,
        "objectLockEnabled": enabled,
        "rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": days}},
    }
    return _resource(rules.BUCKET_LOCK, props, f"{bucket}-lock")


def test_tw09_archive_with_object_lock_and_enough_retention_is_accepted() -> None:
    resources = [
        _bucket("archive", objectLockEnabled=True, tags=ARCHIVE_TAGS),
        _lock("archive", 1827),
    ]
    assert not stack_violations(rules.archive_object_lock, resources, {"minimumRetentionDays": 365})


def test_tw09_archive_without_object_lock_is_rejected() -> None:
    resources = [
        _bucket("archive", objectLockEnabled=False, tags=ARCHIVE_TAGS),
        _lock("archive", 1827),
    ]
    assert stack_violations(rules.archive_object_lock, resources)


def test_tw09_archive_without_lock_configuration_or_with_short_retention_is_rejected() -> None:
    bucket = _bucket("archive", objectLockEnabled=True, tags=ARCHIVE_TAGS)
    assert stack_violations(rules.archive_object_lock, [bucket])
    assert stack_violations(
        rules.archive_object_lock,
        [bucket, _lock("archive", 30)],
        {"minimumRetentionDays": 365},
    )
    assert stack_violations(rules.archive_object_lock, [bucket, _lock("archive", 1827, "Disabled")])


def test_tw09_stack_without_an_archive_bucket_is_rejected() -> None:
    assert stack_violations(rules.archive_object_lock, [_bucket("other")])


def test_every_policy_is_mandatory_and_has_a_validator() -> None:
    names = [p.name for p in rules.POLICIES]
    assert names == [
        "no-public-ip-on-desktop-or-log-hosts",
        "encrypted-volumes",
        "encrypted-buckets",
        "imdsv2-required",
        "keys-cannot-be-destroyed",
        "endpoints-limited-to-the-ward",
        "no-wildcard-s3-writes",
        "no-open-ingress-except-vpn-port",
        "log-retention-minimum",
        "archive-object-lock",
    ]
    for policy in rules.POLICIES:
        assert policy.enforcement_level is not None and policy.enforcement_level.value == "mandatory"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_policy_config_files_name_real_policies_and_schema_keys(stack: str) -> None:
    from pathlib import Path

    path = Path(rules.__file__).parent / f"config.{stack}.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    by_name = {p.name: p for p in rules.POLICIES}
    for name, values in config.items():
        schema = by_name[name].config_schema
        assert schema is not None, name
        assert set(values) <= set(schema.properties), name
