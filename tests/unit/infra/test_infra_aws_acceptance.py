"""What AWS would refuse, or what would not work once deployed, checked over the whole stack.

Each test of the first part is one finding of issue 12 (the program had only run under mocks,
which accept anything); the last part runs every rule of `aws_rules` over the whole program
at 50, 200 and 2,000 seats and with the optional OpenVPN gateways.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import pytest

from tests.unit.infra import aws_rules
from tests.unit.infra.pulumi_mocks import (
    ACCOUNT,
    Registered,
    TeleworkMocks,
    config_for,
    program_at,
    run_program,
)

GROUP = "aws:autoscaling/group:Group"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
DOCUMENT = "aws:ssm/document:Document"
ASSOCIATION = "aws:ssm/association:Association"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
ATTACHMENT = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
INSTANCE = "aws:ec2/instance:Instance"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
KEY = "aws:kms/key:Key"


def _one(resources: Sequence[Registered], type_: str) -> Registered:
    (found,) = [r for r in resources if r.type == type_]
    return found


def _runbook_for(resources: Sequence[Registered], detail_type: str) -> dict[str, Any]:
    """The Automation runbook an EventBridge rule on the desktop group's `detail_type` starts."""
    (rule,) = [
        r for r in resources if r.type == RULE and detail_type in json.loads(r.inputs["eventPattern"])["detail-type"]
    ]
    group = _one(resources, GROUP)
    assert json.loads(rule.inputs["eventPattern"])["detail"]["AutoScalingGroupName"] == [group.inputs["name"]]
    (target,) = [t for t in resources if t.type == TARGET and t.inputs["rule"] == rule.outputs["name"]]
    name = target.inputs["arn"].split("automation-definition/")[1].split(":")[0]
    (runbook,) = [d for d in resources if d.type == DOCUMENT and d.outputs["name"] == name]
    assert runbook.inputs["documentType"] == "Automation"
    content: dict[str, Any] = json.loads(runbook.inputs["content"])
    return content


def _steps(runbook: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in runbook["mainSteps"] if s["action"] == action]


def _user_data(resources: Sequence[Registered]) -> str:
    return base64.b64decode(_one(resources, TEMPLATE).inputs["userData"]).decode()


# --- issue 12, found in review ----------------------------------------------------------------


def test_tw11_security_group_names_are_ones_aws_accepts() -> None:
    """1. AWS refuses group names starting with `sg-`; Pulumi named them `sg-<group>-<suffix>`."""
    groups = [r for r in program_at(200).resources if r.type == "aws:ec2/securityGroup:SecurityGroup"]
    assert len(groups) >= 6
    assert aws_rules.physical_name_problems(groups) == []


def test_tw09_the_autoscaling_role_the_key_names_is_created_in_the_stack() -> None:
    """2. A new account has no AWSServiceRoleForAutoScaling; KMS refuses a key policy naming it."""
    resources = program_at(200).resources
    assert aws_rules.principal_problems(resources) == []
    (role,) = [r for r in resources if r.type == "aws:iam/serviceLinkedRole:ServiceLinkedRole"]
    assert role.inputs["awsServiceName"] == "autoscaling.amazonaws.com"
    policy = {s["Sid"]: s for s in aws_rules.statements(_one(resources, KEY).inputs["policy"])}
    assert policy["AutoScalingGrantsForVolumes"]["Principal"] == {"AWS": role.outputs["arn"]}
    assert _one(resources, GROUP).inputs["serviceLinkedRoleArn"] == role.outputs["arn"]


def test_tw01_new_desktop_hosts_configure_themselves_before_they_count() -> None:
    """3. A new host got only the SSM agent and was terminated in a loop by ELB health checks."""
    resources = program_at(200).resources
    group = _one(resources, GROUP)
    assert group.inputs.get("initialLifecycleHooks"), "no lifecycle hook: hosts count before they are configured"
    (launch,) = [h for h in group.inputs["initialLifecycleHooks"] if h["lifecycleTransition"].endswith("LAUNCHING")]
    assert launch["defaultResult"] == "ABANDON"
    runbook = _runbook_for(resources, "EC2 Instance-launch Lifecycle Action")
    (apply,) = _steps(runbook, "aws:runCommand")
    (site,) = [d for d in resources if d.type == DOCUMENT and d.outputs["name"] == apply["inputs"]["DocumentName"]]
    script = json.loads(site.inputs["content"])["mainSteps"][-1]["inputs"]["runCommand"]
    assert any("ansible-playbook" in line and "ansible/site.yml" in line for line in script)
    results = {
        s["inputs"]["LifecycleActionResult"]: s
        for s in _steps(runbook, "aws:executeAwsApi")
        if "LifecycleActionResult" in s["inputs"]
    }
    assert set(results) == {"CONTINUE", "ABANDON"}
    assert apply["onFailure"] == "step:abandon"
    # The EventBridge rule exists before the group launches its first host.
    assert {r.name for r in resources if r.type == RULE} <= set(group.depends_on)
    # The same document keeps every host of the role converged.
    desktops = [
        a
        for a in resources
        if a.type == ASSOCIATION and {"key": "tag:telework:role", "values": ["remote_desktop"]} in a.inputs["targets"]
    ]
    assert len(desktops) == 1 and desktops[0].inputs["name"] == site.outputs["name"]


def test_tw07_leaving_desktop_hosts_drain_before_they_are_terminated() -> None:
    resources = program_at(200).resources
    group = _one(resources, GROUP)
    assert group.inputs.get("initialLifecycleHooks"), "no lifecycle hook: scale-in ends live sessions"
    (leave,) = [h for h in group.inputs["initialLifecycleHooks"] if h["lifecycleTransition"].endswith("TERMINATING")]
    assert leave["heartbeatTimeout"] == 7200
    runbook = _runbook_for(resources, "EC2 Instance-terminate Lifecycle Action")
    (tag,) = _steps(runbook, "aws:createTags")
    assert tag["inputs"]["Tags"] == [{"Key": "telework:maintenance", "Value": "drain"}]
    (wait,) = _steps(runbook, "aws:runCommand")
    assert any("3389" in line for line in wait["inputs"]["Parameters"]["commands"])
    refresh = group.inputs["instanceRefresh"]["preferences"]
    assert refresh["minHealthyPercentage"] == 100 and refresh["maxHealthyPercentage"] > 100
    assert group.inputs["maxSize"] > group.inputs["desiredCapacity"]


def test_tw11_users_are_kept_on_their_host_by_user_name_not_source_address() -> None:
    """4. Client VPN translates users' addresses: source-IP stickiness lumps them together."""
    resources = program_at(200).resources
    for group in (r for r in resources if r.type == TARGET_GROUP):
        stickiness = group.inputs.get("stickiness") or {}
        assert not (stickiness.get("type") == "source_ip" and stickiness.get("enabled")), group.name
    brokers = {
        r.outputs.get("id", r.name + "-id")
        for r in resources
        if r.type == INSTANCE and r.tags["telework:role"] == "rdp_broker"
    }
    assert len(brokers) == 2
    assert {a.inputs["targetId"] for a in resources if a.type == ATTACHMENT} == brokers


def test_tw11_client_vpn_authorises_the_dns_server_it_pushes() -> None:
    """5. The pushed VPC resolver was outside every authorisation rule: no name resolved."""
    import ipaddress

    resources = program_at(200).resources
    endpoint = _one(resources, "aws:ec2clientvpn/endpoint:Endpoint")
    rules = [r for r in resources if r.type == "aws:ec2clientvpn/authorizationRule:AuthorizationRule"]
    for server in endpoint.inputs["dnsServers"]:
        assert any(
            ipaddress.ip_address(server) in ipaddress.ip_network(r.inputs["targetNetworkCidr"]) for r in rules
        ), server


def test_tw11_host_roles_cannot_read_or_write_the_ansible_transfer_bucket() -> None:
    """6. Every desktop role could read, write and delete the whole transfer bucket."""
    resources = program_at(200).resources
    assert aws_rules.forbidden_problems(resources) == []
    assert aws_rules.job_problems(resources) == []


def test_tw11_only_root_reaches_the_instance_metadata_service() -> None:
    """6. IMDS answered any local process: any staff member could take the role's credentials."""
    resources = program_at(200).resources
    script = _user_data(resources)
    assert "ip daddr 169.254.169.254 meta skuid != 0 reject" in script
    assert script.index("nft -f") < script.index("amazon-ssm-agent")
    for instance in (r for r in resources if r.type == INSTANCE):
        assert "meta skuid != 0 reject" in instance.inputs["userData"], instance.name
        assert instance.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_tw11_endpoints_let_only_the_wards_own_principals_through() -> None:
    """7. Without endpoint policies a desktop user could upload to any bucket in any account."""
    resources = program_at(200).resources
    assert aws_rules.endpoint_policy_problems(resources) == []
    (s3,) = [
        r for r in resources if r.type == "aws:ec2/vpcEndpoint:VpcEndpoint" and r.inputs["vpcEndpointType"] == "Gateway"
    ]
    (ward,) = [s for s in aws_rules.statements(s3.inputs["policy"]) if "aws:ResourceAccount" in json.dumps(s)]
    assert ward["Condition"]["StringEquals"] == {"aws:PrincipalAccount": ACCOUNT, "aws:ResourceAccount": ACCOUNT}


def test_tw09_log_server_may_make_multipart_uploads_to_the_sse_kms_archive() -> None:
    """8. Multipart uploads under SSE-KMS need kms:Decrypt; the log server had only GenerateDataKey."""
    resources = program_at(200).resources
    found = aws_rules.role_statements(resources, aws_rules.host_role_name(resources, "log_server"))
    assert aws_rules.allowed(found, "kms:Decrypt", aws_rules.key_arn(resources))
    assert aws_rules.allowed(found, "kms:GenerateDataKey", aws_rules.key_arn(resources))


def test_four_byte_bgp_asns_go_to_bgp_asn_extended() -> None:
    """9. The provider's bgp_asn stops at 2147483647."""
    gateway = {
        "name": "carrier",
        "kind": "carrier",
        "ip_address": "198.51.100.20",
        "bgp_asn": 4200000000,
        "cidrs": ["172.30.0.0/20"],
    }
    resources = program_at(50, "four-byte-asn", customer_gateways=[gateway]).resources
    (cgw,) = [r for r in resources if r.type == "aws:ec2/customerGateway:CustomerGateway"]
    assert cgw.inputs.get("bgpAsnExtended") == "4200000000" and not cgw.inputs.get("bgpAsn")
    assert aws_rules.value_range_problems(resources) == []


def test_tw07_rdp_listener_outlasts_the_desktops_own_idle_limit() -> None:
    """9. The NLB's default 350 s idle timeout cut RDP sessions idle for six minutes."""
    (listener,) = [r for r in program_at(200).resources if r.type == "aws:lb/listener:Listener"]
    assert 900 < listener.inputs.get("tcpIdleTimeoutSeconds", 350) <= 6000


def test_client_vpn_associations_and_rules_are_made_one_after_the_other() -> None:
    """9. Client VPN refuses concurrent changes to one endpoint."""
    assert aws_rules.ordering_problems(program_at(200).resources) == []


def test_tw09_flow_log_waits_for_its_role_policy() -> None:
    resources = program_at(200).resources
    (flow_log,) = [r for r in resources if r.type == "aws:ec2/flowLog:FlowLog"]
    assert "network-flow-log-write" in flow_log.depends_on


def test_tw09_no_one_may_schedule_the_archive_key_for_deletion() -> None:
    """9. Any administrator could destroy the key a COMPLIANCE-locked archive needs."""
    found = aws_rules.statements(_one(program_at(200).resources, KEY).inputs["policy"])
    for principal in (f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:role/admin"):
        denied = [s for s in found if s["Effect"] == "Deny" and s["Principal"] == "*"]
        assert any("kms:ScheduleKeyDeletion" in s["Action"] for s in denied), principal
    assert not aws_rules.allowed(found, "kms:ScheduleKeyDeletion", "*")
    assert aws_rules.allowed(found, "kms:PutKeyPolicy", "*")  # the stack can still change the policy


def test_tw09_encrypted_root_volume_mapping_uses_the_images_root_device_name() -> None:
    """9. A hard-coded /dev/xvda would add a second volume on an image rooted elsewhere and leave
    the real root volume at the image's size and encryption."""
    mocks = run_program(config_for(50), TeleworkMocks(root_device_name="/dev/sda1"))
    (mapping,) = _one(mocks.resources, TEMPLATE).inputs["blockDeviceMappings"]
    assert mapping["deviceName"] == "/dev/sda1"


def test_tw12_apt_sources_written_with_https_still_go_through_the_proxy() -> None:
    """9. apt's http proxy setting does not cover https:// sources, which have no route out."""
    script = _user_data(program_at(200).resources)
    assert 'sed -i "s#https://#http://#g"' in script
    assert script.index("s#https://#http://#g") < script.index("apt-get update")
    assert "Acquire::http::Proxy" in script


# --- every rule over the whole program --------------------------------------------------------

RUNS = [
    (50, "default", {}),
    (200, "default", {}),
    (2000, "default", {}),
    (200, "with-openvpn", {"vpn_gateway_count": 2}),
]


@pytest.mark.parametrize(("seats", "variant", "overrides"), RUNS, ids=[f"{s}-{v}" for s, v, _ in RUNS])
def test_whole_program_passes_every_aws_rule(seats: int, variant: str, overrides: dict[str, object]) -> None:
    resources = program_at(seats, variant, **overrides).resources
    assert aws_rules.every_problem(resources) == []


def test_the_aws_rules_can_fail() -> None:
    """Each check finds the fault it is written for (the rules are not vacuous)."""
    good = {r.type: r for r in program_at(200).resources}
    sg = good["aws:ec2/securityGroup:SecurityGroup"]
    assert aws_rules.physical_name_problems([Registered(sg.type, "sg-desktop", {}, {})])
    key = good[KEY]
    foreign = key.inputs["policy"].replace("AWSServiceRoleForAutoScaling_telework-test", "AWSServiceRoleForAutoScaling")
    assert aws_rules.principal_problems([Registered(KEY, key.name, {"policy": foreign}, key.outputs)])
    listener = good["aws:lb/listener:Listener"]
    assert aws_rules.value_range_problems([Registered(listener.type, "l", {"tcpIdleTimeoutSeconds": 7200}, {})])
    assert aws_rules.endpoint_policy_problems(
        [Registered("aws:ec2/vpcEndpoint:VpcEndpoint", "e", {"serviceName": "com.amazonaws.ap-northeast-1.kms"}, {})]
    )
    (document,) = [d for d in program_at(200).resources if d.type == DOCUMENT and "BundleUrl" in d.inputs["content"]]
    broken = document.inputs["content"].replace("{{ BundleUrl }}", "{{ BundleURL }}")
    assert aws_rules.document_problems([Registered(DOCUMENT, "d", dict(document.inputs, content=broken), {})])
