"""Strategy `mitogen_linear`: Ansible's `linear` strategy run through Mitogen for Ansible.

Mitogen keeps one Python interpreter per host (and per become user) alive for the whole run
instead of starting a new one over SSH for every task: converging the site takes a fraction of
the time (`make bench-converge` measures both). The plugin itself comes from the `mitogen`
package (requirements.txt); this file only makes Ansible find it without a path into the
virtualenv. Choose the strategy with `ANSIBLE_STRATEGY` (or `make ... STRATEGY=`); plain
`linear` stays supported.
"""

from __future__ import annotations

from ansible.errors import AnsibleError

try:
    from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule
except ImportError as exc:  # pragma: no cover - depends on the controller's packages
    raise AnsibleError(
        "strategy mitogen_linear needs the Python package 'mitogen' (pinned in requirements.txt): "
        "run 'make setup', or choose the plain strategy with ANSIBLE_STRATEGY=linear"
    ) from exc

__all__ = ["StrategyModule"]
