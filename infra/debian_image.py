"""The Debian 13 (trixie) image every host boots, looked up by owner and name.

The Debian cloud team publishes its official AMIs from one AWS account; taking the newest
image whose name matches `debian-13-amd64-*` from that owner only means no one else's image
can be picked up by a look-alike name.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

DEBIAN_OWNER_ID = "136693071363"  # the Debian cloud team's AWS account
DEBIAN_13_NAME = "debian-13-amd64-*"
ROOT_DEVICE = "/dev/xvda"  # root device name of the Debian AMIs


def debian_13_image_id(parent: pulumi.Resource | None = None) -> pulumi.Output[str]:
    """The id of the newest official Debian 13 amd64 AMI in the stack's region."""
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
    return image.id
