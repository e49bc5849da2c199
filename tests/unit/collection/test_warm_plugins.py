"""The callback telework.platform.warm_plugins: plugins loaded in the controller, results unchanged.

Ansible forks a worker per task and host; what the controller has loaded before the first fork,
every worker inherits. The first test proves that warm() loads the filters and tests (built-in
and the collections') and the action plugins into the calling process, with a control: none of
them is loaded before. The second proves that runs with the callback enabled give the same
results under both strategies. What it saves is measured, not tested: `make bench-converge`
(`benchmarks/converge.py --warm-plugins both`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from collection_release.metadata import COLLECTION_ROOT
from tests.unit.collection.test_collection_names import HERE, repository_env, run

CALLBACK = COLLECTION_ROOT / "plugins" / "callback" / "warm_plugins.py"

IN_PROCESS = r"""
import importlib.util, json, sys
from ansible.plugins.loader import action_loader, filter_loader, init_plugin_loader, test_loader
init_plugin_loader([])
ours = "ansible_collections.telework.platform.plugins.filter.baseline_net"
general = "ansible_collections.community.general.plugins.filter.counter"
def loaded():
    return {
        "builtin_filters": len(filter_loader._cached_non_collection_wrappers),
        "builtin_tests": len(test_loader._cached_non_collection_wrappers),
        "ours": ours in sys.modules,
        "general": general in sys.modules,
        "template_action": "ansible.plugins.action.template" in sys.modules,
    }
before = loaded()
spec = importlib.util.spec_from_file_location("warm_plugins", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.warm(["telework.platform", "community.general", "no.such_collection"])
after = loaded()
print(json.dumps({"before": before, "after": after}))
"""


def test_warm_loads_filters_tests_and_actions_into_the_controller_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, str(CALLBACK)],
        env=repository_env(),
        cwd=COLLECTION_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    # control: a fresh controller process has loaded none of them
    assert seen["before"] == {
        "builtin_filters": 0,
        "builtin_tests": 0,
        "ours": False,
        "general": False,
        "template_action": False,
    }
    after = seen["after"]
    assert after["builtin_filters"] > 50 and after["builtin_tests"] > 20, after
    assert after["ours"] and after["general"] and after["template_action"], after


@pytest.mark.parametrize("strategy", ["mitogen_linear", "linear"])
@pytest.mark.parametrize("callbacks", ["telework.platform.warm_plugins", "ansible.posix.timer"])
def test_runs_give_the_same_results_with_the_callback(strategy: str, callbacks: str, tmp_path: Path) -> None:
    env = repository_env() | {"ANSIBLE_STRATEGY": strategy, "ANSIBLE_CALLBACKS_ENABLED": callbacks}
    proc = run(HERE / "warm_probe.yml", env, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "v4=10.0.0.0/8 cidr=True counter=2 builtin=1" in proc.stdout, proc.stdout[-3000:]
