"""Which control and zone addresses hosts get when the spec leaves them open."""

from __future__ import annotations

import ipaddress

import pytest

from lab.addresses import allocate_control_addresses, first_free_zone_address
from lab.errors import LabError

POOL = ipaddress.IPv4Network("10.231.8.0/29")  # .1 to .6


def test_named_addresses_are_kept_and_the_rest_take_the_lowest_free_of_the_pool() -> None:
    got = allocate_control_addresses({"a": None, "b": "10.231.8.1", "c": None}, {}, {}, POOL)
    assert got == {"a": "10.231.8.2", "b": "10.231.8.1", "c": "10.231.8.3"}


def test_a_host_keeps_the_address_it_had_in_its_lab() -> None:
    got = allocate_control_addresses({"a": None, "b": None}, {"b": "10.231.8.5"}, {}, POOL)
    assert got == {"a": "10.231.8.1", "b": "10.231.8.5"}


def test_addresses_of_other_labs_are_never_handed_out() -> None:
    held = {"10.231.8.1": "mol-baseline-debian13", "10.231.8.5": "site"}
    got = allocate_control_addresses({"a": None, "b": None}, {"b": "10.231.8.5"}, held, POOL)
    assert got == {"a": "10.231.8.2", "b": "10.231.8.3"}


def test_a_named_address_another_lab_holds_is_refused_with_that_lab() -> None:
    held = {"10.231.0.12": "site"}
    with pytest.raises(LabError) as err:
        allocate_control_addresses({"x1": "10.231.0.12"}, {}, held, POOL)
    assert err.value.message == "address clash: control address 10.231.0.12 of host x1 is used by lab site"
    assert err.value.hint.startswith("take lab site down first (`python -m lab down --lab site`)")


def test_a_full_pool_says_so() -> None:
    wanted: dict[str, str | None] = {f"h{i}": None for i in range(6)}
    assert len(set(allocate_control_addresses(wanted, {}, {}, POOL).values())) == 6
    with pytest.raises(LabError, match=r"no free control address left in 10.231.8.0/29"):
        allocate_control_addresses({**wanted, "h6": None}, {}, {}, POOL)


def test_zone_addresses_start_at_ten_and_skip_used_ones() -> None:
    subnet = ipaddress.IPv4Network("10.231.33.0/24")
    assert first_free_zone_address(subnet, set()) == ipaddress.IPv4Address("10.231.33.10")
    used = {ipaddress.IPv4Address("10.231.33.10"), ipaddress.IPv4Address("10.231.33.11")}
    assert first_free_zone_address(subnet, used) == ipaddress.IPv4Address("10.231.33.12")
    small = ipaddress.IPv4Network("10.231.33.0/29")  # .1 to .6: nothing from .10 on
    assert first_free_zone_address(small, set()) is None
