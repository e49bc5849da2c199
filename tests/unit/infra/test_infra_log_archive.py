"""Log archive and log server (TW-09): retention, encryption, Object Lock, lifecycle."""

from __future__ import annotations

import json

import pulumi

from infra.debian_image import HostImage
from infra.host_context import HostContext
from infra.log_archive import LOG_GROUPS, LogArchive, LogArchiveArgs
from infra.log_server import LogServer, LogServerArgs
from infra.tagging import PURPOSE_LOG_ARCHIVE, TAG_PURPOSE, TAG_ROLE
from tests.unit.infra.pulumi_mocks import ACCOUNT, TeleworkMocks, declare

BUCKET = "aws:s3/bucket:Bucket"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
PUBLIC_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY = "aws:kms/key:Key"
INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"
KMS_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/k"
ASG_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling_telework-test"
)


def _archive(mocks: TeleworkMocks, log_days: int = 400, archive_days: int = 1827) -> None:
    def program() -> pulumi.Output[None]:
        archive = LogArchive(
            "logs",
            LogArchiveArgs(
                stack="test",
                region="ap-northeast-1",
                log_retention_days=log_days,
                archive_retention_days=archive_days,
                archive_lock_mode="COMPLIANCE",
                account_id=ACCOUNT,
                volume_service_role_arn=ASG_ROLE,
            ),
        )

        def check(values: list[str]) -> None:
            bucket, key = values
            assert bucket == "logs-archive-bucket-0a1b2c"
            assert key.startswith("arn:")

        return pulumi.Output.all(archive.archive_bucket_name, archive.kms_key_arn).apply(check)

    declare(program)


def test_tw09_log_groups_keep_records_for_the_configured_days(
    mocks: TeleworkMocks,
) -> None:
    _archive(mocks, log_days=731)
    groups = mocks.of_type(LOG_GROUP)
    assert sorted(g.inputs["name"] for g in groups) == sorted(f"/telework/test/{n}" for n in LOG_GROUPS)
    for group in groups:
        assert group.inputs["retentionInDays"] == 731
        assert group.inputs["kmsKeyId"].startswith("arn:")


def test_tw09_archive_has_object_lock_with_the_configured_retention(
    mocks: TeleworkMocks,
) -> None:
    _archive(mocks, archive_days=1827)
    (bucket,) = mocks.of_type(BUCKET)
    assert bucket.inputs["objectLockEnabled"] is True
    assert bucket.tags[TAG_PURPOSE] == PURPOSE_LOG_ARCHIVE
    (lock,) = mocks.of_type(LOCK)
    assert lock.inputs["bucket"] == "logs-archive-bucket-0a1b2c"
    assert lock.inputs["objectLockEnabled"] == "Enabled"
    assert lock.inputs["rule"]["defaultRetention"] == {
        "mode": "COMPLIANCE",
        "days": 1827,
    }


def test_tw09_archive_is_kms_encrypted_private_and_tls_only(
    mocks: TeleworkMocks,
) -> None:
    _archive(mocks)
    (sse,) = mocks.of_type(SSE)
    (rule,) = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:")
    (block,) = mocks.of_type(PUBLIC_BLOCK)
    assert all(
        block.inputs[k] is True
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    (policy,) = mocks.of_type(POLICY)
    statement = json.loads(policy.inputs["policy"])["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_tw09_archive_lifecycle_moves_to_glacier_and_expires_after_retention(
    mocks: TeleworkMocks,
) -> None:
    _archive(mocks, archive_days=1827)
    (lifecycle,) = mocks.of_type(LIFECYCLE)
    (rule,) = lifecycle.inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["transitions"] == [{"days": 90, "storageClass": "GLACIER_IR"}]
    assert rule["expiration"] == {"days": 1828}


def test_short_archive_retention_skips_the_glacier_transition(
    mocks: TeleworkMocks,
) -> None:
    _archive(mocks, log_days=90, archive_days=90)
    (lifecycle,) = mocks.of_type(LIFECYCLE)
    assert not lifecycle.inputs["rules"][0].get("transitions")


def test_kms_key_rotates_and_lets_logs_and_autoscaling_use_it(
    mocks: TeleworkMocks,
) -> None:
    _archive(mocks)
    (key,) = mocks.of_type(KEY)
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert statements["CloudWatchLogsEncrypts"]["Principal"] == {"Service": "logs.ap-northeast-1.amazonaws.com"}
    assert statements["AutoScalingGrantsForVolumes"]["Principal"]["AWS"] == ASG_ROLE
    assert statements["NoOneDeletesOrDisablesTheKey"]["Effect"] == "Deny"


def test_tw09_log_server_has_encrypted_volumes_no_public_address_imdsv2_and_protection(
    mocks: TeleworkMocks,
) -> None:
    def program() -> pulumi.Output[None]:
        server = LogServer(
            "log-server",
            LogServerArgs(
                context=HostContext(
                    stack="test",
                    region="ap-northeast-1",
                    image=HostImage(id="ami-1", root_device_name="/dev/xvda"),
                    kms_key_arn=KMS_ARN,
                    ssm_bucket_name="ssm-bucket",
                    site_bundle_object_arn="arn:aws:s3:::site-bundle/site.zip",
                    proxy_address="10.40.0.10",
                ),
                instance_type="m7i.large",
                volume_gb=200,
                subnet_id="subnet-m0",
                availability_zone="ap-northeast-1a",
                security_group_ids=["sg-log"],
                archive_bucket_arn="arn:aws:s3:::archive",
            ),
        )
        return server.private_ip.apply(lambda ip: None if ip else pytest_fail())

    declare(program)
    (instance,) = mocks.of_type(INSTANCE)
    assert instance.inputs["associatePublicIpAddress"] is False
    assert instance.inputs["metadataOptions"]["httpTokens"] == "required"
    assert instance.inputs["rootBlockDevice"]["encrypted"] is True
    assert instance.inputs["rootBlockDevice"]["kmsKeyId"] == KMS_ARN
    assert instance.tags[TAG_ROLE] == "log_server"
    assert instance.inputs["disableApiTermination"] is True
    (volume,) = mocks.of_type(VOLUME)
    assert volume.inputs["encrypted"] is True and volume.inputs["size"] == 200
    assert volume.inputs["availabilityZone"] == "ap-northeast-1a"
    policies = [json.loads(p.inputs["policy"]) for p in mocks.of_type("aws:iam/rolePolicy:RolePolicy")]
    actions = {a for p in policies for s in p["Statement"] for a in s["Action"]}
    assert "s3:PutObject" in actions
    assert not {a for a in actions if "Delete" in a}
    archive_statement = next(s for p in policies for s in p["Statement"] if s["Sid"] == "ArchiveAppendOnly")
    assert archive_statement["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]


def pytest_fail() -> None:
    raise AssertionError("log server has no private address")
