"""The baseline role: one switch per topic, one shape for firewall services, address helpers that behave.

Its interface (specs, defaults and README in step) is checked with every other role's in
test_role_interfaces.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "ansible" / "roles" / "baseline"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_plugin(kind: str, name: str) -> ModuleType:
    """A plugin file of the collection (ansible/plugins/<kind>/<name>.py), where the role's filters live."""
    path = ROLE.parents[1] / "plugins" / kind / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{kind}_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DEFAULTS: dict[str, Any] = load_yaml(ROLE / "defaults" / "main.yml")
SPECS: dict[str, Any] = load_yaml(ROLE / "meta" / "argument_specs.yml")["argument_specs"]


def test_every_topic_has_a_switch() -> None:
    main = (ROLE / "tasks" / "main.yml").read_text()
    switches = [name for name in DEFAULTS if name.endswith("_enabled")]
    assert len(switches) >= 12
    for switch in switches:
        assert f"when: {switch} | bool" in main, switch


def test_firewall_service_shape_is_the_same_for_the_list_and_the_entry_point() -> None:
    listed = SPECS["main"]["options"]["baseline_firewall_services"]["options"]
    single = SPECS["firewall_service"]["options"]["baseline_firewall_service"]["options"]
    assert listed == single
    assert single["proto"]["choices"] == ["tcp", "udp"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10.231.0.0/20", True), ("192.0.2.1", True), ("2001:db8::/32", True), ("not-a-network", False), ("", False)],
)
def test_cidr_test(value: str, expected: bool) -> None:
    assert load_plugin("test", "baseline_cidr").baseline_cidr(value) is expected


def test_address_in_networks() -> None:
    f = load_plugin("filter", "baseline_net")
    assert f.baseline_ip_in_any("10.231.0.1", ["10.231.0.0/20"])
    assert not f.baseline_ip_in_any("10.231.34.20", ["10.231.0.0/20", "junk"])
    assert not f.baseline_ip_in_any("", ["10.231.0.0/20"])


def test_networks_split_by_family() -> None:
    f = load_plugin("filter", "baseline_net")
    nets = ["10.231.35.20/32", "2001:db8::/48", "10.231.34.0/24", "junk"]
    assert f.baseline_ip_family(nets, 4) == ["10.231.35.20/32", "10.231.34.0/24"]
    assert f.baseline_ip_family(nets, 6) == ["2001:db8::/48"]
