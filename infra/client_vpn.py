"""Pattern 1: staff PCs over the internet through an AWS Client VPN endpoint.

- TW-05: mutual certificate authentication (one client certificate per approved device, signed
  by the CA in ACM; revoke by importing a revocation list on the endpoint);
- TW-04: a second factor through SAML federation with the ward's identity provider, when
  `client_vpn_saml_provider_arn` is set (certificate alone otherwise: see infra/README.md);
- TW-09: every connection attempt, success and end is logged to CloudWatch Logs;
- TW-11: authorised only to the desktop subnets and the VPC resolver it pushes as the clients'
  DNS server (without that rule staff could not resolve the RDP entry's name), split tunnel
  (the home PC's own internet traffic never enters the VPC), and the endpoint's security
  group allows only RDP onward;
- TW-07: a session timeout, with disconnection when it ends;
- TW-14: a login banner in the AWS VPN client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.tagging import base_tags

BANNER = (
    "This system is for authorised ward staff only. Every connection is logged. "
    "Do not photograph or copy the screen. / 許可された職員以外の利用を禁止します。"
    "接続はすべて記録されます。"
)


def vpc_resolver(vpc_cidr: str) -> str:
    """The Amazon-provided DNS resolver of a VPC: its base address plus two."""
    return str(ipaddress.IPv4Network(vpc_cidr).network_address + 2)


@dataclass(frozen=True)
class ClientVpnArgs:
    stack: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    client_cidr: str
    server_certificate_arn: str
    root_certificate_arn: str
    saml_provider_arn: str | None
    session_timeout_hours: int
    vpn_port: int
    edge_subnet_ids: Sequence[pulumi.Input[str]]
    desktop_subnet_cidrs: Sequence[str]
    security_group_id: pulumi.Input[str]
    log_group_name: pulumi.Input[str]


class ClientVpn(pulumi.ComponentResource):
    """The endpoint, its subnet associations and its authorisation rules."""

    endpoint_id: pulumi.Output[str]
    dns_name: pulumi.Output[str]

    def __init__(self, name: str, args: ClientVpnArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("telework:vpn:ClientVpn", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        authentication = [
            aws.ec2clientvpn.EndpointAuthenticationOptionArgs(
                type="certificate-authentication",
                root_certificate_chain_arn=args.root_certificate_arn,
            )
        ]
        if args.saml_provider_arn is not None:
            authentication.append(
                aws.ec2clientvpn.EndpointAuthenticationOptionArgs(
                    type="federated-authentication",
                    saml_provider_arn=args.saml_provider_arn,
                )
            )

        log_stream = aws.cloudwatch.LogStream(
            f"{name}-connections",
            name="connections",
            log_group_name=args.log_group_name,
            opts=child,
        )
        endpoint = aws.ec2clientvpn.Endpoint(
            f"{name}-endpoint",
            description=f"telework {args.stack} pattern 1 (staff PCs)",
            server_certificate_arn=args.server_certificate_arn,
            client_cidr_block=args.client_cidr,
            authentication_options=authentication,
            connection_log_options=aws.ec2clientvpn.EndpointConnectionLogOptionsArgs(
                enabled=True,
                cloudwatch_log_group=args.log_group_name,
                cloudwatch_log_stream=log_stream.name,
            ),
            split_tunnel=True,
            session_timeout_hours=args.session_timeout_hours,
            disconnect_on_session_timeout=True,
            transport_protocol="udp",
            vpn_port=args.vpn_port,
            vpc_id=args.vpc_id,
            security_group_ids=[args.security_group_id],
            dns_servers=[vpc_resolver(args.vpc_cidr)],
            self_service_portal="disabled",
            client_login_banner_options=aws.ec2clientvpn.EndpointClientLoginBannerOptionsArgs(
                enabled=True, banner_text=BANNER
            ),
            tags=base_tags(args.stack, "client-vpn"),
            opts=child,
        )
        self.endpoint_id = endpoint.id
        self.dns_name = endpoint.dns_name

        # Client VPN refuses a change while another one to the same endpoint is in progress, so
        # associations and rules are made one after the other.
        previous: list[pulumi.Resource] = []
        for index, subnet_id in enumerate(args.edge_subnet_ids):
            association = aws.ec2clientvpn.NetworkAssociation(
                f"{name}-edge-{index}",
                client_vpn_endpoint_id=endpoint.id,
                subnet_id=subnet_id,
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            previous = [association]
        resolver = vpc_resolver(args.vpc_cidr)
        targets = [
            *((f"desktop-{index}", cidr, f"TW-11: VPN clients reach the desktop subnet {cidr} only")
              for index, cidr in enumerate(args.desktop_subnet_cidrs)),
            ("dns", f"{resolver}/32", f"TW-11: VPN clients resolve names at the VPC resolver {resolver}"),
        ]  # fmt: skip
        for label, cidr, description in targets:
            rule = aws.ec2clientvpn.AuthorizationRule(
                f"{name}-{label}",
                client_vpn_endpoint_id=endpoint.id,
                target_network_cidr=cidr,
                authorize_all_groups=True,
                description=description,
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            previous = [rule]
        self.register_outputs({"endpoint_id": self.endpoint_id, "dns_name": self.dns_name})
