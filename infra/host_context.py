"""What every host component shares: stack, region, image, key, bundle and package proxy.

One frozen value handed to the log server, the package proxy, the OpenVPN gateways, the
session brokers and the desktops instead of the same seven arguments to each.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.debian_image import HostImage


@dataclass(frozen=True)
class HostContext:
    stack: str
    region: str
    image: HostImage
    # Every EBS volume is encrypted with this key (TW-09).
    kms_key_arn: pulumi.Input[str]
    # The bucket Ansible's SSM connection copies modules through (tag read by the inventory).
    ssm_bucket_name: pulumi.Input[str]
    # The site bundle (ansible/ and inventories/aws/) that hosts configure themselves from.
    site_bundle_object_arn: pulumi.Input[str]
    # The package proxy's address; None on the proxy itself.
    proxy_address: pulumi.Input[str] | None
