"""IAM roles and instance profiles for the hosts: SSM management and the site bundle, no more.

Every host is managed through AWS Systems Manager (no SSH from anywhere, no bastion): the role
carries the AWS-managed `AmazonSSMManagedInstanceCore` policy, may read the one site bundle
object it configures itself from, and may list instances (the Ansible AWS inventory the site
playbook runs with). It has no access to the Ansible SSM transfer bucket: the controller hands
the host presigned URLs for each file (amazon.aws.aws_ssm), so a staff member who got hold of
a desktop's credentials could neither read other hosts' transfers nor write anywhere. A role
may add statements (the log server appends to the archive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.tagging import base_tags

SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


@dataclass(frozen=True)
class InstanceRoleArgs:
    stack: str
    site_bundle_object_arn: pulumi.Input[str]
    extra_statements: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


class InstanceRole(pulumi.ComponentResource):
    """An EC2 role with SSM core access, its policies and its instance profile."""

    profile_name: pulumi.Output[str]
    profile_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: InstanceRoleArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("telework:iam:InstanceRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=base_tags(args.stack, f"{name}-role"),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-ssm-core", role=role.name, policy_arn=SSM_CORE_POLICY, opts=child)
        statements: list[Mapping[str, Any]] = [
            {
                "Sid": "SiteBundleRead",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": args.site_bundle_object_arn,
            },
            {
                # The Ansible AWS inventory (aws_ec2) the site playbook runs with on the host.
                "Sid": "InventoryRead",
                "Effect": "Allow",
                "Action": ["ec2:DescribeInstances"],
                "Resource": "*",
            },
            *args.extra_statements,
        ]
        aws.iam.RolePolicy(
            f"{name}-access",
            role=role.name,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=child,
        )
        profile = aws.iam.InstanceProfile(
            f"{name}-profile",
            role=role.name,
            tags=base_tags(args.stack, f"{name}-profile"),
            opts=child,
        )
        self.profile_name = profile.name
        self.profile_arn = profile.arn
        self.role_name = role.name
        self.register_outputs({"profile_arn": self.profile_arn})
