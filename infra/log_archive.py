"""Where records are kept (TW-09): a KMS key, CloudWatch log groups and the S3 archive.

CloudWatch Logs holds the VPC flow log, the Client VPN connection log and the site-to-site
tunnel logs for `log_retention_days`. The log server ships everything it receives to the
archive bucket, where Object Lock keeps each object unchangeable for `archive_retention_days`
and a lifecycle rule moves it to Glacier Instant Retrieval, then deletes it when retention ends.

The key may not be scheduled for deletion or disabled by anyone: under a COMPLIANCE lock that
would make five years of records unreadable while they cannot be deleted. Lifting that takes a
change of the key policy, which goes through this program's preview, review and policy pack.
The Auto Scaling service-linked role that launches the desktops may use the key for their
volumes; it is the stack's own role (`infra.service_roles`), because KMS refuses a key policy
that names a principal that does not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.private_bucket import ObjectLock, PrivateBucket, PrivateBucketArgs
from infra.tagging import PURPOSE_LOG_ARCHIVE, base_tags

# Log groups by what they hold; names are /telework/<stack>/<key>.
LOG_GROUPS = ("vpc-flow-logs", "client-vpn", "site-to-site-vpn")
GLACIER_AFTER_DAYS = 90
KEY_DESTRUCTION = ("kms:ScheduleKeyDeletion", "kms:DisableKey")


@dataclass(frozen=True)
class LogArchiveArgs:
    stack: str
    region: str
    log_retention_days: int
    archive_retention_days: int
    archive_lock_mode: str
    account_id: pulumi.Input[str]
    # The service-linked role Auto Scaling launches the desktops with (created in the stack).
    volume_service_role_arn: pulumi.Input[str]


class LogArchive(pulumi.ComponentResource):
    """KMS key, CloudWatch log groups with retention, Object-Locked archive bucket."""

    kms_key_arn: pulumi.Output[str]
    log_group_arns: dict[str, pulumi.Output[str]]
    log_group_names: dict[str, pulumi.Output[str]]
    archive_bucket_name: pulumi.Output[str]
    archive_bucket_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: LogArchiveArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("telework:logging:LogArchive", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account_id = args.account_id
        root = pulumi.Output.concat("arn:aws:iam::", account_id, ":root")
        asg_role = args.volume_service_role_arn
        key_use = [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:DescribeKey",
        ]
        key = aws.kms.Key(
            f"{name}-key",
            description=f"telework {args.stack}: EBS volumes, log groups and the log archive",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            # TW-09: no one may destroy the key the locked archive needs.
                            "Sid": "NoOneDeletesOrDisablesTheKey",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": list(KEY_DESTRUCTION),
                            "Resource": "*",
                        },
                        {
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {"AWS": root},
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            "Sid": "CloudWatchLogsEncrypts",
                            "Effect": "Allow",
                            "Principal": {"Service": f"logs.{args.region}.amazonaws.com"},
                            "Action": key_use,
                            "Resource": "*",
                            "Condition": {
                                "ArnLike": {
                                    "kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                                        "arn:aws:logs:",
                                        args.region,
                                        ":",
                                        account_id,
                                        ":*",
                                    )
                                }
                            },
                        },
                        {
                            # The Auto Scaling service role launches desktops whose volumes
                            # are encrypted with this key.
                            "Sid": "AutoScalingUsesKeyForVolumes",
                            "Effect": "Allow",
                            "Principal": {"AWS": asg_role},
                            "Action": key_use,
                            "Resource": "*",
                        },
                        {
                            "Sid": "AutoScalingGrantsForVolumes",
                            "Effect": "Allow",
                            "Principal": {"AWS": asg_role},
                            "Action": "kms:CreateGrant",
                            "Resource": "*",
                            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                        },
                    ],
                }
            ),
            tags=base_tags(args.stack, "key"),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/telework-{args.stack}",
            target_key_id=key.key_id,
            opts=child,
        )
        self.kms_key_arn = key.arn

        self.log_group_arns = {}
        self.log_group_names = {}
        for group in LOG_GROUPS:
            log_group = aws.cloudwatch.LogGroup(
                f"{name}-{group}",
                name=f"/telework/{args.stack}/{group}",
                # TW-09: kept for the configured period, encrypted with the platform's key.
                retention_in_days=args.log_retention_days,
                kms_key_id=key.arn,
                tags=base_tags(args.stack, group),
                opts=child,
            )
            self.log_group_arns[group] = log_group.arn
            self.log_group_names[group] = log_group.name

        archive = PrivateBucket(
            f"{name}-archive",
            PrivateBucketArgs(
                stack=args.stack,
                purpose=PURPOSE_LOG_ARCHIVE,
                kms_key_arn=key.arn,
                # Delete one day after the lock has run out (the lock forbids it before).
                expire_after_days=args.archive_retention_days + 1,
                transition_to_glacier_after_days=(
                    GLACIER_AFTER_DAYS if args.archive_retention_days > GLACIER_AFTER_DAYS + 30 else None
                ),
                object_lock=ObjectLock(mode=args.archive_lock_mode, days=args.archive_retention_days),
            ),
            opts=child,
        )
        self.archive_bucket_name = archive.bucket_name
        self.archive_bucket_arn = archive.arn

        self.register_outputs(
            {
                "kms_key_arn": self.kms_key_arn,
                "archive_bucket": self.archive_bucket_name,
                "log_groups": self.log_group_names,
            }
        )
