"""Every stack configuration key, declared once: name, default, check and description.

The defaults, the known-key check, the README key table (`infra.config_docs`) and the JSON
view of the settings in the stack outputs are all derived from `KEYS`. A rule that compares
two keys (subnets inside the VPC, archive at least as long as the logs) is written in the
key's `also` text here and checked by its area in `infra.config`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from infra.config_checks import (
    Check,
    CidrPair,
    ConfigError,
    InstanceType,
    IntegerIn,
    Matching,
    OneOf,
    OptionalList,
    OptionalMatching,
    PrivateCidr,
    RawList,
)

T = TypeVar("T")

NAMESPACE = "telework"
PSK_PREFIX = "vpn_psk_"
MAX_SEATS = 5000


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()

# The only values CloudWatch Logs accepts for retentionInDays.
CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
# The regions where the ward's data may live (both in Japan), and their default zones.
# ap-northeast-1b is not offered to new accounts, hence 1a and 1c.
DEFAULT_AVAILABILITY_ZONES: dict[str, tuple[str, str]] = {
    "ap-northeast-1": ("ap-northeast-1a", "ap-northeast-1c"),
    "ap-northeast-3": ("ap-northeast-3a", "ap-northeast-3b"),
}
ACM_ARN = r"arn:aws:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}"
SAML_ARN = r"arn:aws:iam::[0-9]{12}:saml-provider/[A-Za-z0-9._-]+"


@dataclass(frozen=True)
class ConfigKey(Generic[T]):
    """One key: `telework:<name>` (or `aws:<name>`), its default, its check and its meaning."""

    name: str
    default: object
    check: Check[T]
    description: str
    area: str
    also: str = ""
    namespace: str = NAMESPACE

    @property
    def full_name(self) -> str:
        return f"{self.namespace}:{self.name}"

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def allowed(self) -> str:
        return f"{self.check.allowed}{'; ' + self.also if self.also else ''}"

    def read(self, values: Mapping[str, object]) -> T:
        """The key's typed value from `values` (full names), its default when not set."""
        value = values.get(self.full_name, self.default)
        if value is REQUIRED or (value is None and self.required):
            raise ConfigError(self.full_name, "set (it has no default)", None)
        return self.check(self.full_name, value)


REGION = ConfigKey(
    "region", "ap-northeast-1", OneOf(tuple(DEFAULT_AVAILABILITY_ZONES)),
    "AWS region; the ward's data stays in Japan", "region", namespace="aws",
)  # fmt: skip
AVAILABILITY_ZONES = ConfigKey(
    "availability_zones", None, OptionalList("a list of 2 different availability zones of the region"),
    "zones the subnets are spread over (empty: the region's default pair, e.g. ap-northeast-1a and 1c)", "network",
)  # fmt: skip
VPC_CIDR = ConfigKey("vpc_cidr", "10.40.0.0/16", PrivateCidr(16, 24), "the VPC's address range", "network")
EDGE_SUBNET_CIDRS = ConfigKey(
    "edge_subnet_cidrs", ["10.40.0.0/24", "10.40.1.0/24"], CidrPair(),
    "edge zone: Client VPN interfaces, OpenVPN gateways, package proxy", "network",
    also="not overlapping the other subnets",
)  # fmt: skip
MANAGEMENT_SUBNET_CIDRS = ConfigKey(
    "management_subnet_cidrs", ["10.40.8.0/24", "10.40.9.0/24"], CidrPair(),
    "management zone: log server, interface endpoints", "network", also="not overlapping the other subnets",
)  # fmt: skip
DESKTOP_SUBNET_CIDRS = ConfigKey(
    "desktop_subnet_cidrs", ["10.40.16.0/20", "10.40.32.0/20"], CidrPair(),
    "desktop zone: remote-desktop hosts, session brokers, the internal RDP balancer", "network",
    also="each holds every desktop host and broker, so one zone can carry the load",
)  # fmt: skip
CLIENT_VPN_CIDR = ConfigKey(
    "client_vpn_cidr", "10.44.0.0/20", PrivateCidr(12, 22), "addresses AWS Client VPN gives staff PCs",
    "remote access", also="at least 2 addresses per seat, outside the VPC and the on-premises networks",
)  # fmt: skip
CLIENT_VPN_SERVER_CERTIFICATE_ARN = ConfigKey(
    "client_vpn_server_certificate_arn", REQUIRED,
    Matching(ACM_ARN, "the ARN of a certificate in ACM (arn:aws:acm:REGION:ACCOUNT:certificate/ID)"),
    "the VPN server's certificate", "remote access", also="in the stack's region",
)  # fmt: skip
CLIENT_VPN_ROOT_CERTIFICATE_ARN = ConfigKey(
    "client_vpn_root_certificate_arn", REQUIRED,
    Matching(ACM_ARN, "the ARN of a certificate in ACM (arn:aws:acm:REGION:ACCOUNT:certificate/ID)"),
    "the CA that signs the device certificates (TW-05)", "remote access", also="in the stack's region",
)  # fmt: skip
CLIENT_VPN_SAML_PROVIDER_ARN = ConfigKey(
    "client_vpn_saml_provider_arn", None,
    OptionalMatching(SAML_ARN, "the ARN of the ward's IAM SAML provider (arn:aws:iam::ACCOUNT:saml-provider/NAME)"),
    "the ward's identity provider: adds its MFA to the certificate (TW-04)", "remote access",
)  # fmt: skip
CLIENT_VPN_SESSION_TIMEOUT_HOURS = ConfigKey(
    "client_vpn_session_timeout_hours", 8, OneOf((8, 10, 12, 24)), "hours before a VPN session ends (TW-07)",
    "remote access",
)  # fmt: skip
VPN_PORT = ConfigKey(
    "vpn_port", 1194, OneOf((443, 1194)), "UDP port of the Client VPN and the OpenVPN gateways", "remote access"
)
VPN_GATEWAY_COUNT = ConfigKey(
    "vpn_gateway_count", 0, IntegerIn(0, 4), "self-managed OpenVPN gateways (certificate + TOTP) in the edge zone",
    "remote access",
)  # fmt: skip
VPN_GATEWAY_INSTANCE_TYPE = ConfigKey(
    "vpn_gateway_instance_type", "c7i.large", InstanceType(), "instance type of the OpenVPN gateways", "remote access"
)
CUSTOMER_GATEWAYS = ConfigKey(
    "customer_gateways", [],
    RawList(
        "a list of objects {name, kind (office or carrier), ip_address (public IPv4), "
        "bgp_asn (1 to 4294967294, default 65000), cidrs (private IPv4 CIDRs)}"
    ),
    "on-premises ends of Site-to-Site VPNs: the office zone and the carrier's closed network", "remote access",
    also="names unique, networks not overlapping; each needs the secret telework:vpn_psk_<name>",
)  # fmt: skip
SEATS = ConfigKey("seats", REQUIRED, IntegerIn(1, MAX_SEATS), "staff working at once", "desktops")
USERS_PER_HOST = ConfigKey("users_per_host", 10, IntegerIn(1, 50), "sessions one desktop host carries", "desktops")
DESKTOP_INSTANCE_TYPE = ConfigKey(
    "desktop_instance_type", "m7i.2xlarge", InstanceType(), "instance type of the desktop hosts", "desktops"
)
DESKTOP_VOLUME_GB = ConfigKey("desktop_volume_gb", 60, IntegerIn(20, 1024), "root volume of a desktop host", "desktops")
WORK_START_HOUR = ConfigKey(
    "work_start_hour", 7, IntegerIn(0, 22),
    "hour (Asia/Tokyo, Monday to Friday) by which every desktop host is configured and taking sessions", "desktops",
)  # fmt: skip
WORK_END_HOUR = ConfigKey(
    "work_end_hour", 22, IntegerIn(1, 23), "hour from which the group shrinks to off_hours_hosts", "desktops",
    also="after work_start_hour",
)  # fmt: skip
OFF_HOURS_HOSTS = ConfigKey(
    "off_hours_hosts", 1, IntegerIn(0, MAX_SEATS), "desktop hosts kept running at night and at weekends", "desktops",
    also="at most the number of desktop hosts",
)  # fmt: skip
BROKER_INSTANCE_TYPE = ConfigKey(
    "broker_instance_type", "c7i.large", InstanceType(),
    "instance type of the two RDP session brokers (HAProxy, one per zone)", "desktops",
)  # fmt: skip
LOG_SERVER_INSTANCE_TYPE = ConfigKey(
    "log_server_instance_type", "m7i.large", InstanceType(), "instance type of the log server", "logging"
)
LOG_VOLUME_GB = ConfigKey("log_volume_gb", 200, IntegerIn(20, 16384), "the log server's data volume", "logging")
LOG_RETENTION_DAYS = ConfigKey(
    "log_retention_days", 400, OneOf(CLOUDWATCH_RETENTION_DAYS), "days CloudWatch keeps the AWS-side logs (TW-09)",
    "logging",
)  # fmt: skip
ARCHIVE_RETENTION_DAYS = ConfigKey(
    "archive_retention_days", 1827, IntegerIn(1, 36500), "days the archive keeps and locks every record (TW-09)",
    "logging", also="at least log_retention_days",
)  # fmt: skip
ARCHIVE_LOCK_MODE = ConfigKey(
    "archive_lock_mode", "COMPLIANCE", OneOf(("GOVERNANCE", "COMPLIANCE")),
    "Object Lock mode: GOVERNANCE (an administrator may remove) or COMPLIANCE (no one may)", "logging",
)  # fmt: skip
PACKAGE_PROXY_INSTANCE_TYPE = ConfigKey(
    "package_proxy_instance_type", "t3.small", InstanceType(), "instance type of the package proxy", "packages"
)

KEYS: tuple[ConfigKey[Any], ...] = (
    REGION,
    AVAILABILITY_ZONES,
    VPC_CIDR,
    EDGE_SUBNET_CIDRS,
    MANAGEMENT_SUBNET_CIDRS,
    DESKTOP_SUBNET_CIDRS,
    CLIENT_VPN_CIDR,
    CLIENT_VPN_SERVER_CERTIFICATE_ARN,
    CLIENT_VPN_ROOT_CERTIFICATE_ARN,
    CLIENT_VPN_SAML_PROVIDER_ARN,
    CLIENT_VPN_SESSION_TIMEOUT_HOURS,
    VPN_PORT,
    VPN_GATEWAY_COUNT,
    VPN_GATEWAY_INSTANCE_TYPE,
    CUSTOMER_GATEWAYS,
    SEATS,
    USERS_PER_HOST,
    DESKTOP_INSTANCE_TYPE,
    DESKTOP_VOLUME_GB,
    WORK_START_HOUR,
    WORK_END_HOUR,
    OFF_HOURS_HOSTS,
    BROKER_INSTANCE_TYPE,
    LOG_SERVER_INSTANCE_TYPE,
    LOG_VOLUME_GB,
    LOG_RETENTION_DAYS,
    ARCHIVE_RETENTION_DAYS,
    ARCHIVE_LOCK_MODE,
    PACKAGE_PROXY_INSTANCE_TYPE,
)

DEFAULTS: dict[str, object] = {key.full_name: key.default for key in KEYS if not key.required}
REQUIRED_KEYS: tuple[str, ...] = tuple(key.full_name for key in KEYS if key.required)
KNOWN_KEYS: frozenset[str] = frozenset(key.full_name for key in KEYS if key.namespace == NAMESPACE)


def full_name_of_secret(gateway: str) -> str:
    """The config key that holds a gateway's pre-shared key (`telework:vpn_psk_<gateway>`)."""
    return f"{NAMESPACE}:{PSK_PREFIX}{gateway}"


def check_known(raw: Mapping[str, object]) -> None:
    """Refuse a misspelt `telework:` key (pre-shared keys are named after their gateway)."""
    for full_key, value in raw.items():
        namespace, _, name = full_key.partition(":")
        if namespace == NAMESPACE and full_key not in KNOWN_KEYS and not name.startswith(PSK_PREFIX):
            raise ConfigError(
                full_key,
                "one of the documented keys (" + ", ".join(sorted(KNOWN_KEYS)) + ")",
                value,
            )


def networks_of(labelled: Sequence[tuple[str, ipaddress.IPv4Network]]) -> None:
    """Refuse the first network that overlaps an earlier one (the message names both keys)."""
    for i, (key_a, net_a) in enumerate(labelled):
        for key_b, net_b in labelled[i + 1 :]:
            if net_a.overlaps(net_b):
                raise ConfigError(key_b, f"CIDRs that do not overlap {key_a} ({net_a})", str(net_b))
