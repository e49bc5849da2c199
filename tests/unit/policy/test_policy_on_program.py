"""The program's own resources, as declared under the mock runtime, pass every policy.

This joins the two halves: the policy tests prove each rule can fail; here the rules are run
over the whole stack at 50, 200 and 2,000 seats, as `pulumi preview --policy-pack` would.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import telework_policies as rules

from tests.unit.infra.pulumi_mocks import config_for, run_program

OPTS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
CONFIG = {"minimumRetentionDays": 365, "vpnPort": 1194, "vpnProtocol": "udp"}


@pytest.mark.parametrize("seats", [50, 200, 2000])
def test_whole_program_passes_the_policy_pack(seats: int) -> None:
    mocks = run_program(config_for(seats, vpn_gateway_count=2))
    found: list[str] = []
    resources: list[PolicyResource] = []
    for record in mocks.resources:
        urn = f"urn:pulumi:test::telework::{record.type}::{record.name}"
        args = ResourceValidationArgs(record.type, record.inputs, urn, record.name, OPTS, None, CONFIG)
        for policy in rules.POLICIES:
            if isinstance(policy, ResourceValidationPolicy):
                policy.validate(args, lambda m, u=None, n=record.name: found.append(f"{n}: {m}"))
        resources.append(PolicyResource(record.type, record.outputs, urn, record.name, OPTS, None, None, [], {}))
    stack = StackValidationArgs(resources, CONFIG)
    for policy in rules.POLICIES:
        if isinstance(policy, StackValidationPolicy):
            policy.validate(stack, lambda m, u=None: found.append(m))
    assert found == []
    # And the rules did look at something: the open VPN port rule exists and was accepted.
    assert any(r.inputs.get("cidrIpv4") == "0.0.0.0/0" for r in mocks.resources)


def test_tw09_tw11_the_program_is_what_the_new_rules_look_at() -> None:
    """The key, endpoint and role rules each see resources of the program (not vacuous)."""
    mocks = run_program(config_for(50))
    types = {r.type for r in mocks.resources}
    assert {rules.KMS_KEY, rules.VPC_ENDPOINT, rules.ROLE_POLICY} <= types


def test_a_broken_program_fails_the_policy_pack() -> None:
    mocks = run_program(config_for(50))
    archive = next(r for r in mocks.resources if r.type == rules.BUCKET and "archive" in r.name)
    broken = dict(archive.outputs, objectLockEnabled=False)
    resource = PolicyResource(rules.BUCKET, broken, "urn:x", archive.name, OPTS, None, None, [], {})
    found: list[str] = []
    rules.archive_object_lock(StackValidationArgs([resource], CONFIG), lambda m, u=None: found.append(m))
    assert found and "Object Lock" in found[0]
