"""One table of config keys: defaults, the known-key check, the README and the JSON view follow it."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import config_keys
from infra.capacity import peak_vcpus
from infra.config import TeleworkConfig, as_json, validate_config
from infra.config_checks import ConfigError
from infra.config_docs import BEGIN, END, README, render_key_table, with_table
from tests.unit.infra.pulumi_mocks import config_for, raw_config

ROOT = Path(__file__).resolve().parents[3]


def test_readme_key_table_is_the_one_generated_from_the_keys() -> None:
    text = README.read_text(encoding="utf-8")
    assert with_table(text) == text, "infra/README.md is stale: run python -m infra.config_docs"
    # The positive control: a hand edit of one row is seen.
    edited = text.replace("| staff working at once |", "| staff in the building |")
    assert edited != text and with_table(edited) != edited


def test_every_key_is_one_row_of_the_readme_table() -> None:
    table = render_key_table()
    for key in config_keys.KEYS:
        assert table.count(f"| `{key.full_name}` |") == 1, key.full_name
        assert key.check.allowed in table, key.full_name
    assert table.count("\n") == len(config_keys.KEYS) + 2  # header, rule, one row per key, the secret
    assert BEGIN in README.read_text(encoding="utf-8") and END in README.read_text(encoding="utf-8")


def test_defaults_required_and_known_keys_come_from_the_table() -> None:
    names = {key.full_name for key in config_keys.KEYS}
    assert set(config_keys.DEFAULTS) | set(config_keys.REQUIRED_KEYS) == names
    assert config_keys.REQUIRED_KEYS == (
        "telework:client_vpn_server_certificate_arn",
        "telework:client_vpn_root_certificate_arn",
        "telework:seats",
    )
    assert {n for n in names if n.startswith("telework:")} == config_keys.KNOWN_KEYS
    with pytest.raises(ConfigError, match="telework:seat must be one of the documented keys"):
        validate_config(raw_config(50, seat=50), "test")


def test_each_key_is_a_setting_of_its_area_and_of_the_json_view() -> None:
    cfg = config_for(200)
    fields = {
        area: {f.name for f in dataclasses.fields(type(cfg.area(area)))}
        for area in {key.area for key in config_keys.KEYS}
        if area != "region"
    }
    for key in config_keys.KEYS:
        if key.area == "region":
            assert key.name in {f.name for f in dataclasses.fields(TeleworkConfig)}
        else:
            assert key.name in fields[key.area], key.full_name
    every_field = {name for names in fields.values() for name in names}
    assert every_field == {key.name for key in config_keys.KEYS if key.area != "region"}
    view = as_json(cfg)
    assert set(view) == {key.name for key in config_keys.KEYS} | {"desktop_hosts", "client_vpn_mfa"}
    json.dumps(view)  # plain data


def test_defaults_pass_their_own_checks() -> None:
    for key in config_keys.KEYS:
        if not key.required:
            key.read({})


def _stack(stack: str) -> Any:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))["config"]
    values = {k: json.dumps(v) if isinstance(v, (list, dict)) else str(v) for k, v in config.items()}
    return validate_config(values, stack)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_readme_states_the_vcpus_each_example_stack_needs(stack: str) -> None:
    cfg = _stack(stack)
    text = README.read_text(encoding="utf-8")
    row = re.search(rf"\| `Pulumi\.{stack}\.yaml` \| (\d+) x ([a-z0-9.]+) \| (\d+) \|", text)
    assert row, f"no quota row for {stack}"
    assert (int(row[1]), row[2], int(row[3])) == (
        cfg.desktops.desktop_hosts,
        cfg.desktops.desktop_instance_type,
        peak_vcpus(cfg),
    )
