"""The whole cloud side as one function, `build(cfg, preshared_keys)`.

`infra/__main__.py` calls it with the stack's validated configuration; the unit tests and the
benchmark call it under the Pulumi mock runtime at 50, 200 and 2,000 seats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from infra.client_vpn import ClientVpn, ClientVpnArgs
from infra.config import TeleworkConfig, as_json
from infra.debian_image import debian_13_image_id
from infra.desktops import Desktops, DesktopsArgs, DesktopSizing
from infra.instance_roles import InstanceRole, InstanceRoleArgs
from infra.log_archive import LogArchive, LogArchiveArgs
from infra.log_server import LogServer, LogServerArgs
from infra.network import Network, NetworkArgs
from infra.package_proxy import PackageProxy, PackageProxyArgs
from infra.private_bucket import PrivateBucket, PrivateBucketArgs
from infra.security_groups import Group, SecurityGroups, SecurityGroupsArgs
from infra.site_to_site_vpn import SiteToSiteVpn, SiteToSiteVpnArgs
from infra.tagging import PURPOSE_SSM_TRANSFER, Zone
from infra.user_data import ssm_bootstrap
from infra.vpc_endpoints import VpcEndpoints, VpcEndpointsArgs
from infra.vpn_gateways import VpnGateways, VpnGatewaysArgs


@dataclass(frozen=True)
class Platform:
    """The components of one stack, for tests and for the stack outputs."""

    log_archive: LogArchive
    network: Network
    security_groups: SecurityGroups
    endpoints: VpcEndpoints
    ssm_transfer: PrivateBucket
    package_proxy: PackageProxy
    log_server: LogServer
    desktops: Desktops
    client_vpn: ClientVpn
    site_to_site: SiteToSiteVpn | None
    vpn_gateways: VpnGateways | None


def build(cfg: TeleworkConfig, preshared_keys: Mapping[str, pulumi.Input[str]]) -> Platform:
    """Declare every resource of the stack and export what engineers and Ansible need."""
    stack = cfg.stack
    if not cfg.mfa_on_client_vpn:
        pulumi.log.warn(
            "TW-04: telework:client_vpn_saml_provider_arn is not set, so the Client VPN asks "
            "for the device certificate only. Set it (SAML with MFA at the ward's identity "
            "provider) or give staff the OpenVPN gateways (telework:vpn_gateway_count)."
        )

    log_archive = LogArchive(
        "logs",
        LogArchiveArgs(
            stack=stack,
            region=cfg.region,
            log_retention_days=cfg.log_retention_days,
            archive_retention_days=cfg.archive_retention_days,
            archive_lock_mode=cfg.archive_lock_mode,
        ),
    )
    network = Network(
        "network",
        NetworkArgs(
            stack=stack,
            region=cfg.region,
            vpc_cidr=cfg.vpc_cidr,
            availability_zones=cfg.availability_zones,
            edge_subnet_cidrs=cfg.edge_subnet_cidrs,
            desktop_subnet_cidrs=cfg.desktop_subnet_cidrs,
            management_subnet_cidrs=cfg.management_subnet_cidrs,
            flow_log_group_arn=log_archive.log_group_arns["vpc-flow-logs"],
        ),
    )
    vpn_gateways_on = cfg.vpn_gateway_count > 0
    groups = SecurityGroups(
        "sg",
        SecurityGroupsArgs(
            stack=stack,
            vpc_id=network.vpc_id,
            s3_prefix_list_id=network.s3_prefix_list_id,
            office_cidrs=cfg.office_cidrs,
            carrier_cidrs=cfg.carrier_cidrs,
            vpn_port=cfg.vpn_port,
            vpn_gateways=vpn_gateways_on,
        ),
    )
    endpoints = VpcEndpoints(
        "endpoints",
        VpcEndpointsArgs(
            stack=stack,
            region=cfg.region,
            vpc_id=network.vpc_id,
            subnet_ids=network.subnet_ids[Zone.MANAGEMENT],
            security_group_id=groups.ids[Group.ENDPOINTS],
        ),
    )
    # Ansible's SSM connection copies modules through this bucket; nothing stays longer
    # than a day.
    ssm_transfer = PrivateBucket(
        "ssm-transfer",
        PrivateBucketArgs(
            stack=stack,
            purpose=PURPOSE_SSM_TRANSFER,
            kms_key_arn=None,
            expire_after_days=1,
            force_destroy=True,
        ),
    )
    image_id = debian_13_image_id()

    proxy = PackageProxy(
        "package-proxy",
        PackageProxyArgs(
            stack=stack,
            region=cfg.region,
            image_id=image_id,
            instance_type=cfg.package_proxy_instance_type,
            subnet_id=network.subnet_ids[Zone.EDGE][0],
            availability_zone=cfg.availability_zones[0],
            security_group_ids=[groups.ids[Group.PACKAGE_PROXY]],
            kms_key_arn=log_archive.kms_key_arn,
            ssm_bucket_name=ssm_transfer.bucket_name,
            ssm_bucket_arn=ssm_transfer.arn,
        ),
    )
    log_server = LogServer(
        "log-server",
        LogServerArgs(
            stack=stack,
            region=cfg.region,
            image_id=image_id,
            instance_type=cfg.log_server_instance_type,
            volume_gb=cfg.log_volume_gb,
            subnet_id=network.subnet_ids[Zone.MANAGEMENT][0],
            availability_zone=cfg.availability_zones[0],
            security_group_ids=[groups.ids[Group.LOG_SERVER]],
            kms_key_arn=log_archive.kms_key_arn,
            archive_bucket_arn=log_archive.archive_bucket_arn,
            ssm_bucket_name=ssm_transfer.bucket_name,
            ssm_bucket_arn=ssm_transfer.arn,
            proxy_address=proxy.private_ip,
        ),
    )
    desktop_role = InstanceRole(
        "desktop",
        InstanceRoleArgs(stack=stack, ssm_transfer_bucket_arn=ssm_transfer.arn),
    )
    desktops = Desktops(
        "desktops",
        DesktopsArgs(
            stack=stack,
            sizing=DesktopSizing(
                hosts=cfg.desktop_hosts,
                off_hours_hosts=cfg.off_hours_hosts,
                work_start_hour=cfg.work_start_hour,
                work_end_hour=cfg.work_end_hour,
            ),
            image_id=image_id,
            instance_type=cfg.desktop_instance_type,
            volume_gb=cfg.desktop_volume_gb,
            vpc_id=network.vpc_id,
            subnet_ids=network.subnet_ids[Zone.DESKTOP],
            desktop_security_group_id=groups.ids[Group.DESKTOP],
            rdp_entry_security_group_id=groups.ids[Group.RDP_ENTRY],
            instance_profile_arn=desktop_role.profile_arn,
            kms_key_arn=log_archive.kms_key_arn,
            ssm_bucket_name=ssm_transfer.bucket_name,
            user_data=ssm_bootstrap(cfg.region, proxy.private_ip),
        ),
    )
    client_vpn = ClientVpn(
        "client-vpn",
        ClientVpnArgs(
            stack=stack,
            vpc_id=network.vpc_id,
            vpc_cidr=cfg.vpc_cidr,
            client_cidr=cfg.client_vpn_cidr,
            server_certificate_arn=cfg.client_vpn_server_certificate_arn,
            root_certificate_arn=cfg.client_vpn_root_certificate_arn,
            saml_provider_arn=cfg.client_vpn_saml_provider_arn,
            session_timeout_hours=cfg.client_vpn_session_timeout_hours,
            vpn_port=cfg.vpn_port,
            edge_subnet_ids=network.subnet_ids[Zone.EDGE],
            desktop_subnet_cidrs=cfg.desktop_subnet_cidrs,
            security_group_id=groups.ids[Group.CLIENT_VPN],
            log_group_name=log_archive.log_group_names["client-vpn"],
        ),
    )
    site_to_site = None
    if cfg.customer_gateways:
        site_to_site = SiteToSiteVpn(
            "site-to-site",
            SiteToSiteVpnArgs(
                stack=stack,
                vpc_id=network.vpc_id,
                vpc_cidr=cfg.vpc_cidr,
                gateways=cfg.customer_gateways,
                preshared_keys=preshared_keys,
                route_table_ids=[
                    network.route_table_ids[Zone.DESKTOP],
                    network.route_table_ids[Zone.MANAGEMENT],
                ],
                log_group_arn=log_archive.log_group_arns["site-to-site-vpn"],
            ),
        )
    vpn_gateways = None
    if vpn_gateways_on:
        vpn_gateways = VpnGateways(
            "vpn-gateway",
            VpnGatewaysArgs(
                stack=stack,
                region=cfg.region,
                count=cfg.vpn_gateway_count,
                image_id=image_id,
                instance_type=cfg.vpn_gateway_instance_type,
                subnet_ids=network.subnet_ids[Zone.EDGE],
                availability_zones=cfg.availability_zones,
                security_group_ids=[groups.ids[Group.VPN_GATEWAY]],
                kms_key_arn=log_archive.kms_key_arn,
                ssm_bucket_name=ssm_transfer.bucket_name,
                ssm_bucket_arn=ssm_transfer.arn,
                proxy_address=proxy.private_ip,
            ),
        )

    pulumi.export("settings", as_json(cfg))
    pulumi.export("vpc_id", network.vpc_id)
    pulumi.export("client_vpn_endpoint_id", client_vpn.endpoint_id)
    pulumi.export("rdp_address", desktops.rdp_address)
    pulumi.export("desktop_group", desktops.group_name)
    pulumi.export("log_server_ip", log_server.private_ip)
    pulumi.export("package_proxy_ip", proxy.private_ip)
    pulumi.export("log_archive_bucket", log_archive.archive_bucket_name)
    pulumi.export("ssm_transfer_bucket", ssm_transfer.bucket_name)
    if site_to_site is not None:
        pulumi.export("site_to_site_tunnels", site_to_site.tunnel_addresses)
    if vpn_gateways is not None:
        pulumi.export("vpn_gateway_ips", vpn_gateways.public_ips)

    return Platform(
        log_archive=log_archive,
        network=network,
        security_groups=groups,
        endpoints=endpoints,
        ssm_transfer=ssm_transfer,
        package_proxy=proxy,
        log_server=log_server,
        desktops=desktops,
        client_vpn=client_vpn,
        site_to_site=site_to_site,
        vpn_gateways=vpn_gateways,
    )
