"""The site bundle: `ansible/` and `inventories/aws/` as one zip object the hosts pull.

Every `pulumi up` uploads the roles and the playbook as they are in the repository, so the
hosts' own configuration runs (`infra.site_configuration`) apply exactly what was reviewed.
The bucket is private, TLS-only and versioned (an earlier bundle can be restored); hosts may
read the one object and nothing else. The bundle holds no secrets: the site's vault and CA
stay with the controller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.private_bucket import PrivateBucket, PrivateBucketArgs
from infra.tagging import PURPOSE_SITE_BUNDLE, base_tags

REPOSITORY = Path(__file__).resolve().parent.parent
BUNDLE_KEY = "site.zip"
# Folders of the repository the bundle holds, as they are named inside it.
BUNDLE_FOLDERS = ("ansible", "inventories/aws")


@dataclass(frozen=True)
class SiteBundleArgs:
    stack: str
    region: str


class SiteBundle(pulumi.ComponentResource):
    """A bucket and the bundle object in it."""

    bucket_name: pulumi.Output[str]
    object_arn: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: SiteBundleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("telework:config:SiteBundle", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket = PrivateBucket(
            name,
            PrivateBucketArgs(
                stack=args.stack,
                purpose=PURPOSE_SITE_BUNDLE,
                kms_key_arn=None,
                expire_after_days=None,
                force_destroy=True,
            ),
            opts=child,
        )
        bundle = aws.s3.BucketObjectv2(
            f"{name}-object",
            bucket=bucket.bucket_name,
            key=BUNDLE_KEY,
            source=pulumi.AssetArchive(
                {folder: pulumi.FileArchive(str(REPOSITORY / folder)) for folder in BUNDLE_FOLDERS}
            ),
            content_type="application/zip",
            tags=base_tags(args.stack, "site-bundle"),
            opts=child,
        )
        self.bucket_name = bucket.bucket_name
        self.object_arn = pulumi.Output.concat(bucket.arn, "/", bundle.key)
        # Path-style, the form SSM's aws:downloadContent documents for S3 sources.
        self.url = pulumi.Output.concat(f"https://s3.{args.region}.amazonaws.com/", bucket.bucket_name, "/", bundle.key)
        self.register_outputs({"bucket_name": self.bucket_name, "object_arn": self.object_arn})
