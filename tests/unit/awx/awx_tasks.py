"""awx/configure.yml rendered the way Ansible would render it, task by task and loop item by item.

Ansible's own loader and templar read the playbook and its vars files (so `!unsafe`, anchors and
filters behave as in a run); the parameters each awx.awx module would receive are then checked
against the options that module documents (`ansible-doc -j`), with Ansible's argument validator.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible.utils.vars import combine_vars

from collection_release.tools import tool

AWX_DIR = Path(__file__).resolve().parents[3] / "awx"
PLAYBOOK = AWX_DIR / "configure.yml"
OMIT = "__omit__"


@dataclass(frozen=True)
class ModuleCall:
    task: str
    module: str
    params: dict[str, Any]


def load(path: Path) -> Any:
    return DataLoader().load(trust_as_template(path.read_text(encoding="utf-8")), file_name=str(path.resolve()))


def play_vars(playbook: Path = PLAYBOOK) -> dict[str, Any]:
    play = load(playbook)[0]
    variables: dict[str, Any] = {}
    for name in play.get("vars_files", []):
        variables = combine_vars(variables, load(playbook.parent / name))
    # Secrets come from a vault file at run time; any value stands in for them here.
    return variables | {name: f"<{name}>" for name in variables.get("awx_secret_variables", [])}


def without_omitted(value: Any, omit: str) -> Any:
    if isinstance(value, dict):
        return {k: without_omitted(v, omit) for k, v in value.items() if v != omit}
    if isinstance(value, list):
        return [without_omitted(v, omit) for v in value]
    return value


def module_calls(playbook: Path = PLAYBOOK) -> list[ModuleCall]:
    """Every awx.awx module call of the playbook, with the parameters of each loop item."""
    play = load(playbook)[0]
    variables = play_vars(playbook) | {"omit": OMIT}
    templar = Templar(loader=DataLoader(), variables=variables)
    calls = []
    for task in play["tasks"]:
        module = next((key for key in task if key.startswith("awx.awx.")), None)
        if module is None:
            continue
        items = templar.template(task["loop"]) if "loop" in task else [None]
        for item in items:
            params = templar.copy_with_new_env(available_variables=variables | {"item": item}).template(task[module])
            calls.append(ModuleCall(task=str(task["name"]), module=module, params=without_omitted(params, OMIT)))
    return calls


@cache
def documented_options(module: str) -> dict[str, Any]:
    out = subprocess.run(
        [tool("ansible-doc"), "-j", "-t", "module", module], capture_output=True, text=True, check=True
    )
    options: dict[str, Any] = json.loads(out.stdout)[module]["doc"]["options"]
    return options


def as_argument_spec(options: dict[str, Any]) -> dict[str, Any]:
    """Documented options -> an argument spec (type, choices, elements, aliases, nested options)."""
    spec: dict[str, Any] = {}
    for name, doc in options.items():
        entry = {k: doc[k] for k in ("type", "choices", "elements", "aliases") if k in doc}
        if "suboptions" in doc:
            entry["options"] = as_argument_spec(doc["suboptions"])
        spec[name] = entry
    return spec


def problems(call: ModuleCall) -> list[str]:
    result = ArgumentSpecValidator(as_argument_spec(documented_options(call.module))).validate(call.params)
    return [f"{call.task} ({call.module}): {message}" for message in result.error_messages]
