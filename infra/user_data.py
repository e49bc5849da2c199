"""First-boot scripts (cloud-init user data): make a host reachable and able to configure itself.

The official Debian images do not ship the AWS SSM agent, and the desktop and management
subnets have no internet. At first boot every host therefore:

1. points apt at the package proxy (TW-12) and rewrites `https://` Debian sources to `http://`
   (apt's proxy setting covers http only, so an https source would try to go round the proxy
   and fail; apt still checks every package against the archive's signed Release files);
2. installs Ansible, boto3 and nftables from the Debian archive through the proxy, so that the
   site playbook can run on the host itself (pull mode, `infra.site_configuration`);
3. lets only root reach the instance metadata service (TW-11): on a desktop host shared by
   many staff, any other process could otherwise take the instance role's credentials. The
   rule is a table of its own in /etc/nftables.d/, which the baseline role's firewall loads;
4. installs and starts the SSM agent from AWS's regional bucket (through the S3 gateway
   endpoint), the way in for State Manager and Run Command.
"""

from __future__ import annotations

import pulumi

from infra.security_groups import PROXY_PORT

IMDS_ADDRESS = "169.254.169.254"
IMDS_GUARD_FILE = "/etc/nftables.d/00-imds-root-only.nft"
SELF_CONFIGURATION_PACKAGES = ("ansible", "python3-boto3", "nftables", "curl")

_IMDS_GUARD = f"""\
cat > {IMDS_GUARD_FILE} <<'NFT'
# telework: only root (the SSM agent, cloud-init, Ansible) may ask the instance metadata
# service for credentials; staff sessions may not (TW-11).
table inet imds_guard
delete table inet imds_guard
table inet imds_guard {{
	chain output {{
		type filter hook output priority filter; policy accept;
		ip daddr {IMDS_ADDRESS} meta skuid != 0 reject
	}}
}}
NFT
nft -f {IMDS_GUARD_FILE}
"""

_HTTP_SOURCES = (
    "for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do\n"
    '  [ -f "$f" ] && sed -i "s#https://#http://#g" "$f"\n'
    "done\n"
)


def ssm_bootstrap(region: str, proxy_address: pulumi.Input[str] | None) -> pulumi.Output[str]:
    """A shell script: apt through the proxy, self-configuration tools, IMDS guard, SSM agent."""
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
        "# telework first boot: package proxy, self-configuration tools, IMDS guard, SSM agent\n",
        "set -eu\n",
        "export DEBIAN_FRONTEND=noninteractive\n",
        proxy_line,
        _HTTP_SOURCES,
        "apt-get update\n",
        f"apt-get install -y --no-install-recommends {' '.join(SELF_CONFIGURATION_PACKAGES)}\n",
        "mkdir -p /etc/nftables.d\n",
        _IMDS_GUARD,
        f"curl --fail --silent --show-error --location --retry 5 -o /tmp/ssm.deb {agent_url}\n",
        "dpkg -i /tmp/ssm.deb\n",
        "rm -f /tmp/ssm.deb\n",
        "systemctl enable --now amazon-ssm-agent\n",
    )


def package_proxy_setup(region: str) -> pulumi.Output[str]:
    """apt-cacher-ng that serves only the Debian archive (ForceManaged: no other site)."""
    return pulumi.Output.concat(
        ssm_bootstrap(region, None),
        "apt-get install -y apt-cacher-ng\n",
        "printf 'ForceManaged: 1\\n' > /etc/apt-cacher-ng/zz-telework.conf\n",
        "systemctl restart apt-cacher-ng\n",
    )
