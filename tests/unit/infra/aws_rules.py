"""What AWS (or the provider) would refuse at `pulumi preview` or `up`, checked over the mocks.

The mock runtime accepts any value, so each rule AWS enforces at apply time is written here
once, from the provider's argument docs and AWS's API references, and run over every resource
the program registers. Each check returns a list of problems ("resource: what is wrong"), so a
test can show them all at once. `tests/unit/infra/test_infra_aws_acceptance.py` runs them over
the whole program; the policy pack holds the rules a user would want enforced on any change.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.unit.infra.pulumi_mocks import ACCOUNT, REGION, Registered

Problems = list[str]

# --- physical names ------------------------------------------------------------------------


@dataclass(frozen=True)
class NameRule:
    """How AWS names one kind of resource, and which input holds the name."""

    field: str
    pattern: str
    longest: int
    forbidden_prefixes: tuple[str, ...] = ()
    prefix_field: str | None = None
    # Pulumi names the resource after its logical name plus "-" and 7 random characters
    # when the name is not given (autonaming); a prefix gets 26 characters from the provider.
    autonamed: bool = True


_IAM = r"[\w+=,.@-]+"
NAME_RULES: dict[str, NameRule] = {
    # EC2 CreateSecurityGroup: up to 255 characters, cannot start with sg-.
    "aws:ec2/securityGroup:SecurityGroup": NameRule(
        "name", r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+", 255, ("sg-",), prefix_field="namePrefix"
    ),
    # ELBv2: 32 characters, letters, digits and hyphens, not starting or ending with a hyphen.
    "aws:lb/loadBalancer:LoadBalancer": NameRule(
        "name", r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?", 32, ("internal-",), prefix_field="namePrefix"
    ),
    "aws:lb/targetGroup:TargetGroup": NameRule(
        "name", r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?", 32, prefix_field="namePrefix"
    ),
    "aws:iam/role:Role": NameRule("name", _IAM, 64, prefix_field="namePrefix"),
    "aws:iam/instanceProfile:InstanceProfile": NameRule("name", _IAM, 128, prefix_field="namePrefix"),
    "aws:iam/rolePolicy:RolePolicy": NameRule("name", _IAM, 128, prefix_field="namePrefix"),
    "aws:ec2/launchTemplate:LaunchTemplate": NameRule(
        "name", r"[a-zA-Z0-9().\-/_]{3,}", 128, prefix_field="namePrefix"
    ),
    "aws:autoscaling/group:Group": NameRule("name", r"[^:]+", 255, prefix_field="namePrefix"),
    "aws:s3/bucket:Bucket": NameRule(
        "bucket", r"[a-z0-9][a-z0-9.-]*[a-z0-9]", 63, ("xn--", "sthree-"), prefix_field="bucketPrefix"
    ),
    "aws:cloudwatch/logGroup:LogGroup": NameRule("name", r"[\.\-_/#A-Za-z0-9]+", 512, prefix_field="namePrefix"),
    "aws:cloudwatch/eventRule:EventRule": NameRule("name", r"[\.\-_A-Za-z0-9]+", 64, prefix_field="namePrefix"),
    "aws:kms/alias:Alias": NameRule("name", r"alias/[a-zA-Z0-9/_-]+", 256, ("alias/aws/",), autonamed=False),
    # SSM CreateDocument: 3-128 of letters, digits, _ - .; names starting AWS/Amazon/amzn are AWS's.
    "aws:ssm/document:Document": NameRule("name", r"[a-zA-Z0-9_\-.]{3,}", 128, ("aws", "amazon", "amzn")),
    "aws:ssm/association:Association": NameRule("associationName", r"[a-zA-Z0-9_\-.]{3,}", 128, autonamed=False),
    "aws:autoscaling/schedule:Schedule": NameRule("scheduledActionName", r"[^:]+", 255, autonamed=False),
}
_AUTONAME_SUFFIX = "-abc1234"  # what Pulumi appends: "-" and 7 random characters
_PREFIX_SUFFIX = "x" * 26  # what the provider appends to a name prefix


def physical_name(resource: Registered, rule: NameRule) -> str | None:
    """The name AWS will be asked for: given, from a prefix, or Pulumi's autoname."""
    inputs = resource.inputs
    if inputs.get(rule.field):
        return str(inputs[rule.field])
    if rule.prefix_field and inputs.get(rule.prefix_field):
        return str(inputs[rule.prefix_field]) + _PREFIX_SUFFIX
    if rule.autonamed:
        return resource.name + _AUTONAME_SUFFIX
    return None


def physical_name_problems(resources: Iterable[Registered]) -> Problems:
    problems: Problems = []
    for resource in resources:
        rule = NAME_RULES.get(resource.type)
        if rule is None:
            continue
        name = physical_name(resource, rule)
        if name is None:
            continue
        where = f"{resource.type} {resource.name}: {rule.field} {name!r}"
        if len(name) > rule.longest:
            problems.append(f"{where} is longer than {rule.longest}")
        if not re.fullmatch(rule.pattern, name):
            problems.append(f"{where} does not match {rule.pattern}")
        if any(name.lower().startswith(p) for p in rule.forbidden_prefixes):
            problems.append(f"{where} starts with a prefix AWS refuses ({', '.join(rule.forbidden_prefixes)})")
    return problems


# --- policy documents and their principals -------------------------------------------------

_POLICY_FIELDS = {
    "aws:kms/key:Key": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "policy",
}
# Resource policies: their statements name principals (identity policies must not).
_RESOURCE_POLICIES = {
    "aws:kms/key:Key",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:iam/role:Role",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
}
# Service principals that exist in every account of the region.
SERVICE_PRINCIPALS = frozenset(
    {
        "ec2.amazonaws.com",
        "ssm.amazonaws.com",
        "events.amazonaws.com",
        "vpc-flow-logs.amazonaws.com",
        f"logs.{REGION}.amazonaws.com",
    }
)


def statements(document: str) -> list[Mapping[str, Any]]:
    parsed = json.loads(document)
    found = parsed.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def policy_documents(resources: Iterable[Registered]) -> list[tuple[Registered, list[Mapping[str, Any]]]]:
    """Every policy document in the stack, parsed, with the resource that holds it."""
    documents = []
    for resource in resources:
        field = _POLICY_FIELDS.get(resource.type)
        if field and isinstance(resource.inputs.get(field), str):
            documents.append((resource, statements(resource.inputs[field])))
    return documents


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def principal_problems(resources: Sequence[Registered]) -> Problems:
    """Every principal a policy names exists: the account, a service, or a role of the stack.

    KMS (and IAM trust policies) refuse a principal that does not exist when the policy is
    written, so a role from outside the stack (the account's default Auto Scaling role, which
    a new account lacks) fails `pulumi up` even though the mocks accept it.
    """
    roles = {
        str(r.outputs["arn"])
        for r in resources
        if r.type in ("aws:iam/role:Role", "aws:iam/serviceLinkedRole:ServiceLinkedRole")
    }
    root = f"arn:aws:iam::{ACCOUNT}:root"
    problems: Problems = []
    for resource, found in policy_documents(resources):
        for statement in found:
            principal = statement.get("Principal")
            where = f"{resource.type} {resource.name} statement {statement.get('Sid', '?')}"
            if resource.type not in _RESOURCE_POLICIES:
                if principal is not None:
                    problems.append(f"{where}: an identity policy names a principal")
                continue
            if principal is None:
                problems.append(f"{where}: a resource policy statement without a principal")
                continue
            if principal == "*":
                if statement.get("Effect") == "Allow" and resource.type not in ("aws:ec2/vpcEndpoint:VpcEndpoint",):
                    problems.append(f"{where}: allows everyone")
                continue
            for kind, names in principal.items():
                for name in _as_list(names):
                    if kind == "Service" and name not in SERVICE_PRINCIPALS:
                        problems.append(f"{where}: unknown service principal {name}")
                    if kind == "AWS" and name != root and name not in roles:
                        problems.append(f"{where}: principal {name} is neither the account nor a role of the stack")
                    if kind not in ("Service", "AWS"):
                        problems.append(f"{where}: principal kind {kind}")
    return problems


# --- what each identity may do -------------------------------------------------------------


def _matches(patterns: Any, value: str, *, case: bool) -> bool:
    for pattern in _as_list(patterns):
        if case and fnmatch.fnmatchcase(value, str(pattern)):
            return True
        if not case and fnmatch.fnmatchcase(value.lower(), str(pattern).lower()):
            return True
    return False


def allowed(found: Sequence[Mapping[str, Any]], action: str, resource: str) -> bool:
    """Whether statements allow `action` on `resource` (conditions taken as met; Deny wins)."""
    relevant = [
        s
        for s in found
        if _matches(s.get("Action"), action, case=False) and _matches(s.get("Resource"), resource, case=True)
    ]
    return any(s.get("Effect") == "Allow" for s in relevant) and not any(s.get("Effect") == "Deny" for s in relevant)


def role_statements(resources: Sequence[Registered], role_name: str) -> list[Mapping[str, Any]]:
    """The inline policy statements of one role."""
    found: list[Mapping[str, Any]] = []
    for resource in resources:
        if resource.type == "aws:iam/rolePolicy:RolePolicy" and resource.inputs.get("role") == role_name:
            found += statements(resource.inputs["policy"])
    return found


def host_role_name(resources: Sequence[Registered], host_role: str) -> str:
    """The IAM role behind the instances (or launch template) of a `telework:role`."""
    profiles = {str(r.outputs["name"]): r for r in resources if r.type == "aws:iam/instanceProfile:InstanceProfile"}
    by_arn = {str(r.outputs["arn"]): r for r in profiles.values()}
    for resource in resources:
        if resource.type == "aws:ec2/instance:Instance" and resource.tags.get("telework:role") == host_role:
            return str(profiles[resource.inputs["iamInstanceProfile"]].inputs["role"])
        if resource.type == "aws:ec2/launchTemplate:LaunchTemplate":
            tags = next(s["tags"] for s in resource.inputs["tagSpecifications"] if s["resourceType"] == "instance")
            if tags.get("telework:role") == host_role:
                return str(by_arn[resource.inputs["iamInstanceProfile"]["arn"]].inputs["role"])
    raise AssertionError(f"no host of role {host_role}")


@dataclass(frozen=True)
class Need:
    """One permission a job needs: action on a resource found by `resource`."""

    action: str
    resource: Callable[[Sequence[Registered]], str]
    why: str


def key_arn(resources: Sequence[Registered]) -> str:
    (key,) = [r for r in resources if r.type == "aws:kms/key:Key"]
    return str(key.outputs["arn"])


def bucket_arn(purpose: str) -> Callable[[Sequence[Registered]], str]:
    def find(resources: Sequence[Registered]) -> str:
        (bucket,) = [
            r for r in resources if r.type == "aws:s3/bucket:Bucket" and r.tags.get("telework:purpose") == purpose
        ]
        return str(bucket.outputs["arn"])

    return find


def bundle_object(resources: Sequence[Registered]) -> str:
    return bucket_arn("site-bundle")(resources) + "/site.zip"


# The jobs of each host role, written from AWS's documentation of each API.
JOBS: dict[str, tuple[Need, ...]] = {
    "log_server": (
        Need("s3:PutObject", lambda r: bucket_arn("log-archive")(r) + "/host/2026/12/01.log.gz", "archive upload"),
        # Multipart uploads under SSE-KMS need both (S3 user guide: multipart upload permissions).
        Need("kms:GenerateDataKey", key_arn, "SSE-KMS data key for each upload"),
        Need("kms:Decrypt", key_arn, "SSE-KMS multipart upload: the parts' data key"),
        Need("s3:GetObject", bundle_object, "pull the site bundle"),
    ),
    "remote_desktop": (
        Need("s3:GetObject", bundle_object, "pull the site bundle"),
        Need("ec2:DescribeInstances", lambda r: "*", "the Ansible AWS inventory"),
    ),
    "rdp_broker": (
        Need("s3:GetObject", bundle_object, "pull the site bundle"),
        Need("ec2:DescribeInstances", lambda r: "*", "the Ansible AWS inventory (desktop hosts)"),
    ),
    "package_proxy": (Need("s3:GetObject", bundle_object, "pull the site bundle"),),
}
# What a host role must never be able to do (a staff member with its credentials).
FORBIDDEN: dict[str, tuple[Need, ...]] = {
    role: (
        Need("s3:PutObject", bucket_arn("ssm-transfer"), "write into other hosts' Ansible transfers"),
        Need("s3:GetObject", lambda r: bucket_arn("ssm-transfer")(r) + "/i-0other/module.py", "read other transfers"),
        Need("s3:DeleteObject", lambda r: bucket_arn("ssm-transfer")(r) + "/i-0other/module.py", "delete transfers"),
        Need("s3:PutObject", lambda r: "arn:aws:s3:::someone-elses-bucket/upload", "upload outside the ward"),
        Need("autoscaling:CompleteLifecycleAction", lambda r: "*", "mark an unconfigured host ready"),
    )
    for role in ("remote_desktop", "rdp_broker", "log_server", "package_proxy")
}


def job_problems(resources: Sequence[Registered]) -> Problems:
    """Each host role may do what its job needs (KMS and S3 actions as AWS documents them)."""
    problems: Problems = []
    for host_role, needs in JOBS.items():
        found = role_statements(resources, host_role_name(resources, host_role))
        for need in needs:
            target = need.resource(resources)
            if not allowed(found, need.action, target):
                problems.append(f"{host_role} lacks {need.action} on {target} ({need.why})")
    return problems


def forbidden_problems(resources: Sequence[Registered]) -> Problems:
    """No host role may do what a staff member holding its credentials must not."""
    problems: Problems = []
    hosts = {r.tags.get("telework:role") for r in resources if r.type == "aws:ec2/instance:Instance"} | {
        "remote_desktop"
    }
    for host_role, denied in FORBIDDEN.items():
        if host_role not in hosts:
            continue
        found = role_statements(resources, host_role_name(resources, host_role))
        for need in denied:
            target = need.resource(resources)
            if allowed(found, need.action, target):
                problems.append(f"{host_role} may {need.action} on {target} ({need.why})")
    return problems


def permission_problems(resources: Sequence[Registered]) -> Problems:
    return job_problems(resources) + forbidden_problems(resources)


# --- endpoint policies ---------------------------------------------------------------------

# Services of this stack's endpoints that accept an endpoint policy (the others are refused one).
ENDPOINT_POLICY_SERVICES = frozenset({"s3", "ssm", "logs", "kms"})


def endpoint_policy_problems(resources: Iterable[Registered]) -> Problems:
    problems: Problems = []
    for endpoint in (r for r in resources if r.type == "aws:ec2/vpcEndpoint:VpcEndpoint"):
        service = str(endpoint.inputs["serviceName"]).rsplit(".", 1)[1]
        policy = endpoint.inputs.get("policy")
        if service not in ENDPOINT_POLICY_SERVICES:
            if policy:
                problems.append(f"{endpoint.name}: {service} is not known to accept an endpoint policy")
            continue
        if not policy:
            problems.append(f"{endpoint.name}: {service} endpoint lets any principal through to anything")
            continue
        for statement in statements(policy):
            condition = json.dumps(statement.get("Condition", {}))
            scoped = "aws:PrincipalAccount" in condition or statement.get("Action") == "s3:GetObject"
            if statement.get("Effect") == "Allow" and not scoped:
                problems.append(f"{endpoint.name}: statement {statement.get('Sid')} is not limited to the ward")
    return problems


# --- documented value ranges ---------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    type: str
    path: tuple[str | int, ...]
    low: int
    high: int
    source: str


RANGES: tuple[Range, ...] = (
    Range("aws:lb/listener:Listener", ("tcpIdleTimeoutSeconds",), 60, 6000, "provider: 60 to 6000, default 350"),
    Range("aws:lb/targetGroup:TargetGroup", ("deregistrationDelay",), 0, 3600, "ELBv2 target group attribute"),
    Range("aws:ec2/customerGateway:CustomerGateway", ("bgpAsn",), 1, 2147483647, "provider: bgp_asn"),
    Range("aws:ec2/customerGateway:CustomerGateway", ("bgpAsnExtended",), 2147483648, 4294967295, "provider"),
    Range("aws:kms/key:Key", ("deletionWindowInDays",), 7, 30, "KMS ScheduleKeyDeletion"),
    Range("aws:ec2/launchTemplate:LaunchTemplate", ("metadataOptions", "httpPutResponseHopLimit"), 1, 64, "EC2"),
    Range("aws:ec2/instance:Instance", ("metadataOptions", "httpPutResponseHopLimit"), 1, 64, "EC2"),
    Range("aws:ec2clientvpn/endpoint:Endpoint", ("sessionTimeoutHours",), 8, 24, "Client VPN"),
    Range("aws:autoscaling/group:Group", ("instanceRefresh", "preferences", "minHealthyPercentage"), 0, 100, "ASG"),
    Range("aws:autoscaling/group:Group", ("instanceRefresh", "preferences", "maxHealthyPercentage"), 100, 200, "ASG"),
    Range("aws:ebs/volume:Volume", ("size",), 1, 16384, "gp3 volume size (GiB)"),
)
# Auto Scaling PutLifecycleHook: HeartbeatTimeout from 30 to 7200 seconds.
HEARTBEAT_RANGE = (30, 7200)


def _dig(value: Any, path: Sequence[str | int]) -> Any:
    for step in path:
        if isinstance(value, Mapping) and isinstance(step, str):
            value = value.get(step)
        else:
            return None
    return value


def value_range_problems(resources: Iterable[Registered]) -> Problems:
    problems: Problems = []
    for resource in resources:
        for rule in RANGES:
            if resource.type != rule.type:
                continue
            raw = _dig(resource.inputs, rule.path)
            if raw is None:
                continue
            if not rule.low <= int(raw) <= rule.high:
                path = ".".join(str(p) for p in rule.path)
                problems.append(f"{resource.name}: {path} = {raw}, outside {rule.low}..{rule.high} ({rule.source})")
        if (
            resource.type == "aws:ec2/customerGateway:CustomerGateway"
            and resource.inputs.get("bgpAsn")
            and resource.inputs.get("bgpAsnExtended")
        ):
            problems.append(f"{resource.name}: bgp_asn and bgp_asn_extended conflict")
        if resource.type == "aws:autoscaling/group:Group":
            for hook in resource.inputs.get("initialLifecycleHooks") or []:
                timeout = int(hook.get("heartbeatTimeout", 3600))
                if not HEARTBEAT_RANGE[0] <= timeout <= HEARTBEAT_RANGE[1]:
                    problems.append(
                        f"{resource.name}: hook {hook['name']} heartbeat {timeout} outside {HEARTBEAT_RANGE}"
                    )
    return problems


# --- SSM documents: references that must resolve --------------------------------------------

_AUTOMATION_ACTIONS = frozenset(
    {
        "aws:executeAwsApi",
        "aws:runCommand",
        "aws:waitForAwsResourceProperty",
        "aws:createTags",
        "aws:sleep",
        "aws:branch",
    }
)
_COMMAND_ACTIONS = frozenset({"aws:runShellScript", "aws:downloadContent"})


def document_problems(resources: Iterable[Registered]) -> Problems:
    """SSM rejects a document whose steps name unknown actions, steps or parameters."""
    problems: Problems = []
    for document in (r for r in resources if r.type == "aws:ssm/document:Document"):
        content = json.loads(document.inputs["content"])
        kind = document.inputs["documentType"]
        steps = content["mainSteps"]
        names = [step["name"] for step in steps]
        parameters = set(content.get("parameters", {}))
        if len(set(names)) != len(names):
            problems.append(f"{document.name}: step names repeat")
        actions = _AUTOMATION_ACTIONS if kind == "Automation" else _COMMAND_ACTIONS
        expected_schema = "0.3" if kind == "Automation" else "2.2"
        if content.get("schemaVersion") != expected_schema:
            problems.append(f"{document.name}: {kind} documents use schemaVersion {expected_schema}")
        for step in steps:
            if step["action"] not in actions:
                problems.append(f"{document.name}: step {step['name']} uses {step['action']}")
            for target in (step.get("onFailure"), step.get("nextStep")):
                if isinstance(target, str) and target.startswith("step:") and target[5:] not in names:
                    problems.append(f"{document.name}: step {step['name']} goes to a missing step {target}")
        for used in re.findall(r"\{\{\s*(\w+)\s*\}\}", document.inputs["content"]):
            if used not in parameters:
                problems.append(f"{document.name}: {{{{ {used} }}}} is not a parameter")
    return problems


# --- order of changes AWS serialises ---------------------------------------------------------


def ordering_problems(resources: Sequence[Registered]) -> Problems:
    """Changes AWS refuses to make at the same time, or makes in vain before another exists."""
    problems: Problems = []
    vpn = [
        r
        for r in resources
        if r.type
        in (
            "aws:ec2clientvpn/networkAssociation:NetworkAssociation",
            "aws:ec2clientvpn/authorizationRule:AuthorizationRule",
        )
    ]
    # Client VPN takes one change per endpoint at a time: each must wait for the one before.
    for earlier, later in itertools.pairwise(vpn):
        if earlier.name not in later.depends_on:
            problems.append(f"{later.name} may run at the same time as {earlier.name} on one Client VPN endpoint")
    for flow_log in (r for r in resources if r.type == "aws:ec2/flowLog:FlowLog"):
        policies = [r.name for r in resources if r.type == "aws:iam/rolePolicy:RolePolicy" and "flow-log" in r.name]
        if not set(policies) <= set(flow_log.depends_on):
            problems.append(f"{flow_log.name} may start before its role may write ({policies})")
    return problems


ALL_CHECKS: tuple[Callable[[Sequence[Registered]], Problems], ...] = (
    physical_name_problems,
    principal_problems,
    permission_problems,
    endpoint_policy_problems,
    value_range_problems,
    document_problems,
    ordering_problems,
)


def every_problem(resources: Sequence[Registered]) -> Problems:
    return [problem for check in ALL_CHECKS for problem in check(resources)]
