"""Config validation: each bad value stops the program with a message naming the key."""

from __future__ import annotations

import json

import pytest

from infra.config import (
    ConfigError,
    load_config,
    load_tunnel_secrets,
    validate_config,
)
from tests.unit.infra.pulumi_mocks import (
    CLIENT_CA,
    SERVER_CERT,
    TeleworkMocks,
    config_for,
    raw_config,
)


def test_valid_config_gives_typed_values_and_defaults() -> None:
    cfg = config_for(200)
    assert cfg.desktops.seats == 200
    assert cfg.desktops.users_per_host == 10
    assert cfg.desktops.desktop_hosts == 20
    assert cfg.region == "ap-northeast-1"
    assert cfg.network.availability_zones == ("ap-northeast-1a", "ap-northeast-1c")
    assert cfg.remote_access.office_cidrs == ("172.20.0.0/16",)
    assert cfg.remote_access.carrier_cidrs == ("172.30.0.0/20", "172.30.16.0/20")
    assert cfg.logging.log_retention_days == 400
    assert cfg.remote_access.mfa_on_client_vpn


def test_values_as_the_pulumi_cli_stores_them_are_parsed() -> None:
    raw = raw_config(
        1,
        users_per_host="8",
        desktop_subnet_cidrs='["10.40.16.0/20", "10.40.32.0/20"]',
        customer_gateways="[]",
        log_retention_days="365",
    )
    raw["telework:seats"] = "2000"
    cfg = validate_config(raw, "prod")
    assert (cfg.desktops.seats, cfg.desktops.users_per_host, cfg.desktops.desktop_hosts) == (2000, 8, 250)
    assert cfg.remote_access.customer_gateways == ()
    assert cfg.logging.log_retention_days == 365


def test_minimal_config_needs_only_seats_and_certificates() -> None:
    cfg = validate_config(
        {
            "telework:seats": 50,
            "telework:client_vpn_server_certificate_arn": SERVER_CERT,
            "telework:client_vpn_root_certificate_arn": CLIENT_CA,
        },
        "dev",
    )
    assert cfg.region == "ap-northeast-1"
    assert not cfg.remote_access.mfa_on_client_vpn
    assert cfg.remote_access.customer_gateways == ()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"seats": 0}, "telework:seats must be an integer from 1 to 5000, got 0"),
        ({"seats": 5001}, "telework:seats must be an integer from 1 to 5000, got 5001"),
        (
            {"seats": "fifty"},
            'telework:seats must be an integer from 1 to 5000, got "fifty"',
        ),
        ({"seats": True}, "telework:seats must be an integer from 1 to 5000, got true"),
        (
            {"users_per_host": 0},
            "telework:users_per_host must be an integer from 1 to 50, got 0",
        ),
        (
            {"aws:region": "us-east-1"},
            "aws:region must be one of ap-northeast-1 or ap-northeast-3",
        ),
        (
            {"vpc_cidr": "10.40.0.0/33"},
            'telework:vpc_cidr must be a private IPv4 CIDR (RFC 1918) from /16 to /24, got "10.40.0.0/33"',
        ),
        (
            {"vpc_cidr": "8.8.0.0/16"},
            'telework:vpc_cidr must be a private IPv4 CIDR (RFC 1918) from /16 to /24, got "8.8.0.0/16"',
        ),
        (
            {"vpc_cidr": "10.40.0.1/16"},
            'telework:vpc_cidr must be a private IPv4 CIDR (RFC 1918) from /16 to /24, got "10.40.0.1/16"',
        ),
        (
            {"edge_subnet_cidrs": ["10.40.0.0/24"]},
            "telework:edge_subnet_cidrs must be a list of 2 IPv4 CIDRs from /16 to /28 inside telework:vpc_cidr",
        ),
        (
            {"edge_subnet_cidrs": ["10.40.0.0/24", "10.99.1.0/24"]},
            "telework:edge_subnet_cidrs must be a list of 2 IPv4 CIDRs from /16 to /28 inside telework:vpc_cidr (10.40.0.0/16)",
        ),
        (
            {"management_subnet_cidrs": ["10.40.0.0/24", "10.40.9.0/24"]},
            'telework:management_subnet_cidrs must be CIDRs that do not overlap telework:edge_subnet_cidrs (10.40.0.0/24), got "10.40.0.0/24"',
        ),
        (
            {"desktop_subnet_cidrs": ["10.40.16.0/28", "10.40.17.0/28"]},
            "telework:desktop_subnet_cidrs must be subnets that each hold all 20 desktop hosts",
        ),
        (
            {"client_vpn_cidr": "10.40.0.0/20"},
            'telework:client_vpn_cidr must be CIDRs that do not overlap telework:vpc_cidr (10.40.0.0/16), got "10.40.0.0/20"',
        ),
        (
            {"client_vpn_cidr": "10.44.0.0/23"},
            'telework:client_vpn_cidr must be a private IPv4 CIDR (RFC 1918) from /12 to /22, got "10.44.0.0/23"',
        ),
        (
            {
                "customer_gateways": [
                    {
                        "name": "office",
                        "kind": "office",
                        "ip_address": "203.0.113.1",
                        "cidrs": ["10.40.5.0/24"],
                    }
                ]
            },
            'telework:customer_gateways[0].cidrs must be CIDRs that do not overlap telework:vpc_cidr (10.40.0.0/16), got "10.40.5.0/24"',
        ),
        (
            {
                "customer_gateways": [
                    {
                        "name": "office",
                        "kind": "branch",
                        "ip_address": "203.0.113.1",
                        "cidrs": ["172.20.0.0/16"],
                    }
                ]
            },
            'telework:customer_gateways[0].kind must be office or carrier, got "branch"',
        ),
        (
            {
                "customer_gateways": [
                    {
                        "name": "office",
                        "kind": "office",
                        "ip_address": "10.1.1.1",
                        "cidrs": ["172.20.0.0/16"],
                    }
                ]
            },
            'telework:customer_gateways[0].ip_address must be the public IPv4 address of the on-premises VPN device, got "10.1.1.1"',
        ),
        (
            {
                "customer_gateways": [
                    {
                        "name": "office",
                        "kind": "office",
                        "ip_address": "203.0.113.1",
                        "cidrs": ["8.8.8.0/24"],
                    }
                ]
            },
            'telework:customer_gateways[0].cidrs must be a non-empty list of private IPv4 CIDRs (RFC 1918), got "8.8.8.0/24"',
        ),
        (
            {"vpn_psk_branch": "(secret)"},
            "telework:vpn_psk_branch must be named after a gateway in telework:customer_gateways (carrier, office)",
        ),
        ({"seat": 50}, "telework:seat must be one of the documented keys"),
        (
            {"log_retention_days": 10},
            "telework:log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90,",
        ),
        (
            {"archive_retention_days": 30},
            "telework:archive_retention_days must be an integer from telework:log_retention_days (400) to 36500",
        ),
        (
            {"archive_lock_mode": "NONE"},
            'telework:archive_lock_mode must be one of GOVERNANCE or COMPLIANCE, got "NONE"',
        ),
        (
            {"client_vpn_session_timeout_hours": 48},
            "telework:client_vpn_session_timeout_hours must be one of 8, 10, 12 or 24, got 48",
        ),
        ({"vpn_port": 22}, "telework:vpn_port must be one of 443 or 1194, got 22"),
        (
            {"vpn_gateway_count": 9},
            "telework:vpn_gateway_count must be an integer from 0 to 4, got 9",
        ),
        (
            {"work_end_hour": 6},
            "telework:work_end_hour must be an hour after telework:work_start_hour (7)",
        ),
        (
            {"off_hours_hosts": 21},
            "telework:off_hours_hosts must be an integer from 0 to 20, got 21",
        ),
        (
            {"desktop_instance_type": "big"},
            "telework:desktop_instance_type must be an x86-64 EC2 instance type FAMILY.SIZE of a known family",
        ),
        (
            {"desktop_instance_type": "m7i.huge"},
            "telework:desktop_instance_type must be an x86-64 EC2 instance type FAMILY.SIZE of a known family (c6i, c7i,",
        ),
        (
            {"broker_instance_type": "m7g.large"},
            "telework:broker_instance_type must be an x86-64 EC2 instance type",
        ),
        (
            {
                "client_vpn_server_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
            },
            "telework:client_vpn_server_certificate_arn must be a certificate in the stack's region ap-northeast-1",
        ),
        (
            {"client_vpn_root_certificate_arn": None},
            "telework:client_vpn_root_certificate_arn must be set (it has no default), got nothing (the key is not set)",
        ),
        (
            {"client_vpn_saml_provider_arn": "ward-idp"},
            "telework:client_vpn_saml_provider_arn must be empty or the ARN of the ward's IAM SAML provider",
        ),
        (
            {"availability_zones": ["ap-northeast-1a", "ap-northeast-1a"]},
            "telework:availability_zones must be a list of 2 different availability zones of ap-northeast-1",
        ),
    ],
)
def test_bad_value_stops_with_a_message_naming_the_key(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_config(raw_config(200, **overrides), "test")
    assert str(raised.value).startswith(message), str(raised.value)


def test_client_vpn_range_holds_two_addresses_per_seat() -> None:
    with pytest.raises(ConfigError, match=r"client_vpn_cidr must be .* with at least 4000 addresses"):
        validate_config(raw_config(2000, client_vpn_cidr="10.44.0.0/22"), "test")
    assert validate_config(raw_config(2000, client_vpn_cidr="10.44.0.0/20"), "test")


def test_duplicate_gateway_names_are_refused() -> None:
    gateway = {
        "name": "office",
        "kind": "office",
        "ip_address": "203.0.113.1",
        "cidrs": ["172.20.0.0/16"],
    }
    other = dict(gateway, cidrs=["172.21.0.0/16"])
    with pytest.raises(
        ConfigError,
        match=r'customer_gateways must be a list whose gateway names are unique, got \["office"\]',
    ):
        validate_config(raw_config(50, customer_gateways=[gateway, other]), "test")


def test_overlapping_on_premises_networks_are_refused() -> None:
    office = {
        "name": "office",
        "kind": "office",
        "ip_address": "203.0.113.1",
        "cidrs": ["172.20.0.0/16"],
    }
    carrier = {
        "name": "carrier",
        "kind": "carrier",
        "ip_address": "203.0.113.2",
        "cidrs": ["172.20.8.0/24"],
    }
    with pytest.raises(
        ConfigError,
        match=r"customer_gateways\[1\]\.cidrs must be CIDRs that do not overlap",
    ):
        validate_config(raw_config(50, customer_gateways=[office, carrier]), "test")


@pytest.mark.parametrize("seats", [1, 50, 200, 2000, 5000])
def test_seat_counts_across_the_range_are_accepted(seats: int) -> None:
    assert config_for(seats, client_vpn_cidr="10.44.0.0/16").desktops.seats == seats


def _cli_config(monkeypatch: pytest.MonkeyPatch, values: dict[str, str], secret: tuple[str, ...] = ()) -> None:
    """Hand the program its configuration the way the Pulumi CLI does (PULUMI_CONFIG)."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(values))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(list(secret)))


def test_load_config_reads_the_stack_through_the_public_sdk(
    mocks: TeleworkMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cli_config(
        monkeypatch,
        {
            "aws:region": "ap-northeast-1",
            "telework:seats": "120",
            "telework:client_vpn_server_certificate_arn": SERVER_CERT,
            "telework:client_vpn_root_certificate_arn": CLIENT_CA,
            "telework:customer_gateways": '[{"name": "office", "kind": "office", '
            '"ip_address": "203.0.113.10", "cidrs": ["172.20.0.0/16"]}]',
            "telework:vpn_psk_office": "s3cret-pre-shared-key",
        },
        secret=("telework:vpn_psk_office",),
    )
    cfg = load_config()
    secrets = load_tunnel_secrets(cfg)
    assert (cfg.stack, cfg.desktops.seats, cfg.desktops.desktop_hosts) == ("test", 120, 12)
    assert cfg.remote_access.customer_gateways[0].bgp_asn == 65000
    assert list(secrets) == ["office"]


def test_load_config_refuses_a_misspelt_key(mocks: TeleworkMocks, monkeypatch: pytest.MonkeyPatch) -> None:
    _cli_config(monkeypatch, {"telework:seat": "50"})
    with pytest.raises(ConfigError, match="telework:seat must be one of the documented keys"):
        load_config()


@pytest.mark.parametrize(
    "value",
    ["m7i.huge", "m7i.3xlarge", "m7.large", "m7g.large", "t3.24xlarge", "M7I.LARGE", " m7i.large", ""],
)
def test_instance_types_outside_the_known_families_and_sizes_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="desktop_instance_type must be an x86-64 EC2 instance type"):
        validate_config(raw_config(50, desktop_instance_type=value), "test")


@pytest.mark.parametrize("value", ["m7i.large", "m7i.48xlarge", "c7i.large", "t3.small", "r6i.32xlarge"])
def test_known_instance_types_are_accepted(value: str) -> None:
    assert validate_config(raw_config(50, desktop_instance_type=value), "test").desktops.desktop_instance_type == value


def _full_width(digits: str) -> str:
    """Digits as a Japanese input method types them (U+FF10 to U+FF19)."""
    return "".join(chr(0xFF10 + int(d)) for d in digits)


@pytest.mark.parametrize(("key", "digits"), [("seats", "50"), ("users_per_host", "10"), ("log_retention_days", "400")])
def test_full_width_digits_are_refused_showing_the_value_as_typed(key: str, digits: str) -> None:
    value = _full_width(digits)
    with pytest.raises(ConfigError) as raised:
        validate_config(raw_config(50, **{key: value}), "test")
    message = str(raised.value)
    assert f'got "{value}"' in message, message
    assert "\\u" not in message
    assert "half-width digits (0-9" in message
    # The positive control: the same number in half-width digits is accepted.
    assert validate_config(raw_config(50, **{key: digits}), "test")


def test_japanese_text_is_shown_as_typed_in_any_message() -> None:
    with pytest.raises(ConfigError, match='got "なし"'):
        validate_config(raw_config(50, archive_lock_mode="なし"), "test")
