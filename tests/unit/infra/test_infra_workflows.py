"""The CI workflows preview every change on the pull request and apply it on merge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / ".github" / "workflows"


def _workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _uses(workflow: dict[str, Any], action: str) -> dict[str, Any]:
    found = [s for s in _steps(workflow) if str(s.get("uses", "")).startswith(action + "@")]
    assert len(found) == 1, action
    return found[0]


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("lint.yml", "make lint"),
        ("test.yml", "make unit"),
        ("test.yml", "make molecule"),
    ],
)
def test_lint_and_test_workflows_call_the_make_targets(name: str, command: str) -> None:
    runs = [str(s.get("run", "")) for s in _steps(_workflow(name))]
    assert any(command in run for run in runs), runs


def test_preview_posts_the_plan_on_the_pull_request_with_the_policy_pack() -> None:
    workflow = _workflow("pulumi-preview.yml")
    assert "pull_request" in workflow["on"]
    assert workflow["permissions"]["pull-requests"] == "write"
    assert workflow["permissions"]["id-token"] == "write"
    pulumi = _uses(workflow, "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    aws = _uses(workflow, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ secrets.AWS_ROLE_ARN }}"
    assert aws["with"]["aws-region"] == "ap-northeast-1"


def test_up_runs_on_merge_to_main_with_the_policy_pack() -> None:
    workflow = _workflow("pulumi-up.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    pulumi = _uses(workflow, "pulumi/actions")
    assert pulumi["with"]["command"] == "up"
    assert pulumi["with"]["policyPacks"] == "policy"
    aws = _uses(workflow, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ secrets.AWS_ROLE_ARN }}"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stack_has_a_policy_config_file(stack: str) -> None:
    assert (ROOT / "policy" / f"config.{stack}.json").is_file()


@pytest.mark.parametrize("name", ["pulumi-preview.yml", "pulumi-up.yml"])
def test_a_change_to_the_site_bundle_is_previewed_and_applied(name: str) -> None:
    """The stack uploads ansible/ and inventories/aws/ (infra.site_bundle): a change there changes it."""
    from infra.site_bundle import BUNDLE_FOLDERS

    workflow = _workflow(name)
    trigger = workflow["on"].get("pull_request") or workflow["on"]["push"]
    for folder in BUNDLE_FOLDERS:
        assert f"{folder}/**" in trigger["paths"], folder
