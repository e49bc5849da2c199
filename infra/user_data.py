"""First-boot scripts (cloud-init user data) that make a host reachable for Ansible.

The official Debian images do not ship the AWS SSM agent, and the desktop and management
subnets have no internet. The agent's package is therefore fetched from AWS's regional S3
bucket through the S3 gateway endpoint, and apt is pointed at the package proxy (TW-12).
Everything else is Ansible's work (`ansible/site.yml` over the SSM connection).
"""

from __future__ import annotations

import pulumi

PROXY_PORT = 3142


def ssm_bootstrap(region: str, proxy_address: pulumi.Input[str] | None) -> pulumi.Output[str]:
    """A shell script: apt through the package proxy, then install and start the SSM agent."""
    agent_url = f"https://s3.{region}.amazonaws.com/amazon-ssm-{region}/latest/debian_amd64/amazon-ssm-agent.deb"
    proxy_line: pulumi.Input[str] = ""
    if proxy_address is not None:
        proxy_line = pulumi.Output.concat(
            "echo 'Acquire::http::Proxy \"http://",
            proxy_address,
            f":{PROXY_PORT}\";' > /etc/apt/apt.conf.d/01telework-proxy\n",
        )
    return pulumi.Output.concat(
        "#!/bin/sh\n",
        "# telework first boot: package proxy and SSM agent (the rest is Ansible's work)\n",
        "set -eu\n",
        proxy_line,
        f"curl --fail --silent --show-error --location --retry 5 -o /tmp/ssm.deb {agent_url}\n",
        "dpkg -i /tmp/ssm.deb\n",
        "rm -f /tmp/ssm.deb\n",
        "systemctl enable --now amazon-ssm-agent\n",
    )


def package_proxy_setup(region: str) -> pulumi.Output[str]:
    """apt-cacher-ng that serves only the Debian archive (ForceManaged: no other site)."""
    return pulumi.Output.concat(
        ssm_bootstrap(region, None),
        "export DEBIAN_FRONTEND=noninteractive\n",
        "apt-get update\n",
        "apt-get install -y apt-cacher-ng\n",
        "printf 'ForceManaged: 1\\n' > /etc/apt-cacher-ng/zz-telework.conf\n",
        "systemctl restart apt-cacher-ng\n",
    )
