"""Client VPN (pattern 1) and Site-to-Site VPN (pattern 2, office link)."""

from __future__ import annotations

import pulumi

from infra.client_vpn import ClientVpn, ClientVpnArgs, vpc_resolver
from infra.site_to_site_vpn import SiteToSiteVpn, SiteToSiteVpnArgs
from tests.unit.infra.pulumi_mocks import (
    CLIENT_CA,
    SAML,
    SERVER_CERT,
    TeleworkMocks,
    config_for,
    declare,
)

ENDPOINT = "aws:ec2clientvpn/endpoint:Endpoint"
AUTH = "aws:ec2clientvpn/authorizationRule:AuthorizationRule"
ASSOC = "aws:ec2clientvpn/networkAssociation:NetworkAssociation"
CGW = "aws:ec2/customerGateway:CustomerGateway"
CONNECTION = "aws:ec2/vpnConnection:VpnConnection"
ROUTE = "aws:ec2/vpnConnectionRoute:VpnConnectionRoute"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value
PROPAGATION = "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation"


def _client_vpn(mocks: TeleworkMocks, saml: str | None = SAML) -> None:
    def program() -> pulumi.Output[None]:
        vpn = ClientVpn(
            "client-vpn",
            ClientVpnArgs(
                stack="test",
                vpc_id="vpc-1",
                vpc_cidr="10.40.0.0/16",
                client_cidr="10.44.0.0/20",
                server_certificate_arn=SERVER_CERT,
                root_certificate_arn=CLIENT_CA,
                saml_provider_arn=saml,
                session_timeout_hours=8,
                vpn_port=1194,
                edge_subnet_ids=["subnet-e0", "subnet-e1"],
                desktop_subnet_cidrs=["10.40.16.0/20", "10.40.32.0/20"],
                security_group_id="sg-client-vpn",
                log_group_name="/telework/test/client-vpn",
            ),
        )
        return vpn.endpoint_id.apply(lambda i: None if i == "client-vpn-endpoint-id" else _fail(i))

    declare(program)


def _fail(value: object) -> None:
    raise AssertionError(value)


def test_tw04_tw05_client_vpn_needs_device_certificate_and_saml_mfa(
    mocks: TeleworkMocks,
) -> None:
    _client_vpn(mocks)
    (endpoint,) = mocks.of_type(ENDPOINT)
    options = {o["type"]: o for o in endpoint.inputs["authenticationOptions"]}
    assert options["certificate-authentication"]["rootCertificateChainArn"] == CLIENT_CA
    assert options["federated-authentication"]["samlProviderArn"] == SAML
    assert endpoint.inputs["serverCertificateArn"] == SERVER_CERT


def test_tw05_without_saml_the_certificate_is_still_required(
    mocks: TeleworkMocks,
) -> None:
    _client_vpn(mocks, saml=None)
    (endpoint,) = mocks.of_type(ENDPOINT)
    assert [o["type"] for o in endpoint.inputs["authenticationOptions"]] == ["certificate-authentication"]


def test_tw09_client_vpn_logs_every_connection_to_cloudwatch(
    mocks: TeleworkMocks,
) -> None:
    _client_vpn(mocks)
    (endpoint,) = mocks.of_type(ENDPOINT)
    log = endpoint.inputs["connectionLogOptions"]
    assert log["enabled"] is True
    assert log["cloudwatchLogGroup"] == "/telework/test/client-vpn"
    assert log["cloudwatchLogStream"] == "connections"


def test_tw07_tw11_split_tunnel_session_timeout_and_banner(
    mocks: TeleworkMocks,
) -> None:
    _client_vpn(mocks)
    (endpoint,) = mocks.of_type(ENDPOINT)
    assert endpoint.inputs["splitTunnel"] is True
    assert endpoint.inputs["sessionTimeoutHours"] == 8
    assert endpoint.inputs["disconnectOnSessionTimeout"] is True
    assert endpoint.inputs["securityGroupIds"] == ["sg-client-vpn"]
    assert endpoint.inputs["dnsServers"] == [vpc_resolver("10.40.0.0/16")] == ["10.40.0.2"]
    assert endpoint.inputs["clientLoginBannerOptions"]["enabled"] is True
    assert endpoint.inputs["selfServicePortal"] == "disabled"


def test_tw11_client_vpn_is_authorised_to_desktop_subnets_and_the_resolver_only(
    mocks: TeleworkMocks,
) -> None:
    _client_vpn(mocks)
    rules = mocks.of_type(AUTH)
    assert sorted(r.inputs["targetNetworkCidr"] for r in rules) == [
        "10.40.0.2/32",
        "10.40.16.0/20",
        "10.40.32.0/20",
    ]
    assert sorted(a.inputs["subnetId"] for a in mocks.of_type(ASSOC)) == [
        "subnet-e0",
        "subnet-e1",
    ]


def _site_to_site(mocks: TeleworkMocks) -> None:
    cfg = config_for(200)

    def program() -> pulumi.Output[None]:
        vpn = SiteToSiteVpn(
            "site-to-site",
            SiteToSiteVpnArgs(
                stack="test",
                vpc_id="vpc-1",
                vpc_cidr=cfg.network.vpc_cidr,
                gateways=cfg.remote_access.customer_gateways,
                preshared_keys={
                    gw.name: pulumi.Output.secret(f"psk-{gw.name}") for gw in cfg.remote_access.customer_gateways
                },
                route_table_ids=["rt-desktop", "rt-management"],
                log_group_arn="arn:aws:logs:ap-northeast-1:123456789012:log-group:s2s",
            ),
        )

        def check(addresses: list[str]) -> None:
            assert len(addresses) == 4 and all(addresses)

        return pulumi.Output.all(*[a for pair in vpn.tunnel_addresses.values() for a in pair]).apply(check)

    declare(program)


def test_site_to_site_connects_office_and_carrier_from_config(
    mocks: TeleworkMocks,
) -> None:
    _site_to_site(mocks)
    gateways = {g.name: g.inputs for g in mocks.of_type(CGW)}
    assert gateways["site-to-site-office-cgw"]["ipAddress"] == "203.0.113.10"
    assert gateways["site-to-site-office-cgw"]["bgpAsn"] == "65010"
    assert gateways["site-to-site-carrier-cgw"]["ipAddress"] == "198.51.100.20"
    routes = sorted(r.inputs["destinationCidrBlock"] for r in mocks.of_type(ROUTE))
    assert routes == ["172.20.0.0/16", "172.30.0.0/20", "172.30.16.0/20"]
    tables = sorted(p.inputs["routeTableId"] for p in mocks.of_type(PROPAGATION))
    assert tables == ["rt-desktop", "rt-management"]


def test_tw08_tunnels_use_ikev2_aes256_sha2_and_log_to_cloudwatch(
    mocks: TeleworkMocks,
) -> None:
    _site_to_site(mocks)
    connections = mocks.of_type(CONNECTION)
    assert len(connections) == 2
    for connection in connections:
        inputs = connection.inputs
        assert inputs["staticRoutesOnly"] is True
        for tunnel in ("tunnel1", "tunnel2"):
            assert inputs[f"{tunnel}IkeVersions"] == ["ikev2"]
            assert all(a.startswith("AES256") for a in inputs[f"{tunnel}Phase1EncryptionAlgorithms"])
            assert all(a.startswith("AES256") for a in inputs[f"{tunnel}Phase2EncryptionAlgorithms"])
            assert all(a.startswith("SHA2") for a in inputs[f"{tunnel}Phase1IntegrityAlgorithms"])
            assert min(inputs[f"{tunnel}Phase1DhGroupNumbers"]) >= 19
            assert inputs[f"{tunnel}LogOptions"]["cloudwatchLogOptions"]["logEnabled"] is True
            # The pre-shared key reaches the engine as a secret, never as plain text.
            psk = inputs[f"{tunnel}PresharedKey"]
            assert isinstance(psk, dict) and SECRET_SIG in psk, psk
            assert psk["value"].startswith("psk-")
