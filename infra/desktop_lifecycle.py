"""Desktop hosts that configure themselves before their first session and drain before they go.

The desktop group has two lifecycle hooks (declared on the group, so the very first hosts
wait too):

- launch (`configure`): a new host waits in Pending:Wait. EventBridge starts the `configure`
  Automation runbook, which waits for the SSM agent, runs `apply-site` on the host, asks the
  brokers to reconverge (they add the host), then completes the hook: CONTINUE when the
  playbook succeeded, ABANDON (the group replaces the host) when it failed. Health checks
  start only once the host is InService, so an unconfigured host is never counted healthy.
- terminate (`drain`): a host leaving the group (scale-in at night, instance refresh, a
  replacement) is tagged `telework:maintenance=drain`; the brokers reconverge and stop sending
  it new sessions while persistent ones still reach it; the runbook waits until no RDP
  connection is left (at most `DRAIN_SECONDS`), then lets the host go.

The runbooks run under their own role; the hosts' roles get no Auto Scaling permission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.security_groups import RDP_PORT
from infra.tagging import MAINTENANCE_DRAIN, TAG_MAINTENANCE, TAG_STACK, base_tags

LAUNCH_HOOK = "configure"
TERMINATE_HOOK = "drain"
LAUNCH_TRANSITION = "autoscaling:EC2_INSTANCE_LAUNCHING"
TERMINATE_TRANSITION = "autoscaling:EC2_INSTANCE_TERMINATING"
# A fresh host installs the desktop stack through the package proxy: allow an hour.
CONFIGURE_TIMEOUT_SECONDS = 3600
# Longest a leaving host waits for its users to finish; the hook's timeout is the API's maximum.
DRAIN_SECONDS = 6600
TERMINATE_TIMEOUT_SECONDS = 7200
AGENT_WAIT_SECONDS = 1200
RUN_SHELL = "AWS-RunShellScript"
LAUNCH_EVENT = "EC2 Instance-launch Lifecycle Action"
TERMINATE_EVENT = "EC2 Instance-terminate Lifecycle Action"

DRAIN_SCRIPT = (
    f"end=$(( $(date +%s) + {DRAIN_SECONDS} ))",
    f"while [ \"$(ss -Htn state established '( sport = :{RDP_PORT} )' | wc -l)\" -gt 0 ]"
    ' && [ "$(date +%s)" -lt "$end" ]; do sleep 60; done',
)

_HOOK_PARAMETERS: dict[str, Any] = {
    "InstanceId": {"type": "String"},
    "AutoScalingGroupName": {"type": "String"},
    "LifecycleHookName": {"type": "String"},
    "AutomationAssumeRole": {"type": "String"},
}


def _complete(name: str, result: str) -> dict[str, Any]:
    return {
        "name": name,
        "action": "aws:executeAwsApi",
        "isEnd": True,
        "inputs": {
            "Service": "autoscaling",
            "Api": "CompleteLifecycleAction",
            "AutoScalingGroupName": "{{ AutoScalingGroupName }}",
            "LifecycleHookName": "{{ LifecycleHookName }}",
            "InstanceId": "{{ InstanceId }}",
            "LifecycleActionResult": result,
        },
    }


def _refresh_brokers(broker_association_id: pulumi.Input[str]) -> dict[str, Any]:
    return {
        "name": "refreshBrokers",
        "action": "aws:executeAwsApi",
        "onFailure": "Continue",
        "inputs": {"Service": "ssm", "Api": "StartAssociationsOnce", "AssociationIds": [broker_association_id]},
    }


def configure_runbook(apply_document_name: pulumi.Input[str], broker_association_id: pulumi.Input[str]) -> Any:
    """Automation (schema 0.3): wait for the agent, apply the site, complete the launch hook."""
    return {
        "schemaVersion": "0.3",
        "description": "telework: configure a new desktop host before it takes sessions",
        "assumeRole": "{{ AutomationAssumeRole }}",
        "parameters": _HOOK_PARAMETERS,
        "mainSteps": [
            {
                "name": "waitForAgent",
                "action": "aws:waitForAwsResourceProperty",
                "timeoutSeconds": AGENT_WAIT_SECONDS,
                "onFailure": "step:abandon",
                "inputs": {
                    "Service": "ssm",
                    "Api": "DescribeInstanceInformation",
                    "Filters": [{"Key": "InstanceIds", "Values": ["{{ InstanceId }}"]}],
                    "PropertySelector": "$.InstanceInformationList[0].PingStatus",
                    "DesiredValues": ["Online"],
                },
            },
            {
                "name": "applySite",
                "action": "aws:runCommand",
                "timeoutSeconds": CONFIGURE_TIMEOUT_SECONDS - AGENT_WAIT_SECONDS,
                "onFailure": "step:abandon",
                "inputs": {"DocumentName": apply_document_name, "InstanceIds": ["{{ InstanceId }}"]},
            },
            _refresh_brokers(broker_association_id),
            _complete("continue", "CONTINUE"),
            _complete("abandon", "ABANDON"),
        ],
    }


def drain_runbook(broker_association_id: pulumi.Input[str]) -> Any:
    """Automation (schema 0.3): mark the host draining, wait for its users, complete the hook."""
    return {
        "schemaVersion": "0.3",
        "description": "telework: let a leaving desktop host's users finish before it goes",
        "assumeRole": "{{ AutomationAssumeRole }}",
        "parameters": _HOOK_PARAMETERS,
        "mainSteps": [
            {
                "name": "markDraining",
                "action": "aws:createTags",
                "onFailure": "Continue",
                "inputs": {
                    "ResourceType": "EC2",
                    "ResourceIds": ["{{ InstanceId }}"],
                    "Tags": [{"Key": TAG_MAINTENANCE, "Value": MAINTENANCE_DRAIN}],
                },
            },
            _refresh_brokers(broker_association_id),
            {
                "name": "waitForSessions",
                "action": "aws:runCommand",
                "timeoutSeconds": DRAIN_SECONDS + 300,
                "onFailure": "Continue",
                "inputs": {
                    "DocumentName": RUN_SHELL,
                    "InstanceIds": ["{{ InstanceId }}"],
                    "Parameters": {"commands": list(DRAIN_SCRIPT), "executionTimeout": [str(DRAIN_SECONDS + 120)]},
                },
            },
            _complete("continue", "CONTINUE"),
        ],
    }


@dataclass(frozen=True)
class DesktopLifecycleArgs:
    stack: str
    region: str
    account_id: pulumi.Input[str]
    group_name: str
    apply_document_name: pulumi.Input[str]
    apply_document_arn: pulumi.Input[str]
    broker_association_id: pulumi.Input[str]


class DesktopLifecycle(pulumi.ComponentResource):
    """The two runbooks, their role, and the EventBridge rules that start them."""

    hooks: list[aws.autoscaling.GroupInitialLifecycleHookArgs]
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: DesktopLifecycleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("telework:compute:DesktopLifecycle", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account, region, stack = args.account_id, args.region, args.stack
        group_arn = pulumi.Output.concat(
            "arn:aws:autoscaling:", region, ":", account, f":autoScalingGroup:*:autoScalingGroupName/{args.group_name}"
        )
        instances = pulumi.Output.concat("arn:aws:ec2:", region, ":", account, ":instance/*")
        automation_role = aws.iam.Role(
            f"{name}-automation",
            assume_role_policy=_trust("ssm.amazonaws.com"),
            tags=base_tags(stack, "desktop-lifecycle-automation"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-automation-access",
            role=automation_role.name,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "CompleteHooks",
                            "Effect": "Allow",
                            "Action": ["autoscaling:CompleteLifecycleAction"],
                            "Resource": group_arn,
                        },
                        {
                            "Sid": "RunOnStackHosts",
                            "Effect": "Allow",
                            "Action": ["ssm:SendCommand"],
                            "Resource": instances,
                            "Condition": {"StringEquals": {f"ssm:resourceTag/{TAG_STACK}": stack}},
                        },
                        {
                            "Sid": "RunTheseDocuments",
                            "Effect": "Allow",
                            "Action": ["ssm:SendCommand"],
                            "Resource": [args.apply_document_arn, f"arn:aws:ssm:{region}::document/{RUN_SHELL}"],
                        },
                        {
                            "Sid": "FollowCommands",
                            "Effect": "Allow",
                            "Action": [
                                "ssm:DescribeInstanceInformation",
                                "ssm:ListCommands",
                                "ssm:ListCommandInvocations",
                                "ssm:GetCommandInvocation",
                            ],
                            "Resource": "*",
                        },
                        {
                            "Sid": "ReconvergeBrokers",
                            "Effect": "Allow",
                            "Action": ["ssm:StartAssociationsOnce"],
                            "Resource": pulumi.Output.concat(
                                "arn:aws:ssm:", region, ":", account, ":association/", args.broker_association_id
                            ),
                        },
                        {
                            "Sid": "MarkDraining",
                            "Effect": "Allow",
                            "Action": ["ec2:CreateTags"],
                            "Resource": instances,
                            "Condition": {"StringEquals": {f"aws:ResourceTag/{TAG_STACK}": stack}},
                        },
                    ],
                }
            ),
            opts=child,
        )
        events_role = aws.iam.Role(
            f"{name}-events",
            assume_role_policy=_trust("events.amazonaws.com"),
            tags=base_tags(stack, "desktop-lifecycle-events"),
            opts=child,
        )
        self.ready = []
        runbooks = {
            "configure": (configure_runbook(args.apply_document_name, args.broker_association_id), LAUNCH_EVENT),
            "drain": (drain_runbook(args.broker_association_id), TERMINATE_EVENT),
        }
        definitions: list[pulumi.Output[str]] = []
        for label, (content, event) in runbooks.items():
            runbook = aws.ssm.Document(
                f"{name}-{label}",
                name=f"telework-{stack}-{label}-desktop",
                document_type="Automation",
                document_format="JSON",
                content=pulumi.Output.json_dumps(content),
                tags=base_tags(stack, f"{label}-desktop"),
                opts=child,
            )
            definition = pulumi.Output.concat(
                "arn:aws:ssm:", region, ":", account, ":automation-definition/", runbook.name
            )
            definitions.append(definition)
            rule = aws.cloudwatch.EventRule(
                f"{name}-{label}",
                description=f"telework {stack}: {event} of the desktop group",
                event_pattern=pulumi.Output.json_dumps(
                    {
                        "source": ["aws.autoscaling"],
                        "detail-type": [event],
                        "detail": {"AutoScalingGroupName": [args.group_name]},
                    }
                ),
                tags=base_tags(stack, f"{label}-desktop"),
                opts=child,
            )
            target = aws.cloudwatch.EventTarget(
                f"{name}-{label}",
                rule=rule.name,
                arn=pulumi.Output.concat(definition, ":$DEFAULT"),
                role_arn=events_role.arn,
                input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                    input_paths={
                        "instance": "$.detail.EC2InstanceId",
                        "group": "$.detail.AutoScalingGroupName",
                        "hook": "$.detail.LifecycleHookName",
                    },
                    input_template=pulumi.Output.concat(
                        '{"InstanceId":["<instance>"],"AutoScalingGroupName":["<group>"],'
                        '"LifecycleHookName":["<hook>"],"AutomationAssumeRole":["',
                        automation_role.arn,
                        '"]}',
                    ),
                ),
                opts=child,
            )
            self.ready += [rule, target]
        events_policy = aws.iam.RolePolicy(
            f"{name}-events-start",
            role=events_role.name,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "StartRunbooks",
                            "Effect": "Allow",
                            "Action": ["ssm:StartAutomationExecution"],
                            "Resource": [pulumi.Output.concat(d, ":*") for d in definitions],
                        },
                        {
                            "Sid": "PassTheRunbookRole",
                            "Effect": "Allow",
                            "Action": ["iam:PassRole"],
                            "Resource": automation_role.arn,
                            "Condition": {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
                        },
                    ],
                }
            ),
            opts=child,
        )
        self.ready.append(events_policy)
        self.hooks = [
            aws.autoscaling.GroupInitialLifecycleHookArgs(
                name=LAUNCH_HOOK,
                lifecycle_transition=LAUNCH_TRANSITION,
                heartbeat_timeout=CONFIGURE_TIMEOUT_SECONDS,
                default_result="ABANDON",
            ),
            aws.autoscaling.GroupInitialLifecycleHookArgs(
                name=TERMINATE_HOOK,
                lifecycle_transition=TERMINATE_TRANSITION,
                heartbeat_timeout=TERMINATE_TIMEOUT_SECONDS,
                default_result="CONTINUE",
            ),
        ]
        self.register_outputs({})


def _trust(service: str) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )
