"""Security groups that allow exactly the flows of ARCHITECTURE.md, and nothing else (TW-11).

The flows are data (`allowed_flows`), so a reviewer reads one table and the tests check the
table and the rules declared from it. Each flow between two groups becomes an egress rule on
the source and an ingress rule on the target; a flow from or to a CIDR becomes one rule.
Security groups are created without inline rules, so AWS's default allow-all egress rule is
removed, and the VPC's default security group is emptied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import pulumi
import pulumi_aws as aws

from infra.tagging import base_tags

INTERNET = "0.0.0.0/0"
RDP_PORT = 3389
LOG_PORT = 6514  # RELP / syslog over TLS (TW-08, TW-09)
HTTPS_PORT = 443
SMB_PORT = 445
XMPP_PORT = 5222
PROXY_PORT = 3142  # apt-cacher-ng
HTTP_PORT = 80
BROKER_PEER_PORT = 10000  # HAProxy `peers`: the two brokers share their stick tables


class Group(StrEnum):
    """The security groups of the VPC."""

    CLIENT_VPN = "client-vpn"  # the AWS Client VPN endpoint's interfaces (pattern 1)
    VPN_GATEWAY = "vpn-gateway"  # optional self-managed OpenVPN gateways (cert + TOTP)
    RDP_ENTRY = "rdp-entry"  # the internal network load balancer in front of the brokers
    RDP_BROKER = "rdp-broker"  # HAProxy session brokers: each user back to their own host
    DESKTOP = "desktop"  # remote-desktop hosts
    LOG_SERVER = "log-server"
    PACKAGE_PROXY = "package-proxy"
    ENDPOINTS = "endpoints"  # interface VPC endpoints: SSM, CloudWatch Logs, KMS


@dataclass(frozen=True)
class Cidr:
    """An address range outside the VPC's security groups."""

    cidr: str
    label: str


@dataclass(frozen=True)
class PrefixList:
    """An AWS-managed prefix list (the S3 gateway endpoint)."""

    label: str


Peer = Group | Cidr | PrefixList


@dataclass(frozen=True)
class Flow:
    """One allowed connection: who opens it, to whom, on which port, and which control."""

    source: Peer
    target: Peer
    port: int
    protocol: Literal["tcp", "udp"]
    controls: str
    description: str


def allowed_flows(
    office_cidrs: Sequence[str],
    carrier_cidrs: Sequence[str],
    vpn_port: int,
    vpn_gateways: bool,
) -> tuple[Flow, ...]:
    """Every connection the security groups allow, as in ARCHITECTURE.md's zones and flows."""
    flows: list[Flow] = []

    def add(source: Peer, target: Peer, port: int, controls: str, text: str) -> None:
        flows.append(Flow(source, target, port, "tcp", controls, text))

    # Pattern 1 and 2: remote access reaches the desktops on RDP, and only RDP.
    add(Group.CLIENT_VPN, Group.RDP_ENTRY, RDP_PORT, "TW-11", "VPN clients to RDP entry")
    if vpn_gateways:
        flows.append(
            Flow(
                Cidr(INTERNET, "internet"),
                Group.VPN_GATEWAY,
                vpn_port,
                "udp",
                "TW-04 TW-05",
                "OpenVPN from staff PCs (the only ingress from the internet)",
            )
        )
        add(
            Group.VPN_GATEWAY,
            Group.RDP_ENTRY,
            RDP_PORT,
            "TW-11",
            "VPN gateway to RDP entry",
        )
    for cidr in carrier_cidrs:
        add(
            Cidr(cidr, "carrier"),
            Group.RDP_ENTRY,
            RDP_PORT,
            "TW-11",
            "lent PCs on the carrier network to RDP entry",
        )
    add(Group.RDP_ENTRY, Group.RDP_BROKER, RDP_PORT, "TW-11", "RDP entry to the session brokers")
    add(Group.RDP_BROKER, Group.DESKTOP, RDP_PORT, "TW-11", "session brokers to desktop hosts")
    add(Group.RDP_BROKER, Group.RDP_BROKER, BROKER_PEER_PORT, "TW-11", "brokers share sessions (HAProxy peers)")

    # Desktop sessions reach the office zone's services, and nothing else there.
    for cidr in office_cidrs:
        office = Cidr(cidr, "office")
        add(
            Group.DESKTOP,
            office,
            SMB_PORT,
            "TW-08 TW-11",
            "desktops to file servers (SMB3)",
        )
        add(Group.DESKTOP, office, XMPP_PORT, "TW-08 TW-11", "desktops to chat server")
        add(
            Group.DESKTOP,
            office,
            HTTPS_PORT,
            "TW-08 TW-11",
            "desktops to internal systems",
        )

    # Every host forwards its logs to the log server over TLS (RELP), on-premises ones too.
    hosts = [Group.DESKTOP, Group.RDP_BROKER, Group.PACKAGE_PROXY]
    if vpn_gateways:
        hosts.append(Group.VPN_GATEWAY)
    for host in hosts:
        add(
            host,
            Group.LOG_SERVER,
            LOG_PORT,
            "TW-08 TW-09",
            f"{host} logs to log server",
        )
    for cidr in office_cidrs:
        add(
            Cidr(cidr, "office"),
            Group.LOG_SERVER,
            LOG_PORT,
            "TW-08 TW-09",
            "office-zone hosts logs to log server",
        )

    # Management: SSM, CloudWatch Logs and KMS through interface endpoints; S3 through the
    # gateway endpoint (SSM file transfer, log archive). No internet.
    managed = [Group.DESKTOP, Group.RDP_BROKER, Group.LOG_SERVER, Group.PACKAGE_PROXY]
    if vpn_gateways:
        managed.append(Group.VPN_GATEWAY)
    for host in managed:
        add(
            host,
            Group.ENDPOINTS,
            HTTPS_PORT,
            "TW-11",
            f"{host} to SSM/Logs/KMS endpoints",
        )
        add(
            host,
            PrefixList("s3"),
            HTTPS_PORT,
            "TW-11",
            f"{host} to S3 gateway endpoint",
        )

    # TW-12: packages come through the proxy, which alone reaches the Debian archive.
    for host in managed:
        if host is not Group.PACKAGE_PROXY:
            add(
                host,
                Group.PACKAGE_PROXY,
                PROXY_PORT,
                "TW-12",
                f"{host} to package proxy",
            )
    for port in (HTTP_PORT, HTTPS_PORT):
        add(
            Group.PACKAGE_PROXY,
            Cidr(INTERNET, "internet"),
            port,
            "TW-12",
            "package proxy to the Debian archive",
        )
    return tuple(flows)


@dataclass(frozen=True)
class SecurityGroupsArgs:
    stack: str
    vpc_id: pulumi.Input[str]
    s3_prefix_list_id: pulumi.Input[str]
    office_cidrs: tuple[str, ...]
    carrier_cidrs: tuple[str, ...]
    vpn_port: int
    vpn_gateways: bool


def peer_slug(peer: Peer) -> str:
    """A rule's name part for a peer, from the peer itself (a CIDR's name holds the CIDR), so
    that reordering CIDRs in the stack's config renames no rule and so replaces none."""
    if isinstance(peer, Group):
        return peer.value
    if isinstance(peer, PrefixList):
        return f"pl-{peer.label}"
    if peer.cidr == INTERNET:
        return peer.label
    return f"{peer.label}-{peer.cidr.replace('.', '-').replace('/', '-')}"


def rule_name(component: str, flow: Flow) -> str:
    """The logical name of a flow's rules (`-out` on the source, `-in` on the target)."""
    return f"{component}-{peer_slug(flow.source)}-to-{peer_slug(flow.target)}-{flow.protocol}{flow.port}"


class SecurityGroups(pulumi.ComponentResource):
    """One security group per role of ARCHITECTURE.md, with the rules of `allowed_flows`."""

    ids: dict[Group, pulumi.Output[str]]
    flows: tuple[Flow, ...]

    def __init__(
        self,
        name: str,
        args: SecurityGroupsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("telework:network:SecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # CIS AWS 5.4: the default security group allows nothing.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default",
            vpc_id=args.vpc_id,
            ingress=[],
            egress=[],
            tags=base_tags(args.stack, "default-sg-empty"),
            opts=child,
        )

        groups = [g for g in Group if args.vpn_gateways or g is not Group.VPN_GATEWAY]
        self.ids = {}
        for group in groups:
            sg = aws.ec2.SecurityGroup(
                f"{name}-{group}",
                # AWS refuses group names that start with `sg-`; Pulumi would otherwise name the
                # group after this resource and a random suffix.
                name_prefix=f"telework-{args.stack}-{group}-",
                vpc_id=args.vpc_id,
                description=f"telework {group} (TW-11: only the flows of ARCHITECTURE.md)",
                tags=base_tags(args.stack, f"{group}-sg"),
                opts=child,
            )
            self.ids[group] = sg.id

        self.flows = allowed_flows(args.office_cidrs, args.carrier_cidrs, args.vpn_port, args.vpn_gateways)
        peer_ids: dict[Peer, pulumi.Output[str]] = {g: i for g, i in self.ids.items()}

        def prefix(peer: Peer) -> pulumi.Input[str] | None:
            return args.s3_prefix_list_id if isinstance(peer, PrefixList) else None

        def cidr(peer: Peer) -> str | None:
            return peer.cidr if isinstance(peer, Cidr) else None

        for flow in self.flows:
            rule = rule_name(name, flow)
            description = f"{flow.controls}: {flow.description}"
            if isinstance(flow.source, Group):
                aws.vpc.SecurityGroupEgressRule(
                    f"{rule}-out",
                    security_group_id=self.ids[flow.source],
                    ip_protocol=flow.protocol,
                    from_port=flow.port,
                    to_port=flow.port,
                    description=description,
                    referenced_security_group_id=peer_ids.get(flow.target),
                    prefix_list_id=prefix(flow.target),
                    cidr_ipv4=cidr(flow.target),
                    opts=child,
                )
            if isinstance(flow.target, Group):
                aws.vpc.SecurityGroupIngressRule(
                    f"{rule}-in",
                    security_group_id=self.ids[flow.target],
                    ip_protocol=flow.protocol,
                    from_port=flow.port,
                    to_port=flow.port,
                    description=description,
                    referenced_security_group_id=peer_ids.get(flow.source),
                    prefix_list_id=prefix(flow.source),
                    cidr_ipv4=cidr(flow.source),
                    opts=child,
                )

        self.register_outputs({str(g): i for g, i in self.ids.items()})
