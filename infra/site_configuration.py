"""Hosts configure themselves: `ansible/site.yml` run on each host from the site bundle.

One SSM Command document (`apply-site`) downloads the bundle, unpacks it and runs the site
playbook on the host itself (`-e ansible_connection=local`, limited to the host), with the
same AWS inventory engineers use (`inventories/aws/aws_ec2.yml`), so each host lands in its
role, zone and stack groups and sees its peers (the brokers see the desktop hosts). Runs on
one host never overlap (`flock`).

A State Manager association per host role applies it to every host of the role: at once when a
host first registers with SSM, then every night (23:00 Asia/Tokyo), which keeps the fleet
converged with whatever the last `pulumi up` uploaded. Desktop hosts are also configured by
their launch lifecycle hook (`infra.desktop_lifecycle`) before they take any session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.tagging import TAG_ROLE, TAG_STACK, Role, base_tags

BUNDLE_PATH = "/var/lib/telework/site.zip"
SITE_DIR = "/var/lib/telework/site"
LOCK_FILE = "/run/telework-site.lock"
# Longest a converge may take on a fresh host (packages through the proxy), in seconds.
APPLY_TIMEOUT_SECONDS = 3300
# Every night at 23:00 Asia/Tokyo (14:00 UTC; State Manager's cron is in UTC), after work_end_hour.
NIGHTLY = "cron(0 14 ? * * *)"

APPLY_SCRIPT = (
    "set -eu",
    f"rm -rf {SITE_DIR}.new && mkdir -p {SITE_DIR}.new",
    f"python3 -m zipfile -e {BUNDLE_PATH} {SITE_DIR}.new",
    f"rm -rf {SITE_DIR} && mv {SITE_DIR}.new {SITE_DIR}",
    f"cd {SITE_DIR}",
    "export ANSIBLE_CONFIG=ansible/ansible.cfg",
    # The SSM agent names the host it runs on; the inventory's host names are instance ids.
    f'exec flock {LOCK_FILE} ansible-playbook -i inventories/aws/aws_ec2.yml --limit "$AWS_SSM_INSTANCE_ID" '
    "-e ansible_connection=local ansible/site.yml",
)


def apply_site_document(bundle_url: pulumi.Input[str]) -> pulumi.Output[str]:
    """The Command document (schema 2.2) that applies the site playbook on the host."""
    return pulumi.Output.json_dumps(
        {
            "schemaVersion": "2.2",
            "description": "telework: apply ansible/site.yml to this host from the site bundle",
            "parameters": {
                "BundleUrl": {
                    "type": "String",
                    "description": "HTTPS URL of the site bundle in S3",
                    "default": bundle_url,
                }
            },
            "mainSteps": [
                {
                    "action": "aws:downloadContent",
                    "name": "downloadBundle",
                    "inputs": {
                        "sourceType": "S3",
                        "sourceInfo": '{"path": "{{ BundleUrl }}"}',
                        "destinationPath": BUNDLE_PATH,
                    },
                },
                {
                    "action": "aws:runShellScript",
                    "name": "applySite",
                    "inputs": {"timeoutSeconds": str(APPLY_TIMEOUT_SECONDS), "runCommand": list(APPLY_SCRIPT)},
                },
            ],
        }
    )


@dataclass(frozen=True)
class SiteConfigurationArgs:
    stack: str
    bundle_url: pulumi.Input[str]
    # Host roles of the stack (each gets an association that targets its hosts by tag).
    roles: tuple[Role, ...]


class SiteConfiguration(pulumi.ComponentResource):
    """The `apply-site` document and one State Manager association per host role."""

    document_name: pulumi.Output[str]
    document_arn: pulumi.Output[str]
    association_ids: Mapping[Role, pulumi.Output[str]]

    def __init__(self, name: str, args: SiteConfigurationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("telework:config:SiteConfiguration", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        document = aws.ssm.Document(
            f"{name}-apply-site",
            name=f"telework-{args.stack}-apply-site",
            document_type="Command",
            document_format="JSON",
            content=apply_site_document(args.bundle_url),
            tags=base_tags(args.stack, "apply-site"),
            opts=child,
        )
        self.document_name = document.name
        self.document_arn = document.arn
        ids: dict[Role, pulumi.Output[str]] = {}
        for role in args.roles:
            association = aws.ssm.Association(
                f"{name}-{role.value.replace('_', '-')}",
                association_name=f"telework-{args.stack}-{role.value.replace('_', '-')}",
                name=document.name,
                targets=[
                    aws.ssm.AssociationTargetArgs(key=f"tag:{TAG_ROLE}", values=[role.value]),
                    aws.ssm.AssociationTargetArgs(key=f"tag:{TAG_STACK}", values=[args.stack]),
                ],
                schedule_expression=NIGHTLY,
                # A tenth of a role's hosts at a time; a bad bundle stops the run after the
                # first failures instead of reaching every host.
                max_concurrency="10%",
                max_errors="10%",
                compliance_severity="HIGH",
                tags=base_tags(args.stack, f"apply-site-{role.value.replace('_', '-')}"),
                opts=child,
            )
            ids[role] = association.association_id
        self.association_ids = ids
        self.register_outputs({"document_name": self.document_name})
