"""Names and rules the engine puts on the machine: short enough for Linux, unique, strict."""

from __future__ import annotations

from pathlib import Path

from lab.image import image_id, recipe
from lab.network import nft_ruleset, veth_names, zone_bridge_name
from lab.settings import Settings

SETTINGS = Settings(home=Path("/nonexistent/home"), run=Path("/nonexistent/run"))


def test_interface_names_fit_the_kernel_limit_and_differ_per_lab() -> None:
    names = {
        zone_bridge_name("site", "management"),
        zone_bridge_name("mol-baseline-debian13", "management"),
        *veth_names("site", "rdp1", "desktop"),
        *veth_names("site", "rdp1", "ctl0"),
    }
    assert len(names) == 6
    assert all(len(n) <= 15 for n in names)


def test_tw11_nft_rules_drop_forwarding_and_allow_only_the_proxy() -> None:
    rules = nft_ruleset(SETTINGS)
    assert "hook forward" in rules
    assert 'iifname { "twlab0", "twb*", "twv*" } counter drop' in rules
    assert "tcp dport 3142 accept" in rules
    # the proxy rule comes before the catch-all drop of the control bridge
    assert rules.index("tcp dport 3142 accept") < rules.index('iifname "twlab0" counter drop')


def test_image_id_changes_with_the_recipe() -> None:
    a = image_id("trixie", SETTINGS)
    assert a.startswith("trixie-")
    assert a != image_id("bookworm", SETTINGS)
    other = Settings(home=SETTINGS.home, run=SETTINGS.run, admin_user="ops")
    assert image_id("trixie", other) != a
    assert recipe("trixie", SETTINGS)["packages"][:2] == ["systemd", "systemd-sysv"]


def test_nspawn_gets_a_unique_machine_name_and_the_plain_hostname() -> None:
    from lab.nspawn import nspawn_argv
    from lab.overlay import HostPaths

    argv = nspawn_argv(HostPaths(Path("/x/labs/site/hosts/rdp1")), "site", "rdp1")
    assert "--machine=twlab-site-rdp1" in argv
    assert "--hostname=rdp1" in argv
    assert "--private-network" in argv
    assert "--register=no" in argv
