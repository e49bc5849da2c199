"""The entry points that pick an Ansible strategy refuse one the project does not support, before
anything runs, and name the ones it does; the supported ones reach Ansible."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUPPORTED = ["mitogen_linear", "linear", "mitogen_free", "free"]


def make_dry_run(target: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """`make -n` prints the commands without running any of them (`-o setup`: nor the setup).

    Only targets whose recipes do not call $(MAKE) themselves: make runs such lines even with -n.
    """
    argv = ["make", "-n", "-o", "setup", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())]
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_STRATEGY"}
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=60)


@pytest.mark.parametrize("target", ["converge", "staff", "molecule", "lab-test"])
def test_make_refuses_an_unknown_strategy_before_running_anything(target: str) -> None:
    good = make_dry_run(target, STRATEGY="linear")
    assert good.returncode == 0, good.stderr  # positive control: the same target with a known strategy
    bad = make_dry_run(target, STRATEGY="mitogen_turbo")
    assert bad.returncode != 0
    assert "STRATEGY=mitogen_turbo is not a strategy this project supports" in bad.stderr
    for name in SUPPORTED:
        assert name in bad.stderr
    assert "ansible-playbook" not in bad.stdout and "molecule" not in bad.stdout


def test_make_passes_the_strategy_to_ansible() -> None:
    proc = subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", "-", "show"],
        input=f"include {ROOT}/Makefile\nshow:\n\t@echo $$ANSIBLE_STRATEGY\n",
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "ANSIBLE_STRATEGY"}, "STRATEGY": "linear"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "linear"


def test_the_default_strategy_is_mitogen_and_the_config_finds_its_plugin() -> None:
    cfg = (ROOT / "ansible" / "ansible.cfg").read_text()
    assert "strategy = mitogen_linear" in cfg
    assert "strategy_plugins = plugins/strategy" in cfg
    for name in ("mitogen_linear", "mitogen_free"):
        assert (ROOT / "ansible" / "plugins" / "strategy" / f"{name}.py").is_file()


def test_converge_benchmark_refuses_an_unknown_strategy() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "converge.py"), "--strategies", "linear", "fast"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown strategy fast" in proc.stderr
    assert "mitogen_linear" in proc.stderr
