"""The Ansible strategy of the playbooks a test runs (bad-input batches, check mode, revocation).

The Molecule matrix runs each scenario's converge and idempotence under the strategy it proves
(Debian 12: plain linear, Debian 13: Mitogen) and may give the tests' own playbook runs another
one in TWTEST_PLAYBOOK_STRATEGY (`make molecule` gives Mitogen: a role behaves the same under
either, and the tests' many runs are where linear's cost doubles a verify step). Unset, the runs
keep ANSIBLE_STRATEGY.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def playbook_strategy(environ: Mapping[str, str] = os.environ) -> str:
    """The strategy for a test's playbook run: TWTEST_PLAYBOOK_STRATEGY, else ANSIBLE_STRATEGY."""
    return environ.get("TWTEST_PLAYBOOK_STRATEGY") or environ.get("ANSIBLE_STRATEGY", "")


def playbook_env(environ: Mapping[str, str] = os.environ, **extra: str) -> dict[str, str]:
    """A copy of environ for a test's ansible-playbook run, with its strategy and extra set."""
    env = dict(environ, **extra)
    strategy = playbook_strategy(environ)
    if strategy:
        env["ANSIBLE_STRATEGY"] = strategy
    return env
