"""How names resolve from roles inside the collection, and in the repository's own runs.

Measured on ansible-core 2.19, not assumed:
- a filter or test by its short name does not resolve from a role inside a collection (short
  Jinja plugin names only search ansible.builtin and the configured plugin paths; the
  `collections` keyword does not apply to them), so the roles call theirs by FQCN
  (`telework.platform.baseline_cidr`); in the repository that FQCN resolves to the working tree
  through ansible/collections/ (ansible.cfg collections_path);
- a role that includes a sibling by its short name (vpn_gateway -> telework_users) gets the
  sibling of its own collection;
- the Mitogen strategies shipped in the collection work by FQCN (telework.platform.mitogen_linear).
The probes run real role code on the controller only; nothing is changed anywhere.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from collection_release.isolated import isolated_env
from collection_release.metadata import COLLECTION_ROOT, REPOSITORY
from collection_release.tools import tool
from tests.unit.installed_collection import Installed

HERE = Path(__file__).resolve().parent
RESOLUTION_PROBE = HERE / "resolution_probe.yml"
STRATEGY_PROBE = HERE / "strategy_probe.yml"
GOOD_NETWORK = "10.0.0.0/8"


def run(playbook: Path, env: dict[str, str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    argv = [tool("ansible-playbook"), "-i", "localhost,", str(playbook)]
    for key, value in extra.items():
        argv += ["-e", f"{key}={value}"]
    env = env | {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "false"}
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=300)


def repository_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    return env | {"ANSIBLE_CONFIG": str(COLLECTION_ROOT / "ansible.cfg")}


def probe_installed(installed: Installed, tmp_path: Path, cidr: str) -> subprocess.CompletedProcess[str]:
    return run(
        RESOLUTION_PROBE,
        isolated_env(tmp_path, installed.collections_dir),
        tmp_path,
        probe_roles="telework.platform.",
        probe_roles_dir=str(installed.path / "roles"),
        probe_cidr=cidr,
    )


def test_roles_in_the_installed_collection_find_their_plugins_and_siblings(
    installed: Installed, tmp_path: Path
) -> None:
    proc = probe_installed(installed, tmp_path, GOOD_NETWORK)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    # The sibling came from the installed collection, not from a roles path.
    assert "telework.platform.telework_users : TW-13 | Check the format of every staff id" in proc.stdout
    assert "v6=['2001:db8::/32']" in proc.stdout


def test_the_probe_fails_when_the_roles_test_plugin_rejects_the_input(installed: Installed, tmp_path: Path) -> None:
    """The role's check really ran through telework.platform.baseline_cidr: a bad network stops it."""
    proc = probe_installed(installed, tmp_path, "not-a-network")
    assert proc.returncode != 0
    assert "from_cidrs must be networks in CIDR form" in proc.stdout


def test_the_repository_run_finds_the_same_names_in_the_working_tree(tmp_path: Path) -> None:
    proc = run(
        RESOLUTION_PROBE,
        repository_env(),
        REPOSITORY,
        probe_roles="",
        probe_roles_dir=str(COLLECTION_ROOT / "roles"),
        probe_cidr=GOOD_NETWORK,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "telework_users : TW-13 | Check the format of every staff id" in proc.stdout


def test_the_repository_resolver_links_every_plugin_of_the_collection() -> None:
    """ansible/collections/ansible_collections/telework/platform/plugins mirrors ansible/plugins, by links."""
    resolver = COLLECTION_ROOT / "collections" / "ansible_collections" / "telework" / "platform" / "plugins"
    plugins = COLLECTION_ROOT / "plugins"
    wanted = sorted(p.relative_to(plugins) for p in plugins.rglob("*.py"))
    linked = sorted(p.relative_to(resolver) for p in resolver.rglob("*.py"))
    assert linked == wanted
    for rel in linked:
        assert (resolver / rel).is_symlink(), rel
        assert (resolver / rel).resolve() == (plugins / rel).resolve(), rel


@pytest.mark.parametrize(
    ("strategy", "through_mitogen"),
    [("telework.platform.mitogen_linear", True), ("telework.platform.mitogen_free", True), ("linear", False)],
)
def test_collection_strategies_work_by_fqcn(
    installed: Installed, tmp_path: Path, strategy: str, through_mitogen: bool
) -> None:
    env = isolated_env(tmp_path, installed.collections_dir) | {"ANSIBLE_STRATEGY": strategy}
    proc = run(STRATEGY_PROBE, env, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    line = next(line for line in proc.stdout.splitlines() if "module run by:" in line)
    assert ("AnsiballZ" not in line) is through_mitogen, line


def test_a_short_strategy_name_is_not_found_from_the_collection(installed: Installed, tmp_path: Path) -> None:
    """Without the repository's strategy_plugins path only the FQCN names the collection's strategy."""
    env = isolated_env(tmp_path, installed.collections_dir) | {"ANSIBLE_STRATEGY": "mitogen_linear"}
    proc = run(STRATEGY_PROBE, env, tmp_path)
    assert proc.returncode != 0
    assert "Invalid play strategy specified: mitogen_linear" in proc.stdout + proc.stderr
