"""The machine checks say what is wrong and what to do, before the engine touches anything."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lab.errors import LabError
from lab.preflight import (
    INOTIFY_LIMITS,
    REQUIRED_TOOLS,
    check_address_plan,
    iptables_drops_forwarded_traffic,
    raise_inotify_limits,
    require_overlayfs,
    require_root,
    require_tools,
)
from lab.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = Settings(home=Path("/nonexistent/home"), run=Path("/nonexistent/run"))


def test_root_passes_and_anyone_else_is_told_to_use_sudo() -> None:
    require_root(0)
    with pytest.raises(LabError, match="must run as root") as err:
        require_root(1000)
    assert "sudo .venv/bin/python -m lab up" in err.value.hint


def test_missing_tools_are_named_with_the_packages_to_install() -> None:
    present = {"ip", "nft"}
    require_tools({"ip": "iproute2", "nft": "nftables"}, which=lambda t: f"/usr/bin/{t}" if t in present else None)
    with pytest.raises(LabError) as err:
        require_tools(REQUIRED_TOOLS, which=lambda t: f"/usr/bin/{t}" if t in present else None)
    assert err.value.message.startswith("missing tools: apt-cacher-ng, chroot, debootstrap,")
    assert "ip," not in err.value.message
    assert "apt-get install apt-cacher-ng coreutils debootstrap mount openssh-client systemd-container util-linux" in (
        err.value.hint
    )


def test_every_package_the_hint_names_is_installed_by_make_setup() -> None:
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"^APT_PACKAGES := ((?:.*\\\n)*.*)$", makefile, re.MULTILINE)
    assert match
    installed = set(match[1].replace("\\\n", " ").split())
    essential = {"mount", "coreutils"}  # Debian's essential packages: always there
    assert set(REQUIRED_TOOLS.values()) - essential <= installed


def test_overlayfs_is_loaded_when_missing_and_refused_when_it_cannot_be(tmp_path: Path) -> None:
    filesystems = tmp_path / "filesystems"
    filesystems.write_text("nodev\tproc\n")
    loads: list[str] = []

    def load_module() -> None:
        loads.append("overlay")
        filesystems.write_text("nodev\tproc\nnodev\toverlay\n")

    require_overlayfs(filesystems, load_module)
    assert loads == ["overlay"]
    require_overlayfs(filesystems, load_module)  # present now: nothing loaded
    assert loads == ["overlay"]
    filesystems.write_text("nodev\tproc\n")
    with pytest.raises(LabError, match="the kernel has no overlayfs") as err:
        require_overlayfs(filesystems, lambda: None)
    assert err.value.hint == "load it with `modprobe overlay`"


def proc_sys(tmp_path: Path, values: dict[str, str]) -> Path:
    for key, value in values.items():
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_text(value + "\n")
    return tmp_path


def test_inotify_limits_are_raised_but_never_lowered(tmp_path: Path) -> None:
    instances, watches = INOTIFY_LIMITS
    root = proc_sys(tmp_path, {instances: "128", watches: "1048576"})
    raise_inotify_limits(root)
    assert (root / instances).read_text() == str(INOTIFY_LIMITS[instances])
    assert (root / watches).read_text().strip() == "1048576"


def test_an_inotify_limit_that_cannot_be_read_names_the_sysctl_to_set(tmp_path: Path) -> None:
    instances, watches = INOTIFY_LIMITS
    root = proc_sys(tmp_path, {instances: "not a number", watches: "524288"})
    with pytest.raises(LabError, match=r"cannot raise fs\.inotify\.max_user_instances to 8192") as err:
        raise_inotify_limits(root)
    assert err.value.hint == "set it yourself: sysctl -w fs.inotify.max_user_instances=8192"


def test_a_route_into_the_control_network_is_an_address_clash() -> None:
    clash: list[dict[str, Any]] = [{"dst": "10.231.4.0/24", "dev": "wg0"}]
    with pytest.raises(LabError) as err:
        check_address_plan(SETTINGS, clash)
    assert err.value.message == (
        "address clash: this machine already routes 10.231.4.0/24 via wg0, "
        "which overlaps the lab control network 10.231.0.0/20"
    )
    assert "the lab owns 10.231.0.0/16" in err.value.hint


def test_the_labs_own_default_local_and_other_routes_are_no_clash() -> None:
    routes: list[dict[str, Any]] = [
        {"dst": "default", "dev": "eth0", "gateway": "192.168.1.1"},
        {"dst": "10.231.0.0/20", "dev": "twlab0"},  # the lab's own bridge
        {"dst": "10.231.0.1", "dev": "lo", "type": "local"},
        {"dst": "192.168.1.0/24", "dev": "eth0"},
        {"dst": "10.231.16.0/20", "dev": "eth1"},  # inside 10.231/16 but not the control network
    ]
    check_address_plan(SETTINGS, routes)
    with pytest.raises(LabError, match="address clash"):
        check_address_plan(SETTINGS, [*routes, {"dst": "10.0.0.0/8", "dev": "eth1"}])


def test_br_netfilter_warning_only_when_iptables_drops_forwarded_traffic() -> None:
    assert iptables_drops_forwarded_traffic("-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n")
    assert not iptables_drops_forwarded_traffic("-P FORWARD ACCEPT\n")
