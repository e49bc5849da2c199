"""The log server (TW-09): receives every host's records over RELP/TLS on 6514 (TW-08).

One instance in the first management subnet with an encrypted, protected data volume for
per-host storage and the disk-assisted queues, and termination protection. It may only add
objects to the archive bucket (it cannot delete them, and Object Lock would refuse anyway);
uploads are SSE-KMS, and a multipart upload (any large file) needs `kms:Decrypt` as well as
`kms:GenerateDataKey` on the key, through S3 only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.ec2_host import Ec2Host, Ec2HostArgs
from infra.host_context import HostContext
from infra.instance_roles import InstanceRole, InstanceRoleArgs
from infra.tagging import Role, Zone


@dataclass(frozen=True)
class LogServerArgs:
    context: HostContext
    instance_type: str
    volume_gb: int
    subnet_id: pulumi.Input[str]
    availability_zone: str
    security_group_ids: Sequence[pulumi.Input[str]]
    archive_bucket_arn: pulumi.Input[str]


class LogServer(pulumi.ComponentResource):
    """The log server host, its role (archive write-only) and its data volume."""

    instance_id: pulumi.Output[str]
    private_ip: pulumi.Output[str]

    def __init__(self, name: str, args: LogServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("telework:logging:LogServer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        context = args.context
        role = InstanceRole(
            name,
            InstanceRoleArgs(
                stack=context.stack,
                site_bundle_object_arn=context.site_bundle_object_arn,
                extra_statements=(
                    {
                        "Sid": "ArchiveAppendOnly",
                        "Effect": "Allow",
                        "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                        "Resource": pulumi.Output.concat(args.archive_bucket_arn, "/*"),
                    },
                    {
                        "Sid": "ArchiveEncrypt",
                        "Effect": "Allow",
                        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                        "Resource": context.kms_key_arn,
                        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{context.region}.amazonaws.com"}},
                    },
                ),
            ),
            opts=child,
        )
        host = Ec2Host(
            name,
            Ec2HostArgs(
                context=context,
                role=Role.LOG_SERVER,
                zone=Zone.MANAGEMENT,
                controls="TW-08 TW-09",
                instance_type=args.instance_type,
                subnet_id=args.subnet_id,
                availability_zone=args.availability_zone,
                security_group_ids=args.security_group_ids,
                instance_profile_name=role.profile_name,
                termination_protection=True,
                data_volume_gb=args.volume_gb,
            ),
            opts=child,
        )
        self.instance_id = host.instance_id
        self.private_ip = host.private_ip
        self.register_outputs({"instance_id": self.instance_id, "private_ip": self.private_ip})
