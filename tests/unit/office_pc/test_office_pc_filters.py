"""The register of office PCs and the per-owner flows made from it (ansible/plugins/filter/office_pc.py),
and the fixed tunnel addresses the VPN gateway gives those owners (vpn_gateway.py)."""

from __future__ import annotations

import ipaddress

import pytest

from tests.support.modules import load_filter

OFFICE = load_filter("office_pc")
VPN = load_filter("vpn_gateway")

USERS = [
    {"id": "sato.taro", "state": "active", "groups": ["telework"]},
    {"id": "suzuki.hanako", "state": "active", "groups": ["telework"]},
    {"id": "tanaka.yui", "state": "active", "groups": []},
    {"id": "ito.jiro", "state": "disabled", "groups": ["telework"]},
]
PCS = [
    {"name": "pc1", "owner": "sato.taro", "address": "10.231.35.20"},
    {"name": "pc2", "owner": "suzuki.hanako", "address": "10.231.35.21"},
    {"name": "pc3", "owner": "tanaka.yui", "address": "10.231.35.22"},
    {"name": "pc4", "owner": "ito.jiro", "address": "10.231.35.23"},
]


def test_tw13_a_good_register_has_no_error() -> None:
    assert OFFICE.office_pc_errors(PCS, USERS) == []


@pytest.mark.parametrize(
    ("pcs", "message"),
    [
        ([{**PCS[0], "owner": "yamamoto.ken"}], "owner yamamoto.ken is not in the staff list"),
        ([PCS[0], {**PCS[1], "owner": "sato.taro"}], "owner given to more than one PC: sato.taro"),
        ([PCS[0], {**PCS[1], "name": "pc1"}], "PC name given to more than one PC: pc1"),
        ([PCS[0], {**PCS[1], "address": PCS[0]["address"]}], "address given to more than one PC: 10.231.35.20"),
        ([{**PCS[0], "address": "pc1.office"}], "address pc1.office is not an IPv4 address"),
        ([{"name": "pc1", "owner": "sato.taro"}], "entry 1 (pc1) has no address"),
        (["pc1"], "entry 1 is not a mapping"),
    ],
)
def test_tw13_a_bad_register_is_refused_with_what_to_fix(pcs: list, message: str) -> None:
    errors = OFFICE.office_pc_errors(pcs, USERS)
    assert any(message in e for e in errors), errors


def test_tw13_only_active_owners_in_the_group_may_come_in_from_home() -> None:
    owners = OFFICE.office_pc_owners(PCS, USERS, "telework")
    # tanaka.yui (not a teleworker) and ito.jiro (disabled) are left out
    assert [pc["owner"] for pc in owners] == ["sato.taro", "suzuki.hanako"]
    assert [pc["owner"] for pc in OFFICE.office_pc_owners(PCS, USERS)] == ["sato.taro", "suzuki.hanako", "tanaka.yui"]


def test_tw11_each_owner_gets_one_fixed_address_and_flows_to_their_own_pc_only() -> None:
    owners = OFFICE.office_pc_owners(PCS, USERS, "telework")
    addresses = VPN.vpn_gateway_user_addresses([pc["owner"] for pc in owners], "10.231.40.0/24")
    assert len(set(addresses.values())) == 2
    block = [str(a) for a in list(ipaddress.IPv4Network("10.231.40.0/24").hosts())[-64:]]
    assert set(addresses.values()) <= set(block)
    vpn = OFFICE.office_pc_vpn_flows(owners)
    assert vpn == [
        {
            "name": "office-pc-pc1",
            "user": "sato.taro",
            "to_cidrs": ["10.231.35.20/32"],
            "proto": "tcp",
            "ports": [3389],
        },
        {
            "name": "office-pc-pc2",
            "user": "suzuki.hanako",
            "to_cidrs": ["10.231.35.21/32"],
            "proto": "tcp",
            "ports": [3389],
        },
    ]
    router = OFFICE.office_pc_router_flows(owners, addresses)
    assert [(f["from_address"], f["to_address"]) for f in router] == [
        (addresses["sato.taro"], "10.231.35.20"),
        (addresses["suzuki.hanako"], "10.231.35.21"),
    ]


def test_tw11_adding_an_owner_moves_no_one_else_and_the_dynamic_range_stays_below() -> None:
    before = VPN.vpn_gateway_user_addresses(["sato.taro", "suzuki.hanako"], "10.231.40.0/24")
    after = VPN.vpn_gateway_user_addresses(["sato.taro", "suzuki.hanako", "kato.mai"], "10.231.40.0/24")
    assert {k: after[k] for k in before} == before
    assert VPN.vpn_gateway_user_addresses(["suzuki.hanako", "sato.taro"], "10.231.40.0/24") == before
    assert VPN.vpn_gateway_dynamic_range("10.231.40.0/24") == "10.231.40.2 10.231.40.190 255.255.255.0"
    # every user in a full block gets a distinct address (collisions move to the next free place)
    many = VPN.vpn_gateway_user_addresses([f"user{i:02d}" for i in range(64)], "10.231.40.0/24")
    assert len(set(many.values())) == 64


def test_tw11_more_owners_than_fixed_addresses_is_an_error() -> None:
    with pytest.raises(ValueError, match="only 4 fixed addresses"):
        VPN.vpn_gateway_user_addresses([f"user{i}" for i in range(5)], "10.231.40.0/24", 4)
    with pytest.raises(ValueError, match="do not fit"):
        VPN.vpn_gateway_dynamic_range("10.231.40.0/28", 64)


def test_tw11_a_bad_user_flow_is_refused_with_what_to_fix() -> None:
    good = {"name": "office-pc-pc1", "user": "sato.taro", "to_cidrs": ["10.231.35.20/32"], "ports": [3389]}
    zones = {"office": ["10.231.35.0/24"]}
    assert VPN.vpn_gateway_user_flow_errors([good], zones, ["sato.taro"]) == []  # positive control
    errors = VPN.vpn_gateway_user_flow_errors(
        [{**good, "user": "yamamoto.ken"}, {**good, "name": "z", "to_zones": ["office"]}], zones, ["sato.taro"]
    )
    assert "user yamamoto.ken is not in the staff list" in errors, errors
    assert "flow z: a user flow goes to to_cidrs only" in errors, errors
