"""Typed, validated stack configuration (namespace `telework:`).

`validate_config` is a pure function: it takes the raw values (as the Pulumi CLI stores them,
strings and JSON, or as plain Python values in tests) and returns a frozen `TeleworkConfig`, or
raises `ConfigError` naming the key, what is allowed and what it got. `load_config` reads the
stack's configuration through the Pulumi runtime and hands it to `validate_config`, before any
resource is declared. Secrets (site-to-site pre-shared keys) are read separately with
`config.require_secret` by `load_tunnel_secrets` so they never pass through plain values.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import pulumi

NAMESPACE = "telework"

MAX_SEATS = 5000
MAX_USERS_PER_HOST = 50
MAX_VPN_GATEWAYS = 4

# The regions where the ward's data may live (both in Japan), and the two availability zones
# used in each by default. ap-northeast-1b is not offered to new accounts, hence 1a and 1c.
DEFAULT_AVAILABILITY_ZONES: dict[str, tuple[str, str]] = {
    "ap-northeast-1": ("ap-northeast-1a", "ap-northeast-1c"),
    "ap-northeast-3": ("ap-northeast-3a", "ap-northeast-3b"),
}
DEFAULT_REGION = "ap-northeast-1"

# The only values CloudWatch Logs accepts for retentionInDays.
CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip

# AWS Client VPN accepts only these session timeouts (hours) and these ports.
CLIENT_VPN_SESSION_TIMEOUT_HOURS: tuple[int, ...] = (8, 10, 12, 24)
VPN_PORTS: tuple[int, ...] = (443, 1194)

GatewayKind = Literal["office", "carrier"]
LockMode = Literal["GOVERNANCE", "COMPLIANCE"]

_PRIVATE_V4 = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
)
_NOT_ROUTABLE_V4 = (
    *_PRIVATE_V4,
    ipaddress.IPv4Network("0.0.0.0/8"),
    ipaddress.IPv4Network("100.64.0.0/10"),
    ipaddress.IPv4Network("127.0.0.0/8"),
    ipaddress.IPv4Network("169.254.0.0/16"),
    ipaddress.IPv4Network("224.0.0.0/4"),
    ipaddress.IPv4Network("240.0.0.0/4"),
)
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[a-z0-9]+$")
_GATEWAY_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_ACM_ARN = re.compile(r"^arn:aws:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$")
_SAML_ARN = re.compile(r"^arn:aws:iam::[0-9]{12}:saml-provider/[A-Za-z0-9._-]+$")
_PSK_PREFIX = "vpn_psk_"


class ConfigError(ValueError):
    """A configuration value is missing or not allowed. The message names the key."""

    def __init__(self, key: str, allowed: str, got: object) -> None:
        self.key = key
        super().__init__(f"{key} must be {allowed}, got {_show(got)}")


def _show(value: object) -> str:
    if value is None:
        return "nothing (the key is not set)"
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


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
class TeleworkConfig:
    """Every setting of one stack, checked. Build it with `validate_config`."""

    stack: str
    region: str
    availability_zones: tuple[str, str]
    seats: int
    users_per_host: int
    vpc_cidr: str
    edge_subnet_cidrs: tuple[str, str]
    desktop_subnet_cidrs: tuple[str, str]
    management_subnet_cidrs: tuple[str, str]
    client_vpn_cidr: str
    client_vpn_server_certificate_arn: str
    client_vpn_root_certificate_arn: str
    client_vpn_saml_provider_arn: str | None
    client_vpn_session_timeout_hours: int
    vpn_port: int
    vpn_gateway_count: int
    vpn_gateway_instance_type: str
    customer_gateways: tuple[CustomerGateway, ...]
    desktop_instance_type: str
    desktop_volume_gb: int
    work_start_hour: int
    work_end_hour: int
    off_hours_hosts: int
    log_server_instance_type: str
    log_volume_gb: int
    log_retention_days: int
    archive_retention_days: int
    archive_lock_mode: LockMode
    package_proxy_instance_type: str

    @property
    def desktop_hosts(self) -> int:
        """Remote-desktop hosts needed for every seat at once during working hours."""
        return desktop_hosts_for(self.seats, self.users_per_host)

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


def desktop_hosts_for(seats: int, users_per_host: int) -> int:
    """Hosts needed so that `seats` users can work at once with `users_per_host` each."""
    return math.ceil(seats / users_per_host)


# --- the keys, with their defaults --------------------------------------------------------

DEFAULTS: dict[str, object] = {
    "users_per_host": 10,
    "vpc_cidr": "10.40.0.0/16",
    "edge_subnet_cidrs": ["10.40.0.0/24", "10.40.1.0/24"],
    "management_subnet_cidrs": ["10.40.8.0/24", "10.40.9.0/24"],
    "desktop_subnet_cidrs": ["10.40.16.0/20", "10.40.32.0/20"],
    "client_vpn_cidr": "10.44.0.0/20",
    "client_vpn_saml_provider_arn": None,
    "client_vpn_session_timeout_hours": 8,
    "vpn_port": 1194,
    "vpn_gateway_count": 0,
    "vpn_gateway_instance_type": "c7i.large",
    "customer_gateways": [],
    "desktop_instance_type": "m7i.2xlarge",
    "desktop_volume_gb": 60,
    "work_start_hour": 7,
    "work_end_hour": 22,
    "off_hours_hosts": 1,
    "log_server_instance_type": "m7i.large",
    "log_volume_gb": 200,
    "log_retention_days": 400,
    "archive_retention_days": 1827,
    "archive_lock_mode": "COMPLIANCE",
    "package_proxy_instance_type": "t3.small",
}
REQUIRED = (
    "seats",
    "client_vpn_server_certificate_arn",
    "client_vpn_root_certificate_arn",
)
KNOWN_KEYS = frozenset({*DEFAULTS, *REQUIRED, "availability_zones"})


def _k(key: str) -> str:
    return f"{NAMESPACE}:{key}"


# --- parsers: each one returns a typed value or raises ConfigError naming the key ---------


def _int(key: str, value: object, low: int, high: int) -> int:
    allowed = f"an integer from {low} to {high}"
    if isinstance(value, bool):
        raise ConfigError(_k(key), allowed, value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        number = int(value.strip())
    elif isinstance(value, int):
        number = value
    else:
        raise ConfigError(_k(key), allowed, value)
    if not low <= number <= high:
        raise ConfigError(_k(key), allowed, number)
    return number


def _choice_int(key: str, value: object, choices: Sequence[int]) -> int:
    allowed = "one of " + ", ".join(str(c) for c in choices)
    try:
        number = _int(key, value, min(choices), max(choices))
    except ConfigError:
        raise ConfigError(_k(key), allowed, value) from None
    if number not in choices:
        raise ConfigError(_k(key), allowed, number)
    return number


def _str(key: str, value: object, pattern: re.Pattern[str], allowed: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigError(_k(key), allowed, value)
    return value


def _list(key: str, value: object, allowed: str) -> list[object]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise ConfigError(_k(key), allowed, value) from err
    if not isinstance(value, (list, tuple)):
        raise ConfigError(_k(key), allowed, value)
    return list(value)


def _network(key: str, value: object, allowed: str) -> ipaddress.IPv4Network:
    if not isinstance(value, str):
        raise ConfigError(_k(key), allowed, value)
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ConfigError(_k(key), allowed, value) from err


def _private(net: ipaddress.IPv4Network) -> bool:
    return any(net.subnet_of(p) for p in _PRIVATE_V4)


def _subnet_pair(
    key: str, value: object, vpc: ipaddress.IPv4Network
) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
    allowed = f"a list of 2 IPv4 CIDRs from /16 to /28 inside {_k('vpc_cidr')} ({vpc}), one per availability zone"
    items = _list(key, value, allowed)
    if len(items) != 2:
        raise ConfigError(_k(key), allowed, items)
    nets = [_network(key, item, allowed) for item in items]
    for net in nets:
        if not net.subnet_of(vpc) or not 16 <= net.prefixlen <= 28:
            raise ConfigError(_k(key), allowed, items)
    return nets[0], nets[1]


def _customer_gateways(value: object) -> tuple[CustomerGateway, ...]:
    key = "customer_gateways"
    allowed = (
        "a list of objects {name, kind (office or carrier), ip_address (public IPv4), "
        "bgp_asn (1 to 4294967294, default 65000), cidrs (private IPv4 CIDRs)}"
    )
    gateways: list[CustomerGateway] = []
    for index, item in enumerate(_list(key, value, allowed)):
        item_key = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(_k(item_key), allowed, item)
        unknown = set(item) - {"name", "kind", "ip_address", "bgp_asn", "cidrs"}
        if unknown:
            raise ConfigError(_k(item_key), allowed, sorted(unknown))
        name = _str(
            f"{item_key}.name",
            item.get("name"),
            _GATEWAY_NAME,
            "a lower-case name of letters, digits and hyphens (at most 31), starting with a letter",
        )
        kind = item.get("kind")
        if kind not in ("office", "carrier"):
            raise ConfigError(_k(f"{item_key}.kind"), "office or carrier", kind)
        ip_text = item.get("ip_address")
        ip_allowed = "the public IPv4 address of the on-premises VPN device"
        try:
            ip = ipaddress.IPv4Address(ip_text) if isinstance(ip_text, str) else None
        except ValueError:
            ip = None
        if ip is None or any(ip in net for net in _NOT_ROUTABLE_V4):
            raise ConfigError(_k(f"{item_key}.ip_address"), ip_allowed, ip_text)
        asn = _int(f"{item_key}.bgp_asn", item.get("bgp_asn", 65000), 1, 4294967294)
        cidr_allowed = "a non-empty list of private IPv4 CIDRs (RFC 1918)"
        cidr_items = _list(f"{item_key}.cidrs", item.get("cidrs"), cidr_allowed)
        if not cidr_items:
            raise ConfigError(_k(f"{item_key}.cidrs"), cidr_allowed, cidr_items)
        cidrs: list[str] = []
        for cidr in cidr_items:
            net = _network(f"{item_key}.cidrs", cidr, cidr_allowed)
            if not _private(net):
                raise ConfigError(_k(f"{item_key}.cidrs"), cidr_allowed, cidr)
            cidrs.append(str(net))
        gateways.append(
            CustomerGateway(
                name=name,
                kind=cast(GatewayKind, kind),
                ip_address=str(ip),
                bgp_asn=asn,
                cidrs=tuple(cidrs),
            )
        )
    names = [gw.name for gw in gateways]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(_k(key), "a list whose gateway names are unique", duplicates)
    return tuple(gateways)


def _check_no_overlaps(labelled: Sequence[tuple[str, ipaddress.IPv4Network]]) -> None:
    for i, (key_a, net_a) in enumerate(labelled):
        for key_b, net_b in labelled[i + 1 :]:
            if net_a.overlaps(net_b):
                raise ConfigError(
                    key_b,
                    f"CIDRs that do not overlap {key_a} ({net_a})",
                    str(net_b),
                )


def validate_config(raw: Mapping[str, object], stack: str) -> TeleworkConfig:
    """Check every value and return the typed configuration, or raise `ConfigError`.

    `raw` maps full keys (`telework:seats`, `aws:region`) to values, as strings the way the
    Pulumi CLI stores them or as plain Python values. Keys not set take their default.
    """
    gateway_names: set[str] = set()
    values: dict[str, object] = dict(DEFAULTS)
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if key not in KNOWN_KEYS and not key.startswith(_PSK_PREFIX):
            raise ConfigError(
                full_key,
                "one of the documented keys (" + ", ".join(sorted(KNOWN_KEYS)) + ")",
                value,
            )
        values[key] = value

    for key in REQUIRED:
        if values.get(key) is None:
            raise ConfigError(_k(key), "set (it has no default)", None)

    region = raw.get("aws:region", DEFAULT_REGION)
    if region not in DEFAULT_AVAILABILITY_ZONES:
        raise ConfigError(
            "aws:region",
            "one of " + ", ".join(DEFAULT_AVAILABILITY_ZONES) + " (the ward's data stays in Japan)",
            region,
        )

    az_allowed = f"a list of 2 different availability zones of {region}, e.g. {region}a"
    zones_raw = values.get("availability_zones")
    if zones_raw is None:
        zones = DEFAULT_AVAILABILITY_ZONES[region]
    else:
        items = _list("availability_zones", zones_raw, az_allowed)
        az_pattern = re.compile(re.escape(region) + r"[a-z]")
        if (
            len(items) != 2
            or not all(isinstance(z, str) and az_pattern.fullmatch(z) for z in items)
            or items[0] == items[1]
        ):
            raise ConfigError(_k("availability_zones"), az_allowed, items)
        zones = (cast(str, items[0]), cast(str, items[1]))

    seats = _int("seats", values["seats"], 1, MAX_SEATS)
    users_per_host = _int("users_per_host", values["users_per_host"], 1, MAX_USERS_PER_HOST)
    hosts = desktop_hosts_for(seats, users_per_host)

    vpc_allowed = "a private IPv4 CIDR (RFC 1918) from /16 to /24"
    vpc = _network("vpc_cidr", values["vpc_cidr"], vpc_allowed)
    if not _private(vpc) or not 16 <= vpc.prefixlen <= 24:
        raise ConfigError(_k("vpc_cidr"), vpc_allowed, values["vpc_cidr"])

    edge = _subnet_pair("edge_subnet_cidrs", values["edge_subnet_cidrs"], vpc)
    management = _subnet_pair("management_subnet_cidrs", values["management_subnet_cidrs"], vpc)
    desktop = _subnet_pair("desktop_subnet_cidrs", values["desktop_subnet_cidrs"], vpc)
    # AWS keeps 5 addresses of every subnet; one ASG spreads hosts over both zones and must
    # still fit when one zone is lost, so each desktop subnet must hold every host.
    room = min(net.num_addresses - 5 for net in desktop)
    if room < hosts:
        raise ConfigError(
            _k("desktop_subnet_cidrs"),
            f"subnets that each hold all {hosts} desktop hosts "
            f"({_k('seats')} {seats} / {_k('users_per_host')} {users_per_host}), "
            "so that one availability zone can carry the load",
            [str(n) for n in desktop],
        )

    client_allowed = (
        f"a private IPv4 CIDR from /12 to /22 with at least {2 * seats} addresses (two per seat, as AWS advises)"
    )
    client = _network("client_vpn_cidr", values["client_vpn_cidr"], client_allowed)
    if not _private(client) or not 12 <= client.prefixlen <= 22 or client.num_addresses < 2 * seats:
        raise ConfigError(_k("client_vpn_cidr"), client_allowed, values["client_vpn_cidr"])

    gateways = _customer_gateways(values["customer_gateways"])
    gateway_names = {gw.name for gw in gateways}
    for key in values:
        if key.startswith(_PSK_PREFIX) and key[len(_PSK_PREFIX) :] not in gateway_names:
            raise ConfigError(
                _k(key),
                f"named after a gateway in {_k('customer_gateways')} "
                f"({', '.join(sorted(gateway_names)) or 'none configured'})",
                key,
            )

    labelled: list[tuple[str, ipaddress.IPv4Network]] = [
        (_k("edge_subnet_cidrs"), edge[0]),
        (_k("edge_subnet_cidrs"), edge[1]),
        (_k("management_subnet_cidrs"), management[0]),
        (_k("management_subnet_cidrs"), management[1]),
        (_k("desktop_subnet_cidrs"), desktop[0]),
        (_k("desktop_subnet_cidrs"), desktop[1]),
    ]
    _check_no_overlaps(labelled)
    outside: list[tuple[str, ipaddress.IPv4Network]] = [
        (_k("vpc_cidr"), vpc),
        (_k("client_vpn_cidr"), client),
    ]
    for index, gw in enumerate(gateways):
        outside.extend((_k(f"customer_gateways[{index}].cidrs"), ipaddress.IPv4Network(c)) for c in gw.cidrs)
    _check_no_overlaps(outside)

    server_arn = _str(
        "client_vpn_server_certificate_arn",
        values["client_vpn_server_certificate_arn"],
        _ACM_ARN,
        "the ARN of the VPN server certificate in ACM (arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
    )
    root_arn = _str(
        "client_vpn_root_certificate_arn",
        values["client_vpn_root_certificate_arn"],
        _ACM_ARN,
        "the ARN of the client CA certificate in ACM (arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
    )
    for key, arn in (
        ("client_vpn_server_certificate_arn", server_arn),
        ("client_vpn_root_certificate_arn", root_arn),
    ):
        if arn.split(":")[3] != region:
            raise ConfigError(_k(key), f"a certificate in the stack's region {region}", arn)
    saml_value = values["client_vpn_saml_provider_arn"]
    saml_arn = (
        None
        if saml_value in (None, "")
        else _str(
            "client_vpn_saml_provider_arn",
            saml_value,
            _SAML_ARN,
            "empty or the ARN of the ward's IAM SAML provider (arn:aws:iam::ACCOUNT:saml-provider/NAME)",
        )
    )

    instance_allowed = "an EC2 instance type such as m7i.large"
    work_start = _int("work_start_hour", values["work_start_hour"], 0, 22)
    work_end = _int("work_end_hour", values["work_end_hour"], 1, 23)
    if work_end <= work_start:
        raise ConfigError(
            _k("work_end_hour"),
            f"an hour after {_k('work_start_hour')} ({work_start}) and at most 23",
            work_end,
        )

    log_days = _choice_int("log_retention_days", values["log_retention_days"], CLOUDWATCH_RETENTION_DAYS)
    archive_days = _int("archive_retention_days", values["archive_retention_days"], 1, 36500)
    if archive_days < log_days:
        raise ConfigError(
            _k("archive_retention_days"),
            f"an integer from {_k('log_retention_days')} ({log_days}) to 36500, "
            "so the archive keeps records at least as long as CloudWatch",
            archive_days,
        )
    lock_mode = values["archive_lock_mode"]
    if lock_mode not in ("GOVERNANCE", "COMPLIANCE"):
        raise ConfigError(_k("archive_lock_mode"), "GOVERNANCE or COMPLIANCE", lock_mode)

    return TeleworkConfig(
        stack=stack,
        region=region,
        availability_zones=zones,
        seats=seats,
        users_per_host=users_per_host,
        vpc_cidr=str(vpc),
        edge_subnet_cidrs=(str(edge[0]), str(edge[1])),
        desktop_subnet_cidrs=(str(desktop[0]), str(desktop[1])),
        management_subnet_cidrs=(str(management[0]), str(management[1])),
        client_vpn_cidr=str(client),
        client_vpn_server_certificate_arn=server_arn,
        client_vpn_root_certificate_arn=root_arn,
        client_vpn_saml_provider_arn=saml_arn,
        client_vpn_session_timeout_hours=_choice_int(
            "client_vpn_session_timeout_hours",
            values["client_vpn_session_timeout_hours"],
            CLIENT_VPN_SESSION_TIMEOUT_HOURS,
        ),
        vpn_port=_choice_int("vpn_port", values["vpn_port"], VPN_PORTS),
        vpn_gateway_count=_int("vpn_gateway_count", values["vpn_gateway_count"], 0, MAX_VPN_GATEWAYS),
        vpn_gateway_instance_type=_str(
            "vpn_gateway_instance_type",
            values["vpn_gateway_instance_type"],
            _INSTANCE_TYPE,
            instance_allowed,
        ),
        customer_gateways=gateways,
        desktop_instance_type=_str(
            "desktop_instance_type",
            values["desktop_instance_type"],
            _INSTANCE_TYPE,
            instance_allowed,
        ),
        desktop_volume_gb=_int("desktop_volume_gb", values["desktop_volume_gb"], 20, 1024),
        work_start_hour=work_start,
        work_end_hour=work_end,
        off_hours_hosts=_int("off_hours_hosts", values["off_hours_hosts"], 0, hosts),
        log_server_instance_type=_str(
            "log_server_instance_type",
            values["log_server_instance_type"],
            _INSTANCE_TYPE,
            instance_allowed,
        ),
        log_volume_gb=_int("log_volume_gb", values["log_volume_gb"], 20, 16384),
        log_retention_days=log_days,
        archive_retention_days=archive_days,
        archive_lock_mode=lock_mode,
        package_proxy_instance_type=_str(
            "package_proxy_instance_type",
            values["package_proxy_instance_type"],
            _INSTANCE_TYPE,
            instance_allowed,
        ),
    )


def _configured_values() -> dict[str, object]:
    """Every `telework:` and `aws:region` value the Pulumi runtime holds for this stack."""
    from pulumi.runtime.config import (
        CONFIG,
        get_config_env,
    )  # the runtime's own config map

    keys = {k for k in (*CONFIG.get(), *get_config_env()) if k.startswith(f"{NAMESPACE}:")}
    raw: dict[str, object] = {}
    for full_key in sorted(keys):
        namespace, _, key = full_key.partition(":")
        if key.startswith(_PSK_PREFIX):
            raw[full_key] = "(secret)"  # checked for its name only; read with require_secret
            continue
        raw[full_key] = pulumi.Config(namespace).get(key)
    region = pulumi.Config("aws").get("region")
    if region is not None:
        raw["aws:region"] = region
    return raw


def load_config() -> TeleworkConfig:
    """Read and validate the stack's configuration. Call before declaring any resource."""
    return validate_config(_configured_values(), pulumi.get_stack())


def load_tunnel_secrets(cfg: TeleworkConfig) -> dict[str, pulumi.Output[str]]:
    """The pre-shared key of each site-to-site gateway, `telework:vpn_psk_<name>` (secret)."""
    config = pulumi.Config(NAMESPACE)
    return {gw.name: config.require_secret(f"{_PSK_PREFIX}{gw.name}") for gw in cfg.customer_gateways}


def tunnel_secret_key(gateway_name: str) -> str:
    """The config key that holds a gateway's pre-shared key."""
    return _k(f"{_PSK_PREFIX}{gateway_name}")


def as_json(cfg: TeleworkConfig) -> dict[str, Any]:
    """The configuration as plain data, for the stack outputs a reviewer reads in the preview."""
    return {
        "seats": cfg.seats,
        "users_per_host": cfg.users_per_host,
        "desktop_hosts": cfg.desktop_hosts,
        "region": cfg.region,
        "availability_zones": list(cfg.availability_zones),
        "log_retention_days": cfg.log_retention_days,
        "archive_retention_days": cfg.archive_retention_days,
        "client_vpn_mfa": cfg.mfa_on_client_vpn,
    }
