"""The strategy of the playbooks a Molecule test runs (tests/support/strategy.py)."""

from __future__ import annotations

from tests.support.strategy import playbook_env, playbook_strategy


def test_the_tests_strategy_overrides_the_runs_own() -> None:
    environ = {"ANSIBLE_STRATEGY": "linear", "TWTEST_PLAYBOOK_STRATEGY": "mitogen_linear", "PATH": "/bin"}
    assert playbook_strategy(environ) == "mitogen_linear"
    env = playbook_env(environ, ANSIBLE_NOCOLOR="1")
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert env["ANSIBLE_NOCOLOR"] == "1" and env["PATH"] == "/bin"
    assert environ["ANSIBLE_STRATEGY"] == "linear"  # the caller's environment is left as it was


def test_without_the_tests_strategy_the_runs_own_is_kept() -> None:
    environ = {"ANSIBLE_STRATEGY": "linear", "TWTEST_PLAYBOOK_STRATEGY": ""}
    assert playbook_env(environ)["ANSIBLE_STRATEGY"] == "linear"
    assert "ANSIBLE_STRATEGY" not in playbook_env({"PATH": "/bin"})
