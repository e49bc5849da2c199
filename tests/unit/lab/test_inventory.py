"""The lab site lives in the Ansible inventory: hosts, zones, addresses and groups come from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.inventory import load_inventory, spec_from_inventory
from lab.settings import Settings
from lab.spec import parse_spec

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = Settings(home=Path("/nonexistent/home"), run=Path("/nonexistent/run"))


@pytest.fixture(scope="module")
def site_spec() -> dict:
    return spec_from_inventory(load_inventory(ROOT / "inventories" / "lab"))


def test_site_inventory_is_a_valid_lab(site_spec: dict) -> None:
    spec = parse_spec(site_spec, SETTINGS)
    assert spec.name == "site"
    assert set(spec.zones) == {"home", "edge", "desktop", "management", "office"}
    assert len(spec.hosts) >= 6


def test_groups_say_what_runs_on_each_host(site_spec: dict) -> None:
    assert site_spec["hosts"]["rdp1"]["groups"] == ["remote_desktop"]
    assert site_spec["hosts"]["log1"]["groups"] == ["log_server"]
    assert site_spec["hosts"]["vpn1"]["groups"] == ["vpn_gateway"]


def test_tw11_only_the_vpn_gateway_and_home_pcs_touch_the_home_zone(site_spec: dict) -> None:
    in_home = sorted(h for h, d in site_spec["hosts"].items() if "home" in d["interfaces"])
    assert all(site_spec["hosts"][h]["groups"][0] in ("vpn_gateway", "home_pc") for h in in_home)
    assert "home" not in site_spec["hosts"]["gw1"]["interfaces"], "the zone router must not reach the home zone"


def test_nested_groups_are_inherited(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "all:\n  vars:\n    lab_name: t2\n    lab_zones: {office: {subnet: 10.231.35.0/24}}\n"
        "  children:\n    servers:\n      children:\n        file_server:\n          hosts:\n"
        "            fs9: {lab_interfaces: {office: auto}, lab_release: bookworm}\n"
    )
    spec = spec_from_inventory(load_inventory(inv))
    assert spec["hosts"]["fs9"]["groups"] == ["file_server", "servers"]
    parsed = parse_spec(spec, SETTINGS)
    assert parsed.hosts["fs9"].release == "bookworm"
    assert parsed.hosts["fs9"].control_address is None


def test_missing_inventory_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="pass -i"):
        load_inventory(tmp_path / "nope")
