"""An S3 bucket that is encrypted, private and TLS-only, with optional Object Lock.

Every bucket of the platform is built from this component: the log archive (Object Lock,
KMS, long retention: TW-09), the Ansible SSM transfer bucket (objects expire after a day, no
versions kept: amazon.aws.aws_ssm advises against versioning, as module files may hold
secrets) and the site bundle the hosts configure themselves from.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.tagging import TAG_PURPOSE, base_tags


@dataclass(frozen=True)
class ObjectLock:
    """Default retention for every object written (WORM). COMPLIANCE cannot be shortened."""

    mode: str
    days: int


@dataclass(frozen=True)
class PrivateBucketArgs:
    stack: str
    purpose: str
    kms_key_arn: pulumi.Input[str] | None  # None: SSE-S3 (AES256)
    expire_after_days: int | None  # None: current objects are kept
    transition_to_glacier_after_days: int | None = None
    object_lock: ObjectLock | None = None
    force_destroy: bool = False
    versioning: bool = True


class PrivateBucket(pulumi.ComponentResource):
    """Encrypted (TW-09), private, TLS-only (TW-08) bucket with lifecycle rules."""

    bucket_name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: PrivateBucketArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("telework:storage:PrivateBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            # Object Lock can only be switched on when the bucket is created.
            object_lock_enabled=args.object_lock is not None,
            force_destroy=args.force_destroy,
            tags=base_tags(args.stack, name, **{TAG_PURPOSE: args.purpose}),
            opts=pulumi.ResourceOptions(parent=self, protect=args.object_lock is not None),
        )
        self.bucket_name = bucket.bucket
        self.arn = bucket.arn

        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.bucket,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.bucket,
            rules=[
                {
                    "apply_server_side_encryption_by_default": (
                        {
                            "sse_algorithm": "aws:kms",
                            "kms_master_key_id": args.kms_key_arn,
                        }
                        if args.kms_key_arn is not None
                        else {"sse_algorithm": "AES256"}
                    ),
                    "bucket_key_enabled": args.kms_key_arn is not None,
                }
            ],
            opts=child,
        )
        after_versioning: list[pulumi.Resource] = []
        if args.versioning or args.object_lock is not None:
            after_versioning.append(
                aws.s3.BucketVersioning(
                    f"{name}-versioning",
                    bucket=bucket.bucket,
                    versioning_configuration={"status": "Enabled"},
                    opts=child,
                )
            )
        if args.object_lock is not None:
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=bucket.bucket,
                object_lock_enabled="Enabled",
                rule={
                    "default_retention": {
                        "mode": args.object_lock.mode,
                        "days": args.object_lock.days,
                    }
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=after_versioning),
            )

        transitions = (
            [
                aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                    days=args.transition_to_glacier_after_days,
                    storage_class="GLACIER_IR",
                )
            ]
            if args.transition_to_glacier_after_days is not None
            else None
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.bucket,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="retention",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    transitions=transitions,
                    expiration=(
                        aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.expire_after_days)
                        if args.expire_after_days is not None
                        else None
                    ),
                    noncurrent_version_expiration=(
                        aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(noncurrent_days=1)
                        if after_versioning
                        else None
                    ),
                    abort_incomplete_multipart_upload=(
                        aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                            days_after_initiation=7
                        )
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=after_versioning),
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.bucket,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                bucket.arn,
                                pulumi.Output.concat(bucket.arn, "/*"),
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            ),
            opts=child,
        )
        self.register_outputs({"bucket_name": self.bucket_name, "arn": self.arn})
