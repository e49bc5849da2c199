"""Pulumi mocks for the telework program, shared by the unit tests and the benchmark.

`TeleworkMocks` records every resource the program registers (type, name, inputs, the
resources it was told to wait for) and answers the two look-ups the program makes (the Debian
image and the caller's account). Names, ids and ARNs follow AWS's formats where the program or
the checks of `aws_rules` read them (IAM roles, service-linked roles, instance profiles, SSM
documents and associations). `run_program` runs `infra.program.build` under the mock runtime
and returns what was registered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.config import TeleworkConfig, validate_config
from infra.program import build

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
ACM = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/"
SERVER_CERT = ACM + "11111111-2222-3333-4444-555555555555"
CLIENT_CA = ACM + "66666666-7777-8888-9999-000000000000"
SAML = f"arn:aws:iam::{ACCOUNT}:saml-provider/ward-idp"
DEBIAN_AMI = "ami-0debian13trixie"
# Names AWS gives a service-linked role, by service (with a custom suffix: `_<suffix>`).
SERVICE_LINKED_ROLE_NAMES = {"autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling"}


def raw_config(seats: int, /, **overrides: object) -> dict[str, object]:
    """A complete, valid raw configuration (full keys) for `seats`, with overrides."""
    raw: dict[str, object] = {
        "aws:region": REGION,
        "telework:seats": seats,
        "telework:client_vpn_server_certificate_arn": SERVER_CERT,
        "telework:client_vpn_root_certificate_arn": CLIENT_CA,
        "telework:client_vpn_saml_provider_arn": SAML,
        "telework:customer_gateways": [
            {
                "name": "office",
                "kind": "office",
                "ip_address": "203.0.113.10",
                "bgp_asn": 65010,
                "cidrs": ["172.20.0.0/16"],
            },
            {
                "name": "carrier",
                "kind": "carrier",
                "ip_address": "198.51.100.20",
                "bgp_asn": 65020,
                "cidrs": ["172.30.0.0/20", "172.30.16.0/20"],
            },
        ],
    }
    raw.update({f"telework:{k}" if ":" not in k else k: v for k, v in overrides.items()})
    gateways = raw["telework:customer_gateways"]
    if isinstance(gateways, list):
        for gateway in gateways:
            if isinstance(gateway, dict) and isinstance(gateway.get("name"), str):
                raw.setdefault(f"telework:vpn_psk_{gateway['name']}", "(secret)")
    return raw


def config_for(seats: int, /, stack: str = "test", **overrides: object) -> TeleworkConfig:
    return validate_config(raw_config(seats, **overrides), stack)


@dataclass(frozen=True)
class Registered:
    """One resource as the program registered it."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    depends_on: tuple[str, ...] = ()

    @property
    def tags(self) -> Mapping[str, Any]:
        tags = self.inputs.get("tags")
        return tags if isinstance(tags, Mapping) else {}


# Outputs the program reads from resources; everything else echoes the inputs.
_COMPUTED: dict[str, dict[str, Any]] = {
    "aws:ec2/instance:Instance": {"privateIp": "10.40.8.10", "publicIp": ""},
    "aws:ec2/launchTemplate:LaunchTemplate": {"latestVersion": 1},
    "aws:ec2/vpcEndpoint:VpcEndpoint": {"prefixListId": "pl-61a54008"},
    "aws:lb/loadBalancer:LoadBalancer": {"dnsName": "rdp.internal.example"},
    "aws:ec2/eip:Eip": {"publicIp": "203.0.113.200"},
    "aws:ec2/vpnConnection:VpnConnection": {
        "tunnel1Address": "203.0.113.101",
        "tunnel2Address": "203.0.113.102",
    },
    "aws:ec2clientvpn/endpoint:Endpoint": {"dnsName": "*.cvpn-endpoint.example"},
}


@dataclass
class TeleworkMocks(pulumi.runtime.Mocks):
    """Echo inputs back as outputs, add ids, ARNs and the few computed values used."""

    resources: list[Registered] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    # What the Debian image reports as its root device (a test may set another one).
    root_device_name: str = "/dev/xvda"
    # Logical names of the resources each resource was told to wait for (depends_on).
    dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state: dict[str, Any] = dict(args.inputs)
        resource_id = f"{args.name}-id"
        state.setdefault("arn", f"arn:aws:mock:{REGION}:{ACCOUNT}:{args.typ}/{args.name}")
        if args.typ == "aws:s3/bucket:Bucket":
            state.setdefault("bucket", f"{args.name}-0a1b2c")
            state["arn"] = f"arn:aws:s3:::{state['bucket']}"
        if args.typ == "aws:iam/role:Role":
            state.setdefault("name", f"{args.name}-0a1b2c")
            resource_id = state["name"]
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{state['name']}"
        if args.typ == "aws:iam/instanceProfile:InstanceProfile":
            state.setdefault("name", f"{args.name}-0a1b2c")
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:instance-profile/{state['name']}"
        if args.typ == "aws:iam/serviceLinkedRole:ServiceLinkedRole":
            service = str(state["awsServiceName"])
            role = SERVICE_LINKED_ROLE_NAMES[service] + (
                f"_{state['customSuffix']}" if state.get("customSuffix") else ""
            )
            state["name"] = role
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{service}/{role}"
        if args.typ in ("aws:autoscaling/group:Group", "aws:cloudwatch/eventRule:EventRule"):
            state.setdefault("name", f"{args.name}-0a1b2c")
        if args.typ == "aws:ssm/document:Document":
            state.setdefault("name", f"{args.name}-0a1b2c")
            state["arn"] = f"arn:aws:ssm:{REGION}:{ACCOUNT}:document/{state['name']}"
        if args.typ == "aws:ssm/association:Association":
            state["associationId"] = f"{args.name}-association-id"
        if args.typ == "aws:kms/key:Key":
            state["keyId"] = resource_id
        state.update(_COMPUTED.get(args.typ, {}))
        with self._lock:
            self.resources.append(
                Registered(args.typ, args.name, dict(args.inputs), state, self.dependencies.get(args.name, ()))
            )
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append(args.token)
        if args.token == "aws:ec2/getAmi:getAmi":
            return {
                "id": DEBIAN_AMI,
                "imageId": DEBIAN_AMI,
                "name": "debian-13-amd64-x",
                "rootDeviceName": self.root_device_name,
            }
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
                "userId": "AIDAMOCK",
                "id": ACCOUNT,
            }
        return {}

    # --- queries used by the tests ---

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> Registered:
        found = [r for r in self.resources if r.type == type_ and r.name == name]
        assert len(found) == 1, f"expected one {type_} named {name}, found {len(found)}"
        return found[0]

    def record_dependencies(self) -> None:
        """Note each resource's `depends_on` as it is declared (a public stack transformation;
        the mock monitor's resource arguments do not carry dependencies)."""
        names: dict[int, str] = {}

        def note(args: pulumi.ResourceTransformationArgs) -> None:
            names[id(args.resource)] = args.name
            waits = args.opts.depends_on if args.opts is not None else None
            if isinstance(waits, pulumi.Resource):
                waits = [waits]
            if isinstance(waits, list):
                self.dependencies[args.name] = tuple(names.get(id(r), "?") for r in waits)

        pulumi.runtime.register_stack_transformation(note)


def run_program(cfg: TeleworkConfig, mocks: TeleworkMocks | None = None) -> TeleworkMocks:
    """Run the whole program for `cfg` under the mock runtime; return what it registered."""
    mocks = mocks if mocks is not None else TeleworkMocks()
    pulumi.runtime.set_mocks(mocks, project="telework", stack=cfg.stack, preview=False)
    keys = {gw.name: pulumi.Output.secret(f"psk-{gw.name}-0123456789") for gw in cfg.remote_access.customer_gateways}

    @pulumi.runtime.test
    def program() -> None:
        mocks.record_dependencies()
        build(cfg, keys)

    program()
    return mocks


def declare(program: Callable[[], pulumi.Output[Any] | None]) -> None:
    """Run `program` under the mock runtime (already set) and wait for every registration.

    `program` may return an `Output` whose `apply` holds assertions on resolved values; after
    `declare` returns, every resource is in the mocks' record for plain assertions.
    """

    @pulumi.runtime.test
    def run() -> pulumi.Output[Any] | None:
        return program()

    run()


_RUNS: dict[tuple[int, str], TeleworkMocks] = {}


def program_at(seats: int, variant: str = "default", **overrides: object) -> TeleworkMocks:
    """The whole program run once per (seats, variant) and kept for the test session."""
    key = (seats, variant)
    if key not in _RUNS:
        _RUNS[key] = run_program(config_for(seats, **overrides))
    return _RUNS[key]
