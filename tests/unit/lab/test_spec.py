"""The lab spec is checked before the machine is touched; every error names the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from lab.errors import LabError
from lab.settings import Settings
from lab.spec import parse_spec

SETTINGS = Settings(home=Path("/nonexistent/home"), run=Path("/nonexistent/run"))

GOOD: dict[str, Any] = {
    "name": "t1",
    "zones": {"desktop": {"subnet": "10.231.33.0/24"}, "management": {"subnet": "10.231.34.0/24"}},
    "hosts": {
        "rdp1": {
            "release": "debian13",
            "interfaces": {"desktop": "10.231.33.10"},
            "control_address": "10.231.0.12",
            "routes": [{"to": "10.231.32.0/20", "via": "10.231.33.1"}],
            "groups": ["remote_desktop"],
        },
        "log1": {"release": "12", "interfaces": {"management": "auto"}},
    },
}


def spec_with(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    node = doc
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return doc


def test_good_spec_parses_with_releases_and_prefixes() -> None:
    spec = parse_spec(GOOD, SETTINGS)
    assert spec.hosts["rdp1"].release == "trixie"
    assert spec.hosts["log1"].release == "bookworm"
    assert str(spec.hosts["rdp1"].interfaces["desktop"]) == "10.231.33.10/24"
    assert spec.hosts["rdp1"].groups == ("remote_desktop",)
    assert spec.releases() == ["bookworm", "trixie"]


def test_auto_address_is_the_lowest_free_from_dot_ten() -> None:
    doc = spec_with("hosts.log2", {"interfaces": {"management": "auto"}})
    spec = parse_spec(doc, SETTINGS)
    assert str(spec.hosts["log1"].interfaces["management"].ip) == "10.231.34.10"
    assert str(spec.hosts["log2"].interfaces["management"].ip) == "10.231.34.11"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("name", "Bad_Name", "lab name"),
        ("zones.desktop.subnet", "10.231.33.0/33", "zones.desktop.subnet"),
        ("zones.desktop.subnet", "10.231.0.0/24", "overlaps the lab control network"),
        ("zones.management.subnet", "10.231.33.128/25", "overlaps zone desktop"),
        ("zones.ctl0", {"subnet": "10.231.40.0/24"}, "zones.ctl0"),
        ("hosts.rdp1.release", "buster", "unknown Debian release"),
        ("hosts.rdp1.interfaces.desktop", "10.231.34.10", "not a usable host address of zone desktop"),
        ("hosts.rdp1.interfaces.desktop", "10.231.33.255", "not a usable host address"),
        ("hosts.rdp1.interfaces.office", "10.231.35.10", "unknown zone 'office'"),
        ("hosts.rdp1.control_address", "10.231.0.1", "hosts.rdp1.control_address"),
        ("hosts.rdp1.control_address", "192.0.2.5", "hosts.rdp1.control_address"),
        ("hosts.rdp1.routes", [{"to": "10.231.32.0/20", "via": "10.231.34.1"}], "not in a zone this host is attached"),
        ("hosts.Rdp1", {}, "hosts.Rdp1"),
    ],
)
def test_bad_spec_names_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(LabError, match=message):
        parse_spec(spec_with(path, value), SETTINGS)


def test_address_used_twice_is_a_clash() -> None:
    doc = spec_with("hosts.rdp2", {"interfaces": {"desktop": "10.231.33.10"}})
    with pytest.raises(LabError, match=r"already used by rdp1"):
        parse_spec(doc, SETTINGS)


def test_control_address_used_twice_is_a_clash() -> None:
    doc = spec_with("hosts.rdp2", {"control_address": "10.231.0.12"})
    with pytest.raises(LabError, match=r"10.231.0.12 is already used by rdp1"):
        parse_spec(doc, SETTINGS)


def test_full_zone_reports_no_free_address() -> None:
    doc = spec_with("zones.desktop.subnet", "10.231.33.0/29")
    doc["hosts"]["rdp1"]["interfaces"] = {"desktop": "auto"}
    doc["hosts"]["rdp1"]["routes"] = []
    with pytest.raises(LabError, match="no free address left"):
        parse_spec(doc, SETTINGS)


def test_fingerprint_changes_when_an_address_changes() -> None:
    a = parse_spec(GOOD, SETTINGS).hosts["rdp1"].fingerprint()
    b = parse_spec(spec_with("hosts.rdp1.interfaces.desktop", "10.231.33.11"), SETTINGS).hosts["rdp1"].fingerprint()
    assert a != b
    assert a == parse_spec(GOOD, SETTINGS).hosts["rdp1"].fingerprint()
