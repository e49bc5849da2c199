"""The telework policy pack's rules: one validator per rule, each a plain function.

The Pulumi CLI runs them on every `pulumi preview` and `pulumi up` with
`--policy-pack policy` (see .github/workflows/pulumi-preview.yml); the unit tests call the
validators directly with crafted arguments, because the policy runtime needs the CLI.

Properties arrive with Pulumi's camelCase names (`associatePublicIpAddress`). A value still
unknown during a preview raises inside the SDK, which then skips the check for that resource;
`pulumi up` checks it again once the value is known.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET = "aws:ec2/subnet:Subnet"
VOLUME = "aws:ebs/volume:Volume"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
KMS_KEY = "aws:kms/key:Key"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"

TAG_ROLE = "telework:role"
TAG_ZONE = "telework:zone"
TAG_PURPOSE = "telework:purpose"
PRIVATE_ROLES = frozenset({"remote_desktop", "log_server"})
PRIVATE_ZONES = frozenset({"desktop", "management"})
ARCHIVE_PURPOSE = "log-archive"
SSE_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse", "AES256"})
OPEN = frozenset({"0.0.0.0/0", "::/0"})

# Interface and gateway endpoint services that take an endpoint policy (the stack's ones).
DEFAULT_POLICY_SERVICES = ("s3", "ssm", "logs", "kms")
KEY_DESTRUCTION = ("kms:ScheduleKeyDeletion", "kms:DisableKey")
S3_WRITES = ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketPolicy")
ALL_BUCKETS = ("*", "arn:aws:s3:::*", "arn:aws:s3:::*/*")

DEFAULT_MINIMUM_RETENTION_DAYS = 90
DEFAULT_VPN_PORT = 1194
DEFAULT_VPN_PROTOCOL = "udp"

_RETENTION_SCHEMA = PolicyConfigSchema(
    properties={
        "minimumRetentionDays": {
            "type": "integer",
            "minimum": 1,
            "default": DEFAULT_MINIMUM_RETENTION_DAYS,
            "description": "Fewest days a log group or the archive may keep records (TW-09).",
        }
    }
)
_VPN_SCHEMA = PolicyConfigSchema(
    properties={
        "vpnPort": {"type": "integer", "default": DEFAULT_VPN_PORT},
        "vpnProtocol": {
            "type": "string",
            "enum": ["udp", "tcp"],
            "default": DEFAULT_VPN_PROTOCOL,
        },
    }
)


_ENDPOINT_SCHEMA = PolicyConfigSchema(
    properties={
        "policyServices": {
            "type": "array",
            "items": {"type": "string"},
            "default": list(DEFAULT_POLICY_SERVICES),
            "description": "Endpoint services (last part of the service name) that must carry a policy (TW-11).",
        }
    }
)


def _statements(document: Any) -> list[Mapping[str, Any]]:
    parsed = json.loads(document) if isinstance(document, str) else document
    if not isinstance(parsed, Mapping):
        return []
    found = parsed.get("Statement", [])
    return [found] if isinstance(found, Mapping) else [s for s in found if isinstance(s, Mapping)]


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _covers(patterns: Any, action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in _listed(patterns))


def _tags(props: Mapping[str, Any]) -> Mapping[str, Any]:
    tags = props.get("tags")
    return tags if isinstance(tags, Mapping) else {}


def _template_instance_tags(props: Mapping[str, Any]) -> Mapping[str, Any]:
    for spec in props.get("tagSpecifications") or []:
        if spec.get("resourceType") == "instance" and isinstance(spec.get("tags"), Mapping):
            tags: Mapping[str, Any] = spec["tags"]
            return tags
    return {}


def _minimum_days(config: Mapping[str, Any]) -> int:
    return int(config.get("minimumRetentionDays", DEFAULT_MINIMUM_RETENTION_DAYS))


# --- TW-11: no public address on desktop or log hosts ---------------------------------------


def no_public_ip_on_private_hosts(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Desktop and log hosts (and desktop/management subnets) never get a public address."""
    props = args.props
    if args.resource_type == INSTANCE:
        tags = _tags(props)
        if TAG_ROLE not in tags:
            report(f"instance has no {TAG_ROLE} tag, so it cannot be checked (TW-11)", None)
        elif (tags[TAG_ROLE] in PRIVATE_ROLES or tags.get(TAG_ZONE) in PRIVATE_ZONES) and props.get(
            "associatePublicIpAddress"
        ) is True:
            report(f"{tags[TAG_ROLE]} host must not have a public IP address (TW-11)", None)
    elif args.resource_type == LAUNCH_TEMPLATE:
        tags = _template_instance_tags(props)
        if TAG_ROLE not in tags:
            report(f"launch template tags no instance with {TAG_ROLE} (TW-11)", None)
        elif tags[TAG_ROLE] in PRIVATE_ROLES or tags.get(TAG_ZONE) in PRIVATE_ZONES:
            for interface in props.get("networkInterfaces") or []:
                if str(interface.get("associatePublicIpAddress")).lower() == "true":
                    report(
                        f"{tags[TAG_ROLE]} launch template gives a public IP (TW-11)",
                        None,
                    )
    elif (
        args.resource_type == SUBNET
        and _tags(props).get(TAG_ZONE) in PRIVATE_ZONES
        and props.get("mapPublicIpOnLaunch") is True
    ):
        report(
            "desktop and management subnets must not map public IPs on launch (TW-11)",
            None,
        )


# --- TW-09: encryption on every volume ------------------------------------------------------


def encrypted_volumes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every EBS volume, root device and launch-template volume is encrypted."""
    props = args.props
    if args.resource_type == VOLUME:
        if props.get("encrypted") is not True:
            report("EBS volume must be encrypted", None)
    elif args.resource_type == INSTANCE:
        root = props.get("rootBlockDevice") or {}
        if root.get("encrypted") is not True:
            report("instance root volume must be encrypted", None)
        for device in props.get("ebsBlockDevices") or []:
            if device.get("encrypted") is not True:
                report(
                    f"instance volume {device.get('deviceName')} must be encrypted",
                    None,
                )
    elif args.resource_type == LAUNCH_TEMPLATE:
        for mapping in props.get("blockDeviceMappings") or []:
            ebs = mapping.get("ebs")
            if ebs is not None and str(ebs.get("encrypted")).lower() != "true":
                report(
                    f"launch template volume {mapping.get('deviceName')} must be encrypted",
                    None,
                )


# --- TW-09: encryption on every bucket (stack-wide: encryption is its own resource) ---------


def encrypted_buckets(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every S3 bucket has a server-side encryption configuration with a strong algorithm."""
    encrypted: set[str] = set()
    for resource in args.resources:
        if resource.resource_type != BUCKET_SSE:
            continue
        rules = resource.props.get("rules") or []
        algorithms = {(rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") for rule in rules}
        if algorithms and algorithms <= SSE_ALGORITHMS:
            encrypted.add(str(resource.props.get("bucket")))
    for resource in args.resources:
        if resource.resource_type == BUCKET and resource.props.get("bucket") not in encrypted:
            report(
                f"bucket {resource.props.get('bucket')} has no server-side encryption "
                "configuration (aws:kms or AES256)",
                resource.urn,
            )


# --- IMDSv2 ------------------------------------------------------------------------------------


def imdsv2_required(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Instances and launch templates accept only session-token (v2) metadata requests, and
    only from the instance itself (hop limit 1: not from a container or a forwarded packet)."""
    if args.resource_type in (INSTANCE, LAUNCH_TEMPLATE):
        options = args.props.get("metadataOptions") or {}
        if options.get("httpTokens") != "required":
            report("metadataOptions.httpTokens must be 'required' (IMDSv2 only)", None)
        if options.get("httpPutResponseHopLimit") != 1:
            report(
                "metadataOptions.httpPutResponseHopLimit must be 1 "
                f"(got {options.get('httpPutResponseHopLimit')}; images may default to 2)",
                None,
            )


# --- TW-09: no one may destroy a key that records depend on ---------------------------------


def keys_cannot_be_destroyed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every KMS key's policy denies everyone scheduling its deletion and disabling it."""
    if args.resource_type != KMS_KEY:
        return
    denied = [
        s for s in _statements(args.props.get("policy")) if s.get("Effect") == "Deny" and s.get("Principal") == "*"
    ]
    for action in KEY_DESTRUCTION:
        if not any(_covers(s.get("Action"), action) for s in denied):
            report(
                f"the key policy must deny {action} to every principal (TW-09: the locked archive "
                "would become unreadable)",
                None,
            )


# --- TW-11: endpoints let only the ward's principals through --------------------------------


def endpoints_limited_to_the_ward(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """VPC endpoints of services that take a policy carry one that names the ward's account
    (aws:PrincipalAccount or aws:PrincipalOrgID), except GETs of named objects (AWS-owned
    buckets the SSM agent downloads from)."""
    if args.resource_type != VPC_ENDPOINT:
        return
    services = args.get_config().get("policyServices", list(DEFAULT_POLICY_SERVICES))
    service = str(args.props.get("serviceName", "")).rsplit(".", 1)[-1]
    if service not in services:
        return
    found = _statements(args.props.get("policy"))
    if not found:
        report(f"the {service} endpoint has no endpoint policy: any principal reaches anything (TW-11)", None)
    for statement in found:
        if statement.get("Effect") != "Allow":
            continue
        condition = json.dumps(statement.get("Condition") or {})
        named_gets = _listed(statement.get("Action")) == ["s3:GetObject"] and "*" not in _listed(
            statement.get("Resource")
        )
        if "aws:PrincipalAccount" not in condition and "aws:PrincipalOrgID" not in condition and not named_gets:
            report(
                f"endpoint policy statement {statement.get('Sid', '?')} is not limited to the ward's "
                "principals (aws:PrincipalAccount) (TW-11)",
                None,
            )


# --- TW-11: no role may write to every bucket -----------------------------------------------


def no_wildcard_s3_writes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No IAM policy lets its holder write or delete objects in any bucket at all."""
    if args.resource_type not in (ROLE_POLICY, IAM_POLICY):
        return
    for statement in _statements(args.props.get("policy")):
        if statement.get("Effect") != "Allow":
            continue
        writes = [a for a in S3_WRITES if _covers(statement.get("Action"), a)]
        broad = [r for r in _listed(statement.get("Resource")) if r in ALL_BUCKETS]
        if writes and broad:
            report(
                f"statement {statement.get('Sid', '?')} allows {', '.join(writes)} on {', '.join(broad)}: "
                "name the buckets (TW-11)",
                None,
            )


# --- TW-11: no ingress from anywhere except the VPN port ------------------------------------


def _open_ingress_allowed(protocol: Any, from_port: Any, to_port: Any, config: Mapping[str, Any]) -> bool:
    port = int(config.get("vpnPort", DEFAULT_VPN_PORT))
    wanted = str(config.get("vpnProtocol", DEFAULT_VPN_PROTOCOL))
    return str(protocol) == wanted and from_port == port and to_port == port


def _check_open(
    sources: Iterable[Any],
    protocol: Any,
    from_port: Any,
    to_port: Any,
    config: Mapping[str, Any],
    report: ReportViolation,
) -> None:
    if OPEN.intersection(str(s) for s in sources if s) and not _open_ingress_allowed(
        protocol, from_port, to_port, config
    ):
        report(
            f"ingress from the internet is allowed only on the VPN port "
            f"{config.get('vpnProtocol', DEFAULT_VPN_PROTOCOL)}/"
            f"{config.get('vpnPort', DEFAULT_VPN_PORT)}, not {protocol}/{from_port}-{to_port} (TW-11)",
            None,
        )


def no_open_ingress_except_vpn(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No security-group ingress from 0.0.0.0/0 or ::/0, except on the VPN port."""
    props = args.props
    config = args.get_config()
    if args.resource_type == SG_INGRESS:
        _check_open(
            [props.get("cidrIpv4"), props.get("cidrIpv6")],
            props.get("ipProtocol"),
            props.get("fromPort"),
            props.get("toPort"),
            config,
            report,
        )
    elif args.resource_type == SG_RULE and props.get("type") == "ingress":
        _check_open(
            [*(props.get("cidrBlocks") or []), *(props.get("ipv6CidrBlocks") or [])],
            props.get("protocol"),
            props.get("fromPort"),
            props.get("toPort"),
            config,
            report,
        )
    elif args.resource_type == SG:
        for rule in props.get("ingress") or []:
            _check_open(
                [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])],
                rule.get("protocol"),
                rule.get("fromPort"),
                rule.get("toPort"),
                config,
                report,
            )


# --- TW-09: log retention at least the configured minimum -----------------------------------


def log_retention_minimum(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Log groups keep records at least `minimumRetentionDays` (0 or unset: forever)."""
    if args.resource_type != LOG_GROUP:
        return
    days = args.props.get("retentionInDays") or 0
    minimum = _minimum_days(args.get_config())
    if days and days < minimum:
        report(
            f"log group keeps records {days} days; at least {minimum} are required (TW-09)",
            None,
        )


# --- TW-09: Object Lock on the archive ------------------------------------------------------


def archive_object_lock(args: StackValidationArgs, report: ReportViolation) -> None:
    """The log archive bucket has Object Lock with a default retention of at least the minimum."""
    minimum = _minimum_days(args.get_config())
    archives = [
        r for r in args.resources if r.resource_type == BUCKET and _tags(r.props).get(TAG_PURPOSE) == ARCHIVE_PURPOSE
    ]
    if not archives:
        report(
            f"the stack has no bucket tagged {TAG_PURPOSE}={ARCHIVE_PURPOSE} (TW-09)",
            None,
        )
    locks = {str(r.props.get("bucket")): r.props for r in args.resources if r.resource_type == BUCKET_LOCK}
    for archive in archives:
        name = str(archive.props.get("bucket"))
        if archive.props.get("objectLockEnabled") is not True:
            report(
                f"log archive {name} must be created with Object Lock enabled (TW-09)",
                archive.urn,
            )
            continue
        lock = locks.get(name)
        retention = ((lock or {}).get("rule") or {}).get("defaultRetention") or {}
        days = retention.get("days") or 365 * (retention.get("years") or 0)
        if lock is None or lock.get("objectLockEnabled") != "Enabled" or days < minimum:
            report(
                f"log archive {name} needs an Object Lock default retention of at least "
                f"{minimum} days, has {days} (TW-09)",
                archive.urn,
            )


POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name="no-public-ip-on-desktop-or-log-hosts",
        description="TW-11: desktop and log hosts and their subnets have no public address.",
        validate=no_public_ip_on_private_hosts,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="encrypted-volumes",
        description="TW-09: every EBS volume is encrypted.",
        validate=encrypted_volumes,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="encrypted-buckets",
        description="TW-09: every S3 bucket has server-side encryption.",
        validate=encrypted_buckets,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="imdsv2-required",
        description="Instances and launch templates require IMDSv2 with a hop limit of 1.",
        validate=imdsv2_required,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="keys-cannot-be-destroyed",
        description="TW-09: every KMS key's policy denies scheduling its deletion and disabling it.",
        validate=keys_cannot_be_destroyed,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="endpoints-limited-to-the-ward",
        description="TW-11: VPC endpoints let only the ward's principals through.",
        validate=endpoints_limited_to_the_ward,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=_ENDPOINT_SCHEMA,
    ),
    ResourceValidationPolicy(
        name="no-wildcard-s3-writes",
        description="TW-11: no IAM policy writes to every bucket.",
        validate=no_wildcard_s3_writes,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="no-open-ingress-except-vpn-port",
        description="TW-11: no ingress from 0.0.0.0/0 except the VPN port.",
        validate=no_open_ingress_except_vpn,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=_VPN_SCHEMA,
    ),
    ResourceValidationPolicy(
        name="log-retention-minimum",
        description="TW-09: log groups keep records at least the configured minimum.",
        validate=log_retention_minimum,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=_RETENTION_SCHEMA,
    ),
    StackValidationPolicy(
        name="archive-object-lock",
        description="TW-09: the log archive bucket has Object Lock and enough retention.",
        validate=archive_object_lock,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=_RETENTION_SCHEMA,
    ),
]
