"""Typed, validated stack configuration (namespace `telework:`), one area at a time.

`validate_config` is a pure function: it takes the raw values (as the Pulumi CLI stores them,
strings and JSON, or as plain Python values in tests) and returns a frozen `TeleworkConfig`, or
raises `ConfigError` naming the key, what is allowed and what it got. The keys, their defaults
and their single-value checks are the table in `infra.config_keys`; the rules between keys are
checked here, by area (network, remote access, desktops, logging). `load_config` reads the
stack's configuration through the Pulumi SDK's public API before any resource is declared.
Secrets (site-to-site pre-shared keys) are read with `config.require_secret` by
`load_tunnel_secrets` so they never pass through plain values.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import pulumi

from infra import config_keys as k
from infra.config_checks import (
    ConfigError,
    IntegerIn,
    Matching,
    is_private,
    parse_list,
    parse_network,
)
from infra.config_keys import NAMESPACE, PSK_PREFIX, ConfigKey

GatewayKind = Literal["office", "carrier"]
LockMode = Literal["GOVERNANCE", "COMPLIANCE"]

# Addresses that can never be a customer gateway's public address.
_NOT_ROUTABLE_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "0.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
_GATEWAY_NAME = Matching(
    r"[a-z][a-z0-9-]{0,30}",
    "a lower-case name of letters, digits and hyphens (at most 31), starting with a letter",
)
_BGP_ASN = IntegerIn(1, 4294967294)
# Session brokers (HAProxy, one per availability zone) in front of the desktop hosts.
BROKER_COUNT = 2
# AWS keeps 5 addresses of every subnet.
_AWS_RESERVED_ADDRESSES = 5


@dataclass(frozen=True)
class CustomerGateway:
    """One on-premises end of a Site-to-Site VPN (pattern 2).

    `office` gateways lead to the ward's office zone (file servers, chat, internal systems);
    `carrier` gateways lead to the carrier's closed network where the lent telework PCs are.
    """

    name: str
    kind: GatewayKind
    ip_address: str
    bgp_asn: int
    cidrs: tuple[str, ...]


@dataclass(frozen=True)
class NetworkSettings:
    availability_zones: tuple[str, str]
    vpc_cidr: str
    edge_subnet_cidrs: tuple[str, str]
    management_subnet_cidrs: tuple[str, str]
    desktop_subnet_cidrs: tuple[str, str]


@dataclass(frozen=True)
class RemoteAccessSettings:
    client_vpn_cidr: str
    client_vpn_server_certificate_arn: str
    client_vpn_root_certificate_arn: str
    client_vpn_saml_provider_arn: str | None
    client_vpn_session_timeout_hours: int
    vpn_port: int
    vpn_gateway_count: int
    vpn_gateway_instance_type: str
    customer_gateways: tuple[CustomerGateway, ...]

    @property
    def office_cidrs(self) -> tuple[str, ...]:
        """On-premises office-zone networks (file servers, chat, internal systems)."""
        return tuple(c for gw in self.customer_gateways if gw.kind == "office" for c in gw.cidrs)

    @property
    def carrier_cidrs(self) -> tuple[str, ...]:
        """Networks of the lent telework PCs on the carrier's closed network (pattern 2)."""
        return tuple(c for gw in self.customer_gateways if gw.kind == "carrier" for c in gw.cidrs)

    @property
    def mfa_on_client_vpn(self) -> bool:
        """TW-04: the Client VPN asks for a second factor only through SAML federation."""
        return self.client_vpn_saml_provider_arn is not None


@dataclass(frozen=True)
class DesktopSettings:
    seats: int
    users_per_host: int
    desktop_instance_type: str
    desktop_volume_gb: int
    work_start_hour: int
    work_end_hour: int
    off_hours_hosts: int
    broker_instance_type: str

    @property
    def desktop_hosts(self) -> int:
        """Remote-desktop hosts needed for every seat at once during working hours."""
        return desktop_hosts_for(self.seats, self.users_per_host)


@dataclass(frozen=True)
class LoggingSettings:
    log_server_instance_type: str
    log_volume_gb: int
    log_retention_days: int
    archive_retention_days: int
    archive_lock_mode: LockMode


@dataclass(frozen=True)
class PackageSettings:
    package_proxy_instance_type: str


@dataclass(frozen=True)
class TeleworkConfig:
    """Every setting of one stack, checked and grouped by area. Build it with `validate_config`."""

    stack: str
    region: str
    network: NetworkSettings
    remote_access: RemoteAccessSettings
    desktops: DesktopSettings
    logging: LoggingSettings
    packages: PackageSettings

    def area(self, name: str) -> object:
        """The settings object of a key's area (`ConfigKey.area`)."""
        areas: dict[str, object] = {
            "region": self,
            "network": self.network,
            "remote access": self.remote_access,
            "desktops": self.desktops,
            "logging": self.logging,
            "packages": self.packages,
        }
        return areas[name]


def desktop_hosts_for(seats: int, users_per_host: int) -> int:
    """Hosts needed so that `seats` users can work at once with `users_per_host` each."""
    return math.ceil(seats / users_per_host)


# --- areas: each reads its keys and checks the rules between them ------------------------


def _zones(values: Mapping[str, object], region: str) -> tuple[str, str]:
    raw = k.AVAILABILITY_ZONES.read(values)
    if raw is None:
        return k.DEFAULT_AVAILABILITY_ZONES[region]
    allowed = f"a list of 2 different availability zones of {region}, e.g. {region}a"
    items = list(raw)
    pattern = re.compile(re.escape(region) + r"[a-z]")
    if len(items) != 2 or not all(isinstance(z, str) and pattern.fullmatch(z) for z in items) or items[0] == items[1]:
        raise ConfigError(k.AVAILABILITY_ZONES.full_name, allowed, items)
    return cast(str, items[0]), cast(str, items[1])


def _pair_in_vpc(
    key: ConfigKey[tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]],
    values: Mapping[str, object],
    vpc: ipaddress.IPv4Network,
) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
    pair = key.read(values)
    if not all(net.subnet_of(vpc) for net in pair):
        allowed = f"{key.check.allowed.replace('telework:vpc_cidr', f'telework:vpc_cidr ({vpc})')}"
        raise ConfigError(key.full_name, allowed, [str(n) for n in pair])
    return pair


def _network(values: Mapping[str, object], region: str, desktops: DesktopSettings) -> NetworkSettings:
    vpc = k.VPC_CIDR.read(values)
    edge = _pair_in_vpc(k.EDGE_SUBNET_CIDRS, values, vpc)
    management = _pair_in_vpc(k.MANAGEMENT_SUBNET_CIDRS, values, vpc)
    desktop = _pair_in_vpc(k.DESKTOP_SUBNET_CIDRS, values, vpc)
    # One group spreads hosts over both zones and must still fit when one zone is lost, so
    # each desktop subnet holds every desktop host and both brokers.
    hosts = desktops.desktop_hosts
    if min(net.num_addresses - _AWS_RESERVED_ADDRESSES for net in desktop) < hosts + BROKER_COUNT:
        raise ConfigError(
            k.DESKTOP_SUBNET_CIDRS.full_name,
            f"subnets that each hold all {hosts} desktop hosts "
            f"({k.SEATS.full_name} {desktops.seats} / {k.USERS_PER_HOST.full_name} {desktops.users_per_host}) "
            f"and the {BROKER_COUNT} brokers, so that one availability zone can carry the load",
            [str(n) for n in desktop],
        )
    k.networks_of(
        [(k.EDGE_SUBNET_CIDRS.full_name, n) for n in edge]
        + [(k.MANAGEMENT_SUBNET_CIDRS.full_name, n) for n in management]
        + [(k.DESKTOP_SUBNET_CIDRS.full_name, n) for n in desktop]
    )
    return NetworkSettings(
        availability_zones=_zones(values, region),
        vpc_cidr=str(vpc),
        edge_subnet_cidrs=(str(edge[0]), str(edge[1])),
        management_subnet_cidrs=(str(management[0]), str(management[1])),
        desktop_subnet_cidrs=(str(desktop[0]), str(desktop[1])),
    )


def _gateway(index: int, item: object) -> CustomerGateway:
    key = f"{k.CUSTOMER_GATEWAYS.full_name}[{index}]"
    if not isinstance(item, Mapping):
        raise ConfigError(key, k.CUSTOMER_GATEWAYS.check.allowed, item)
    unknown = set(item) - {"name", "kind", "ip_address", "bgp_asn", "cidrs"}
    if unknown:
        raise ConfigError(key, k.CUSTOMER_GATEWAYS.check.allowed, sorted(unknown))
    name = _GATEWAY_NAME(f"{key}.name", item.get("name"))
    kind = item.get("kind")
    if kind not in ("office", "carrier"):
        raise ConfigError(f"{key}.kind", "office or carrier", kind)
    ip_text = item.get("ip_address")
    try:
        ip = ipaddress.IPv4Address(ip_text) if isinstance(ip_text, str) else None
    except ValueError:
        ip = None
    if ip is None or any(ip in net for net in _NOT_ROUTABLE_V4):
        raise ConfigError(f"{key}.ip_address", "the public IPv4 address of the on-premises VPN device", ip_text)
    cidr_allowed = "a non-empty list of private IPv4 CIDRs (RFC 1918)"
    cidr_items = parse_list(f"{key}.cidrs", item.get("cidrs"), cidr_allowed)
    if not cidr_items:
        raise ConfigError(f"{key}.cidrs", cidr_allowed, cidr_items)
    cidrs: list[str] = []
    for cidr in cidr_items:
        net = parse_network(f"{key}.cidrs", cidr, cidr_allowed)
        if not is_private(net):
            raise ConfigError(f"{key}.cidrs", cidr_allowed, cidr)
        cidrs.append(str(net))
    return CustomerGateway(
        name=name,
        kind=cast(GatewayKind, kind),
        ip_address=str(ip),
        bgp_asn=_BGP_ASN(f"{key}.bgp_asn", item.get("bgp_asn", 65000)),
        cidrs=tuple(cidrs),
    )


def _customer_gateways(values: Mapping[str, object]) -> tuple[CustomerGateway, ...]:
    gateways = tuple(_gateway(i, item) for i, item in enumerate(k.CUSTOMER_GATEWAYS.read(values)))
    names = [gw.name for gw in gateways]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(k.CUSTOMER_GATEWAYS.full_name, "a list whose gateway names are unique", duplicates)
    for full_key in values:
        namespace, _, name = full_key.partition(":")
        if namespace == NAMESPACE and name.startswith(PSK_PREFIX) and name[len(PSK_PREFIX) :] not in names:
            raise ConfigError(
                full_key,
                f"named after a gateway in {k.CUSTOMER_GATEWAYS.full_name} "
                f"({', '.join(sorted(names)) or 'none configured'})",
                full_key,
            )
    return gateways


def _remote_access(
    values: Mapping[str, object], region: str, network: NetworkSettings, seats: int
) -> RemoteAccessSettings:
    client = k.CLIENT_VPN_CIDR.read(values)
    if client.num_addresses < 2 * seats:
        raise ConfigError(
            k.CLIENT_VPN_CIDR.full_name,
            f"{k.CLIENT_VPN_CIDR.check.allowed} with at least {2 * seats} addresses (two per seat, as AWS advises)",
            str(client),
        )
    gateways = _customer_gateways(values)
    outside: list[tuple[str, ipaddress.IPv4Network]] = [
        (k.VPC_CIDR.full_name, ipaddress.IPv4Network(network.vpc_cidr)),
        (k.CLIENT_VPN_CIDR.full_name, client),
    ]
    for index, gw in enumerate(gateways):
        outside += [(f"{k.CUSTOMER_GATEWAYS.full_name}[{index}].cidrs", ipaddress.IPv4Network(c)) for c in gw.cidrs]
    k.networks_of(outside)
    certificates = {
        key: key.read(values) for key in (k.CLIENT_VPN_SERVER_CERTIFICATE_ARN, k.CLIENT_VPN_ROOT_CERTIFICATE_ARN)
    }
    for key, arn in certificates.items():
        if arn.split(":")[3] != region:
            raise ConfigError(key.full_name, f"a certificate in the stack's region {region}", arn)
    return RemoteAccessSettings(
        client_vpn_cidr=str(client),
        client_vpn_server_certificate_arn=certificates[k.CLIENT_VPN_SERVER_CERTIFICATE_ARN],
        client_vpn_root_certificate_arn=certificates[k.CLIENT_VPN_ROOT_CERTIFICATE_ARN],
        client_vpn_saml_provider_arn=k.CLIENT_VPN_SAML_PROVIDER_ARN.read(values),
        client_vpn_session_timeout_hours=k.CLIENT_VPN_SESSION_TIMEOUT_HOURS.read(values),
        vpn_port=k.VPN_PORT.read(values),
        vpn_gateway_count=k.VPN_GATEWAY_COUNT.read(values),
        vpn_gateway_instance_type=k.VPN_GATEWAY_INSTANCE_TYPE.read(values),
        customer_gateways=gateways,
    )


def _desktops(values: Mapping[str, object]) -> DesktopSettings:
    seats = k.SEATS.read(values)
    users_per_host = k.USERS_PER_HOST.read(values)
    hosts = desktop_hosts_for(seats, users_per_host)
    work_start = k.WORK_START_HOUR.read(values)
    work_end = k.WORK_END_HOUR.read(values)
    if work_end <= work_start:
        raise ConfigError(
            k.WORK_END_HOUR.full_name,
            f"an hour after {k.WORK_START_HOUR.full_name} ({work_start}) and at most 23",
            work_end,
        )
    off_hours = k.OFF_HOURS_HOSTS.read(values)
    if off_hours > hosts:
        raise ConfigError(k.OFF_HOURS_HOSTS.full_name, f"an integer from 0 to {hosts}", off_hours)
    return DesktopSettings(
        seats=seats,
        users_per_host=users_per_host,
        desktop_instance_type=k.DESKTOP_INSTANCE_TYPE.read(values),
        desktop_volume_gb=k.DESKTOP_VOLUME_GB.read(values),
        work_start_hour=work_start,
        work_end_hour=work_end,
        off_hours_hosts=off_hours,
        broker_instance_type=k.BROKER_INSTANCE_TYPE.read(values),
    )


def _logging(values: Mapping[str, object]) -> LoggingSettings:
    log_days = k.LOG_RETENTION_DAYS.read(values)
    archive_days = k.ARCHIVE_RETENTION_DAYS.read(values)
    if archive_days < log_days:
        raise ConfigError(
            k.ARCHIVE_RETENTION_DAYS.full_name,
            f"an integer from {k.LOG_RETENTION_DAYS.full_name} ({log_days}) to 36500, "
            "so the archive keeps records at least as long as CloudWatch",
            archive_days,
        )
    return LoggingSettings(
        log_server_instance_type=k.LOG_SERVER_INSTANCE_TYPE.read(values),
        log_volume_gb=k.LOG_VOLUME_GB.read(values),
        log_retention_days=log_days,
        archive_retention_days=archive_days,
        archive_lock_mode=cast(LockMode, k.ARCHIVE_LOCK_MODE.read(values)),
    )


def validate_config(raw: Mapping[str, object], stack: str) -> TeleworkConfig:
    """Check every value and return the typed configuration, or raise `ConfigError`.

    `raw` maps full keys (`telework:seats`, `aws:region`) to values, as strings the way the
    Pulumi CLI stores them or as plain Python values. Keys not set take their default.
    """
    k.check_known(raw)
    values = {key: value for key, value in raw.items() if key.partition(":")[0] in (NAMESPACE, "aws")}
    for name in k.REQUIRED_KEYS:
        if values.get(name) is None:
            raise ConfigError(name, "set (it has no default)", None)
    region = k.REGION.read(values)
    desktops = _desktops(values)
    network = _network(values, region, desktops)
    return TeleworkConfig(
        stack=stack,
        region=region,
        network=network,
        remote_access=_remote_access(values, region, network, desktops.seats),
        desktops=desktops,
        logging=_logging(values),
        packages=PackageSettings(package_proxy_instance_type=k.PACKAGE_PROXY_INSTANCE_TYPE.read(values)),
    )


def _configured_values() -> dict[str, object]:
    """Every `telework:` value and `aws:region` the stack sets, read through the public SDK.

    The CLI hands the program its configuration as `PULUMI_CONFIG`; `get_config_env` is the
    SDK's public reader of it, and lists the keys so that a misspelt one can be refused.
    """
    keys = sorted(key for key in pulumi.runtime.get_config_env() if key.startswith(f"{NAMESPACE}:"))
    raw: dict[str, object] = {}
    for full_key in keys:
        namespace, _, name = full_key.partition(":")
        if name.startswith(PSK_PREFIX):
            raw[full_key] = "(secret)"  # checked for its name only; read with require_secret
            continue
        raw[full_key] = pulumi.Config(namespace).get(name)
    region = pulumi.Config("aws").get("region")
    if region is not None:
        raw[k.REGION.full_name] = region
    return raw


def load_config() -> TeleworkConfig:
    """Read and validate the stack's configuration. Call before declaring any resource."""
    return validate_config(_configured_values(), pulumi.get_stack())


def load_tunnel_secrets(cfg: TeleworkConfig) -> dict[str, pulumi.Output[str]]:
    """The pre-shared key of each site-to-site gateway, `telework:vpn_psk_<name>` (secret)."""
    config = pulumi.Config(NAMESPACE)
    return {
        gw.name: config.require_secret(k.full_name_of_secret(gw.name).partition(":")[2])
        for gw in cfg.remote_access.customer_gateways
    }


def _plain(value: object) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, CustomerGateway):
        return {"name": value.name, "kind": value.kind, "ip_address": value.ip_address, "bgp_asn": value.bgp_asn}
    return value


def as_json(cfg: TeleworkConfig) -> dict[str, Any]:
    """Every setting of `config_keys.KEYS` as plain data, for the stack output a reviewer reads."""
    view: dict[str, Any] = {key.name: _plain(getattr(cfg.area(key.area), key.name)) for key in k.KEYS}
    view["desktop_hosts"] = cfg.desktops.desktop_hosts
    view["client_vpn_mfa"] = cfg.remote_access.mfa_on_client_vpn
    return view
