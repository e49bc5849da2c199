"""awx/configure.yml describes objects AWX accepts, and job templates that fit the repository.

Without an AWX here, each awx.awx module call is rendered as Ansible would render it and its
parameters are checked against what the module documents (a wrong key or type is caught: see
the positive control). The job templates' limits split every shipped inventory into a core
(run as one job) and a desktop pool (sliced) that together take every host once.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from typing import Any

import pytest

from collection_release.metadata import REPOSITORY, load
from collection_release.tools import tool
from tests.unit.awx.awx_tasks import PLAYBOOK, ModuleCall, module_calls, play_vars, problems

CALLS = module_calls()
VARS = play_vars()
TEMPLATES = {t["name"]: t for t in VARS["awx_job_templates"]}
INVENTORIES = ["lab", "example"]


def calls_of(module: str) -> list[ModuleCall]:
    return [c for c in CALLS if c.module == f"awx.awx.{module}"]


@cache
def hosts_of(pattern: str, inventory: str) -> frozenset[str]:
    """The hosts a limit pattern selects in inventories/<inventory> (Ansible's own pattern rules)."""
    argv = [tool("ansible"), pattern, "-i", str(REPOSITORY / "inventories" / inventory), "--list-hosts"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env).stdout
    return frozenset(line.strip() for line in out.splitlines()[1:] if line.strip())


def test_the_playbook_passes_syntax_check() -> None:
    proc = subprocess.run([tool("ansible-playbook"), str(PLAYBOOK), "--syntax-check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("call", CALLS, ids=lambda c: f"{c.module.split('.')[-1]}-{c.params.get('name', '')}")
def test_every_awx_call_has_parameters_the_module_documents(call: ModuleCall) -> None:
    assert problems(call) == []


def test_a_wrong_parameter_is_caught() -> None:
    call = calls_of("job_template")[0]
    broken = ModuleCall(call.task, call.module, call.params | {"job_slices": 4, "forks": "many"})
    found = problems(broken)
    assert any("job_slices" in p for p in found), found
    assert any("forks" in p for p in found), found


def test_each_inventory_gets_every_job_template_and_workflow() -> None:
    names = {c.params["name"] for c in calls_of("job_template") + calls_of("workflow_job_template")}
    for inventory in VARS["awx_inventories"]:
        for kind in [*TEMPLATES, *(w["name"] for w in VARS["awx_workflows"])]:
            assert f"{inventory['name']}: {kind}" in names


@pytest.mark.parametrize("call", calls_of("job_template"), ids=lambda c: c.params["name"])
def test_job_templates_set_the_engine_and_the_scale(call: ModuleCall) -> None:
    p = call.params
    assert p["forks"] >= 10 and p["timeout"] > 0 and p["job_slice_count"] >= 1
    assert p["instance_groups"] and p["prevent_instance_group_fallback"]
    assert VARS["awx_engine_credentials"][0]["name"] in p["credentials"]  # ANSIBLE_CONFIG and strategy
    assert (REPOSITORY / p["playbook"]).is_file()
    for key in ("site_pki_dir", "vpn_gateway_profile_dir"):
        assert p["extra_vars"][key].startswith(VARS["awx_controller_state_dir"] + "/"), key


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_the_core_of_the_site_is_never_sliced(inventory: str) -> None:
    """VPN profiles list every gateway of the play and the CA's play runs on localhost: one job."""
    core = hosts_of("vpn_gateway:localhost", inventory)
    for name, template in TEMPLATES.items():
        if hosts_of(template["limit"], inventory) & core:
            assert template["job_slice_count"] == 1, name


@pytest.mark.parametrize("inventory", INVENTORIES)
@pytest.mark.parametrize(("first", "then"), [(w["first"], w["then"]) for w in VARS["awx_workflows"]])
def test_workflow_halves_take_every_host_once(inventory: str, first: str, then: str) -> None:
    everyone = hosts_of("all:localhost", inventory)
    core, rest = hosts_of(TEMPLATES[first]["limit"], inventory), hosts_of(TEMPLATES[then]["limit"], inventory)
    assert "localhost" in core, "the site CA's play runs on the implicit localhost"
    assert core | rest == everyone
    assert core & rest == set()


def test_the_desktop_batches_are_what_site_yml_reads() -> None:
    batch: dict[str, Any] = TEMPLATES["converge desktops"]["extra_vars"]
    assert batch["site_desktop_batch"].endswith("%")
    assert "serial: \"{{ site_desktop_batch | default('100%') }}\"" in (REPOSITORY / "ansible" / "site.yml").read_text()


def test_the_engine_credential_points_at_the_repository_config_and_known_strategies() -> None:
    kind = VARS["awx_engine_credential_type"]
    config = kind["injectors"]["env"]["ANSIBLE_CONFIG"]
    assert config.startswith("/runner/project/")  # where AWX puts the project in a job's container
    assert (REPOSITORY / config.removeprefix("/runner/project/")).is_file()
    strategies = {p.stem for p in (REPOSITORY / "ansible" / "plugins" / "strategy").glob("*.py")} | {"linear", "free"}
    choices = kind["inputs"]["fields"][0]["choices"]
    assert set(choices) <= strategies
    assert {c["strategy"] for c in VARS["awx_engine_credentials"]} <= set(choices)


def test_inventory_sources_are_files_of_the_project() -> None:
    for call in calls_of("inventory_source"):
        assert (REPOSITORY / call.params["source_path"]).is_file(), call.params["source_path"]


def test_the_execution_environment_image_is_tagged_with_the_collection_version() -> None:
    assert VARS["awx_execution_environment"]["image"].endswith(f":{load().version}")
