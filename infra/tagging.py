"""The tags every resource carries, and the ones the Ansible AWS inventory groups hosts by.

`inventories/aws/aws_ec2.yml` turns the value of `telework:role` into the Ansible group of the
same name, so the role values below are exactly the group names of `ansible/site.yml`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import pulumi

PROJECT = "telework"

TAG_PROJECT = "telework:project"
TAG_STACK = "telework:stack"
TAG_ROLE = "telework:role"
TAG_ZONE = "telework:zone"
TAG_PURPOSE = "telework:purpose"
TAG_CONTROLS = "telework:controls"
# The S3 bucket the Ansible SSM connection copies modules through (read by the inventory).
TAG_SSM_BUCKET = "telework:ssm_bucket"


class Role(StrEnum):
    """Host roles. Each value is an Ansible group (and role) name."""

    REMOTE_DESKTOP = "remote_desktop"
    LOG_SERVER = "log_server"
    VPN_GATEWAY = "vpn_gateway"
    FILE_SERVER = "file_server"
    CHAT_SERVER = "chat_server"
    WEB_MEETING = "web_meeting"
    PACKAGE_PROXY = "package_proxy"
    RDP_BROKER = "rdp_broker"


class Zone(StrEnum):
    """Network zones of ARCHITECTURE.md that exist in the VPC."""

    EDGE = "edge"
    DESKTOP = "desktop"
    MANAGEMENT = "management"


# Purpose tag of the log archive bucket; the policy pack looks for it (Object Lock rule).
PURPOSE_LOG_ARCHIVE = "log-archive"
PURPOSE_SSM_TRANSFER = "ssm-transfer"
PURPOSE_SITE_BUNDLE = "site-bundle"
# Set on a desktop host that takes no new sessions while its users finish (the brokers read it).
TAG_MAINTENANCE = "telework:maintenance"
MAINTENANCE_DRAIN = "drain"


def base_tags(stack: str, name: str, **extra: str) -> dict[str, str]:
    """Tags for any taggable resource: project, stack and a readable Name."""
    tags = {"Name": f"{PROJECT}-{stack}-{name}", TAG_PROJECT: PROJECT, TAG_STACK: stack}
    tags.update(extra)
    return tags


def host_tags(
    stack: str,
    name: str,
    role: Role,
    zone: Zone,
    controls: str,
    ssm_bucket: pulumi.Input[str],
) -> Mapping[str, pulumi.Input[str]]:
    """Tags for an EC2 instance (and its volumes): what the inventory and policy pack read."""
    tags: dict[str, pulumi.Input[str]] = dict(
        base_tags(
            stack,
            name,
            **{TAG_ROLE: role.value, TAG_ZONE: zone.value, TAG_CONTROLS: controls},
        )
    )
    tags[TAG_SSM_BUCKET] = ssm_bucket
    return tags
