"""IAM roles and instance profiles for the hosts: SSM management, nothing more by default.

Every host is managed through AWS Systems Manager (no SSH from anywhere, no bastion): the role
carries the AWS-managed `AmazonSSMManagedInstanceCore` policy and may read and write the Ansible
SSM transfer bucket. A role may add statements (the log server writes to the archive).
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
    ssm_transfer_bucket_arn: pulumi.Input[str]
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
        bucket = args.ssm_transfer_bucket_arn
        statements: list[Mapping[str, Any]] = [
            {
                "Sid": "AnsibleSsmTransfer",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": pulumi.Output.concat(bucket, "/*"),
            },
            {
                "Sid": "AnsibleSsmTransferList",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": bucket,
            },
            *args.extra_statements,
        ]
        aws.iam.RolePolicy(
            f"{name}-access",
            role=role.id,
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
