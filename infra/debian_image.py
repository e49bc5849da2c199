"""The Debian 13 (trixie) image every host boots, looked up by owner and name.

The Debian cloud team publishes its official AMIs from one AWS account; taking the newest
image whose name matches `debian-13-amd64-*` from that owner only means no one else's image
can be picked up by a look-alike name. The root device name is read from the image too: a
block device mapping under any other name would add a second volume and leave the root one
at the image's size and encryption.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

DEBIAN_OWNER_ID = "136693071363"  # the Debian cloud team's AWS account
DEBIAN_13_NAME = "debian-13-amd64-*"


@dataclass(frozen=True)
class HostImage:
    """An AMI and the name of its root device (for launch templates' block device mappings)."""

    id: pulumi.Input[str]
    root_device_name: pulumi.Input[str]


def debian_13_image(parent: pulumi.Resource | None = None) -> HostImage:
    """The newest official Debian 13 amd64 AMI in the stack's region."""
    image = aws.ec2.get_ami_output(
        most_recent=True,
        owners=[DEBIAN_OWNER_ID],
        filters=[
            {"name": "name", "values": [DEBIAN_13_NAME]},
            {"name": "architecture", "values": ["x86_64"]},
            {"name": "virtualization-type", "values": ["hvm"]},
            {"name": "root-device-type", "values": ["ebs"]},
        ],
        opts=pulumi.InvokeOutputOptions(parent=parent),
    )
    return HostImage(id=image.id, root_device_name=image.root_device_name)
