"""Service-linked roles the stack creates itself, so that nothing depends on an account's past.

A new account has no `AWSServiceRoleForAutoScaling` until its first Auto Scaling group, and
KMS refuses a key policy that names it before then. The stack creates its own Auto Scaling
role with a custom suffix (`AWSServiceRoleForAutoScaling_telework-<stack>`): it exists before
the key policy names it, does not clash with the account's default role or the other stack's,
and the desktop group launches with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.tagging import base_tags

AUTOSCALING_SERVICE = "autoscaling.amazonaws.com"


@dataclass(frozen=True)
class ServiceRolesArgs:
    stack: str


class ServiceRoles(pulumi.ComponentResource):
    """The stack's Auto Scaling service-linked role."""

    autoscaling_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceRolesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("telework:iam:ServiceRoles", name, None, opts)
        role = aws.iam.ServiceLinkedRole(
            f"{name}-autoscaling",
            aws_service_name=AUTOSCALING_SERVICE,
            custom_suffix=f"telework-{args.stack}",
            description=f"telework {args.stack}: launches the desktop hosts (volumes under the stack's key)",
            tags=base_tags(args.stack, "autoscaling-role"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.autoscaling_role_arn = role.arn
        self.register_outputs({"autoscaling_role_arn": self.autoscaling_role_arn})
