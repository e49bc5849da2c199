"""The whole cloud side as one function, `build(cfg, preshared_keys)`.

`infra/__main__.py` calls it with the stack's validated configuration; the unit tests and the
benchmark call it under the Pulumi mock runtime at 50, 200 and 2,000 seats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pulumi
import pulumi_aws as aws

from infra.client_vpn import ClientVpn, ClientVpnArgs
from infra.config import TeleworkConfig, as_json
from infra.debian_image import debian_13_image
from infra.desktop_lifecycle import DesktopLifecycle, DesktopLifecycleArgs
from infra.desktops import Desktops, DesktopsArgs, DesktopSizing, group_name
from infra.host_context import HostContext
from infra.instance_roles import InstanceRole, InstanceRoleArgs
from infra.log_archive import LogArchive, LogArchiveArgs
from infra.log_server import LogServer, LogServerArgs
from infra.network import Network, NetworkArgs
from infra.package_proxy import PackageProxy, PackageProxyArgs
from infra.private_bucket import PrivateBucket, PrivateBucketArgs
from infra.security_groups import Group, SecurityGroups, SecurityGroupsArgs
from infra.service_roles import ServiceRoles, ServiceRolesArgs
from infra.session_brokers import SessionBrokers, SessionBrokersArgs
from infra.site_bundle import SiteBundle, SiteBundleArgs
from infra.site_configuration import SiteConfiguration, SiteConfigurationArgs
from infra.site_to_site_vpn import SiteToSiteVpn, SiteToSiteVpnArgs
from infra.tagging import PURPOSE_SSM_TRANSFER, Role, Zone
from infra.vpc_endpoints import VpcEndpoints, VpcEndpointsArgs
from infra.vpn_gateways import VpnGateways, VpnGatewaysArgs


@dataclass(frozen=True)
class Platform:
    """The components of one stack, for tests and for the stack outputs."""

    service_roles: ServiceRoles
    log_archive: LogArchive
    network: Network
    security_groups: SecurityGroups
    endpoints: VpcEndpoints
    ssm_transfer: PrivateBucket
    site_bundle: SiteBundle
    site_configuration: SiteConfiguration
    package_proxy: PackageProxy
    log_server: LogServer
    brokers: SessionBrokers
    desktop_lifecycle: DesktopLifecycle
    desktops: Desktops
    client_vpn: ClientVpn
    site_to_site: SiteToSiteVpn | None
    vpn_gateways: VpnGateways | None


def build(cfg: TeleworkConfig, preshared_keys: Mapping[str, pulumi.Input[str]]) -> Platform:
    """Declare every resource of the stack and export what engineers and Ansible need."""
    stack, region = cfg.stack, cfg.region
    net, access, desk, logs = cfg.network, cfg.remote_access, cfg.desktops, cfg.logging
    if not access.mfa_on_client_vpn:
        pulumi.log.warn(
            "TW-04: telework:client_vpn_saml_provider_arn is not set, so the Client VPN asks "
            "for the device certificate only. Set it (SAML with MFA at the ward's identity "
            "provider) or give staff the OpenVPN gateways (telework:vpn_gateway_count)."
        )
    account_id = aws.get_caller_identity_output().account_id

    service_roles = ServiceRoles("service-roles", ServiceRolesArgs(stack=stack))
    log_archive = LogArchive(
        "logs",
        LogArchiveArgs(
            stack=stack,
            region=region,
            log_retention_days=logs.log_retention_days,
            archive_retention_days=logs.archive_retention_days,
            archive_lock_mode=logs.archive_lock_mode,
            account_id=account_id,
            volume_service_role_arn=service_roles.autoscaling_role_arn,
        ),
    )
    network = Network(
        "network",
        NetworkArgs(
            stack=stack,
            region=region,
            vpc_cidr=net.vpc_cidr,
            availability_zones=net.availability_zones,
            edge_subnet_cidrs=net.edge_subnet_cidrs,
            desktop_subnet_cidrs=net.desktop_subnet_cidrs,
            management_subnet_cidrs=net.management_subnet_cidrs,
            flow_log_group_arn=log_archive.log_group_arns["vpc-flow-logs"],
            account_id=account_id,
        ),
    )
    vpn_gateways_on = access.vpn_gateway_count > 0
    groups = SecurityGroups(
        "sg",
        SecurityGroupsArgs(
            stack=stack,
            vpc_id=network.vpc_id,
            s3_prefix_list_id=network.s3_prefix_list_id,
            office_cidrs=access.office_cidrs,
            carrier_cidrs=access.carrier_cidrs,
            vpn_port=access.vpn_port,
            vpn_gateways=vpn_gateways_on,
        ),
    )
    endpoints = VpcEndpoints(
        "endpoints",
        VpcEndpointsArgs(
            stack=stack,
            region=region,
            vpc_id=network.vpc_id,
            subnet_ids=network.subnet_ids[Zone.MANAGEMENT],
            security_group_id=groups.ids[Group.ENDPOINTS],
            account_id=account_id,
        ),
    )
    # Ansible's SSM connection copies modules through this bucket; nothing stays longer
    # than a day, and no old versions are kept.
    ssm_transfer = PrivateBucket(
        "ssm-transfer",
        PrivateBucketArgs(
            stack=stack,
            purpose=PURPOSE_SSM_TRANSFER,
            kms_key_arn=None,
            expire_after_days=1,
            force_destroy=True,
            versioning=False,
        ),
    )
    bundle = SiteBundle("site-bundle", SiteBundleArgs(stack=stack, region=region))
    direct = HostContext(
        stack=stack,
        region=region,
        image=debian_13_image(),
        kms_key_arn=log_archive.kms_key_arn,
        ssm_bucket_name=ssm_transfer.bucket_name,
        site_bundle_object_arn=bundle.object_arn,
        proxy_address=None,
    )
    proxy = PackageProxy(
        "package-proxy",
        PackageProxyArgs(
            context=direct,
            instance_type=cfg.packages.package_proxy_instance_type,
            subnet_id=network.subnet_ids[Zone.EDGE][0],
            availability_zone=net.availability_zones[0],
            security_group_ids=[groups.ids[Group.PACKAGE_PROXY]],
        ),
    )
    context = replace(direct, proxy_address=proxy.private_ip)
    log_server = LogServer(
        "log-server",
        LogServerArgs(
            context=context,
            instance_type=logs.log_server_instance_type,
            volume_gb=logs.log_volume_gb,
            subnet_id=network.subnet_ids[Zone.MANAGEMENT][0],
            availability_zone=net.availability_zones[0],
            security_group_ids=[groups.ids[Group.LOG_SERVER]],
            archive_bucket_arn=log_archive.archive_bucket_arn,
        ),
    )
    brokers = SessionBrokers(
        "rdp-brokers",
        SessionBrokersArgs(
            context=context,
            instance_type=desk.broker_instance_type,
            vpc_id=network.vpc_id,
            subnet_ids=network.subnet_ids[Zone.DESKTOP],
            availability_zones=net.availability_zones,
            broker_security_group_id=groups.ids[Group.RDP_BROKER],
            rdp_entry_security_group_id=groups.ids[Group.RDP_ENTRY],
        ),
    )
    host_roles = (Role.REMOTE_DESKTOP, Role.RDP_BROKER, Role.LOG_SERVER, Role.PACKAGE_PROXY)
    site = SiteConfiguration(
        "site",
        SiteConfigurationArgs(
            stack=stack,
            bundle_url=bundle.url,
            roles=(*host_roles, Role.VPN_GATEWAY) if vpn_gateways_on else host_roles,
        ),
    )
    lifecycle = DesktopLifecycle(
        "desktop-lifecycle",
        DesktopLifecycleArgs(
            stack=stack,
            region=region,
            account_id=account_id,
            group_name=group_name(stack),
            apply_document_name=site.document_name,
            apply_document_arn=site.document_arn,
            broker_association_id=site.association_ids[Role.RDP_BROKER],
        ),
    )
    desktop_role = InstanceRole(
        "desktop",
        InstanceRoleArgs(stack=stack, site_bundle_object_arn=bundle.object_arn),
    )
    desktops = Desktops(
        "desktops",
        DesktopsArgs(
            context=context,
            sizing=DesktopSizing(
                hosts=desk.desktop_hosts,
                off_hours_hosts=desk.off_hours_hosts,
                work_start_hour=desk.work_start_hour,
                work_end_hour=desk.work_end_hour,
            ),
            instance_type=desk.desktop_instance_type,
            volume_gb=desk.desktop_volume_gb,
            subnet_ids=network.subnet_ids[Zone.DESKTOP],
            desktop_security_group_id=groups.ids[Group.DESKTOP],
            instance_profile_arn=desktop_role.profile_arn,
            service_linked_role_arn=service_roles.autoscaling_role_arn,
            lifecycle_hooks=lifecycle.hooks,
            launch_after=lifecycle.ready,
        ),
    )
    client_vpn = ClientVpn(
        "client-vpn",
        ClientVpnArgs(
            stack=stack,
            vpc_id=network.vpc_id,
            vpc_cidr=net.vpc_cidr,
            client_cidr=access.client_vpn_cidr,
            server_certificate_arn=access.client_vpn_server_certificate_arn,
            root_certificate_arn=access.client_vpn_root_certificate_arn,
            saml_provider_arn=access.client_vpn_saml_provider_arn,
            session_timeout_hours=access.client_vpn_session_timeout_hours,
            vpn_port=access.vpn_port,
            edge_subnet_ids=network.subnet_ids[Zone.EDGE],
            desktop_subnet_cidrs=net.desktop_subnet_cidrs,
            security_group_id=groups.ids[Group.CLIENT_VPN],
            log_group_name=log_archive.log_group_names["client-vpn"],
        ),
    )
    site_to_site = None
    if access.customer_gateways:
        site_to_site = SiteToSiteVpn(
            "site-to-site",
            SiteToSiteVpnArgs(
                stack=stack,
                vpc_id=network.vpc_id,
                vpc_cidr=net.vpc_cidr,
                gateways=access.customer_gateways,
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
                context=context,
                count=access.vpn_gateway_count,
                instance_type=access.vpn_gateway_instance_type,
                subnet_ids=network.subnet_ids[Zone.EDGE],
                availability_zones=net.availability_zones,
                security_group_ids=[groups.ids[Group.VPN_GATEWAY]],
            ),
        )

    pulumi.export("settings", as_json(cfg))
    pulumi.export("vpc_id", network.vpc_id)
    pulumi.export("client_vpn_endpoint_id", client_vpn.endpoint_id)
    pulumi.export("rdp_address", brokers.rdp_address)
    pulumi.export("rdp_broker_ips", brokers.private_ips)
    pulumi.export("desktop_group", desktops.group_name)
    pulumi.export("log_server_ip", log_server.private_ip)
    pulumi.export("package_proxy_ip", proxy.private_ip)
    pulumi.export("log_archive_bucket", log_archive.archive_bucket_name)
    pulumi.export("ssm_transfer_bucket", ssm_transfer.bucket_name)
    pulumi.export("site_bundle_bucket", bundle.bucket_name)
    if site_to_site is not None:
        pulumi.export("site_to_site_tunnels", site_to_site.tunnel_addresses)
    if vpn_gateways is not None:
        pulumi.export("vpn_gateway_ips", vpn_gateways.public_ips)

    return Platform(
        service_roles=service_roles,
        log_archive=log_archive,
        network=network,
        security_groups=groups,
        endpoints=endpoints,
        ssm_transfer=ssm_transfer,
        site_bundle=bundle,
        site_configuration=site,
        package_proxy=proxy,
        log_server=log_server,
        brokers=brokers,
        desktop_lifecycle=lifecycle,
        desktops=desktops,
        client_vpn=client_vpn,
        site_to_site=site_to_site,
        vpn_gateways=vpn_gateways,
    )
