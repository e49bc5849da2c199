"""Pattern 2 and the office link: Site-to-Site IPsec VPNs from a virtual private gateway.

One connection per customer gateway in `telework:customer_gateways`:
- `office`: the ward's office zone (file servers, chat, internal systems) that desktop
  sessions use, and whose hosts forward their logs to the log server;
- `carrier`: the carrier's closed network where the lent telework PCs are (pattern 2).

Each connection has two tunnels with IKEv2, AES-256 (GCM or CBC), SHA-2 and strong DH groups
only (TW-08), pre-shared keys from secret config, static routes to the configured CIDRs, and
tunnel logs in CloudWatch (TW-09). The gateway's routes are propagated into the desktop and
management route tables only; what may flow is decided by the security groups (TW-11).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import CustomerGateway
from infra.tagging import base_tags

AMAZON_SIDE_ASN = 64512
# The provider's `bgp_asn` takes 1 to 2147483647; larger (4-byte) ASNs go in `bgp_asn_extended`.
LARGEST_BGP_ASN = 2147483647
IKE_VERSIONS = ["ikev2"]
PHASE1_ENCRYPTION = ["AES256", "AES256-GCM-16"]
PHASE2_ENCRYPTION = ["AES256", "AES256-GCM-16"]
INTEGRITY = ["SHA2-256", "SHA2-384", "SHA2-512"]
DH_GROUPS = [19, 20, 21]


@dataclass(frozen=True)
class SiteToSiteVpnArgs:
    stack: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    gateways: Sequence[CustomerGateway]
    preshared_keys: Mapping[str, pulumi.Input[str]]
    route_table_ids: Sequence[pulumi.Input[str]]
    log_group_arn: pulumi.Input[str]


class SiteToSiteVpn(pulumi.ComponentResource):
    """Virtual private gateway, customer gateways, connections, routes and propagation."""

    tunnel_addresses: dict[str, list[pulumi.Output[str]]]

    def __init__(
        self,
        name: str,
        args: SiteToSiteVpnArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("telework:vpn:SiteToSiteVpn", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        vgw = aws.ec2.VpnGateway(
            f"{name}-vgw",
            vpc_id=args.vpc_id,
            amazon_side_asn=str(AMAZON_SIDE_ASN),
            tags=base_tags(args.stack, "vgw"),
            opts=child,
        )
        for index, table_id in enumerate(args.route_table_ids):
            aws.ec2.VpnGatewayRoutePropagation(
                f"{name}-propagation-{index}",
                vpn_gateway_id=vgw.id,
                route_table_id=table_id,
                opts=child,
            )

        log_options = aws.ec2.VpnConnectionTunnel1LogOptionsArgs(
            cloudwatch_log_options=aws.ec2.VpnConnectionTunnel1LogOptionsCloudwatchLogOptionsArgs(
                log_enabled=True,
                log_group_arn=args.log_group_arn,
                log_output_format="json",
            )
        )
        log_options_2 = aws.ec2.VpnConnectionTunnel2LogOptionsArgs(
            cloudwatch_log_options=aws.ec2.VpnConnectionTunnel2LogOptionsCloudwatchLogOptionsArgs(
                log_enabled=True,
                log_group_arn=args.log_group_arn,
                log_output_format="json",
            )
        )

        self.tunnel_addresses = {}
        for gateway in args.gateways:
            label = f"{name}-{gateway.name}"
            customer = aws.ec2.CustomerGateway(
                f"{label}-cgw",
                bgp_asn=str(gateway.bgp_asn) if gateway.bgp_asn <= LARGEST_BGP_ASN else None,
                bgp_asn_extended=str(gateway.bgp_asn) if gateway.bgp_asn > LARGEST_BGP_ASN else None,
                ip_address=gateway.ip_address,
                type="ipsec.1",
                tags=base_tags(args.stack, f"{gateway.name}-cgw", **{"telework:site": gateway.kind}),
                opts=child,
            )
            psk = args.preshared_keys[gateway.name]
            connection = aws.ec2.VpnConnection(
                f"{label}-vpn",
                vpn_gateway_id=vgw.id,
                customer_gateway_id=customer.id,
                type="ipsec.1",
                static_routes_only=True,
                local_ipv4_network_cidr="0.0.0.0/0",
                remote_ipv4_network_cidr=args.vpc_cidr,
                tunnel1_preshared_key=psk,
                tunnel2_preshared_key=psk,
                tunnel1_ike_versions=IKE_VERSIONS,
                tunnel2_ike_versions=IKE_VERSIONS,
                tunnel1_phase1_encryption_algorithms=PHASE1_ENCRYPTION,
                tunnel2_phase1_encryption_algorithms=PHASE1_ENCRYPTION,
                tunnel1_phase2_encryption_algorithms=PHASE2_ENCRYPTION,
                tunnel2_phase2_encryption_algorithms=PHASE2_ENCRYPTION,
                tunnel1_phase1_integrity_algorithms=INTEGRITY,
                tunnel2_phase1_integrity_algorithms=INTEGRITY,
                tunnel1_phase2_integrity_algorithms=INTEGRITY,
                tunnel2_phase2_integrity_algorithms=INTEGRITY,
                tunnel1_phase1_dh_group_numbers=DH_GROUPS,
                tunnel2_phase1_dh_group_numbers=DH_GROUPS,
                tunnel1_phase2_dh_group_numbers=DH_GROUPS,
                tunnel2_phase2_dh_group_numbers=DH_GROUPS,
                tunnel1_log_options=log_options,
                tunnel2_log_options=log_options_2,
                tags=base_tags(args.stack, f"{gateway.name}-vpn", **{"telework:site": gateway.kind}),
                opts=child,
            )
            for index, cidr in enumerate(gateway.cidrs):
                aws.ec2.VpnConnectionRoute(
                    f"{label}-route-{index}",
                    vpn_connection_id=connection.id,
                    destination_cidr_block=cidr,
                    opts=child,
                )
            self.tunnel_addresses[gateway.name] = [
                connection.tunnel1_address,
                connection.tunnel2_address,
            ]
        self.register_outputs({"tunnel_addresses": self.tunnel_addresses})
