"""VPC endpoint policies: what may pass through the S3 gateway and the interface endpoints.

Without a policy an endpoint lets anything through, so a desktop user with no internet could
still upload the ward's documents to any bucket in any account with their own credentials.
Each policy lets through only requests signed by principals of the ward's account, and for
S3 only to buckets of that account, plus the AWS-owned buckets the SSM agent downloads from
(its package and its plugins: anonymous GETs, see the SSM agent's minimum S3 permissions).
"""

from __future__ import annotations

from typing import Any

import pulumi

# Interface endpoint services of this stack that accept an endpoint policy. ssmmessages and
# ec2messages are left with their default policy: Systems Manager documents endpoint policies
# for `ssm` (where a session or command is started, and which this policy limits to the
# ward's principals), not for its message channels.
POLICY_SERVICES = frozenset({"ssm", "logs", "kms", "s3"})


def ssm_agent_buckets(region: str) -> tuple[str, ...]:
    """AWS-owned buckets the SSM agent on Linux reads from."""
    return (
        f"amazon-ssm-{region}",
        f"aws-ssm-{region}",
        f"amazon-ssm-packages-{region}",
        f"{region}-birdwatcher-prod",
        f"aws-ssm-distributor-file-{region}",
        f"aws-ssm-document-attachments-{region}",
        f"patch-baseline-snapshot-{region}",
    )


def account_only(account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """An interface endpoint policy: any action, only by principals of the ward's account."""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "WardPrincipalsOnly",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id}},
                }
            ],
        }
    )


def s3_gateway(account_id: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """The S3 gateway policy: the ward's principals to the ward's buckets, and the SSM agent's."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WardPrincipalsToWardBuckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id, "aws:ResourceAccount": account_id}},
        },
        {
            "Sid": "SsmAgentDownloads",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::{bucket}/*" for bucket in ssm_agent_buckets(region)],
        },
    ]
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})
