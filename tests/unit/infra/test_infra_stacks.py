"""The project file and the example stacks are valid as shipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import validate_config

ROOT = Path(__file__).resolve().parents[3]


def _as_cli_values(config: dict[str, Any]) -> dict[str, object]:
    """What the Pulumi CLI hands the program: scalars as strings, structures as JSON."""
    values: dict[str, object] = {}
    for key, value in config.items():
        values[key] = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return values


def test_project_file_runs_infra_with_python_pip_and_a_virtualenv() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["name"] == "telework"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": ".venv"},
    }
    assert project["main"] == "infra/"
    assert project["config"]["aws:region"]["value"] == "ap-northeast-1"


@pytest.mark.parametrize(("stack", "seats"), [("dev", 50), ("prod", 200)])
def test_example_stack_passes_validation(stack: str, seats: int) -> None:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))["config"]
    cfg = validate_config(_as_cli_values(config), stack)
    assert cfg.desktops.seats == seats
    assert cfg.region == "ap-northeast-1"
    assert cfg.stack == stack


def test_production_stack_has_mfa_and_a_compliance_lock() -> None:
    config = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text(encoding="utf-8"))["config"]
    cfg = validate_config(_as_cli_values(config), "prod")
    assert cfg.remote_access.mfa_on_client_vpn
    assert cfg.logging.archive_lock_mode == "COMPLIANCE"
    assert cfg.logging.archive_retention_days >= 1827
    assert {gw.kind for gw in cfg.remote_access.customer_gateways} == {"office", "carrier"}
