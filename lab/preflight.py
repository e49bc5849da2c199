"""Checks of the machine before the engine changes it: root, tools, overlayfs, inotify, address plan.

`check_machine` runs once per command (the CLI calls it before every command that changes the
machine or enters a host; `Engine` assumes it has run). `check_address_plan` runs when the
control bridge is about to be made, so a machine that routes the lab's range elsewhere is
refused before anything is wired, while `down` still works on it.

Each check takes what it reads as arguments with the machine's as defaults, so the messages
can be tested without root.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lab.commands import run
from lab.errors import LabError
from lab.settings import Settings

# Every tool the engine runs, with the Debian package that provides it.
REQUIRED_TOOLS = {
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "nsenter": "util-linux",
    "setpriv": "util-linux",
    "mount": "mount",
    "ip": "iproute2",
    "nft": "nftables",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "apt-cacher-ng": "apt-cacher-ng",
    "chroot": "coreutils",
}

# Every host's systemd holds inotify instances, all under root's per-user limit (128 by default
# on Debian): a dozen hosts exhaust it and the next one fails with "Too many open files".
INOTIFY_LIMITS = {"fs/inotify/max_user_instances": 8192, "fs/inotify/max_user_watches": 524288}

PROC_SYS = Path("/proc/sys")
PROC_FILESYSTEMS = Path("/proc/filesystems")

BR_NETFILTER_WARNING = (
    "lab: warning: br_netfilter is active and iptables drops forwarded traffic by default, so "
    "hosts in one zone may not reach each other; allow it with "
    "`iptables -I FORWARD -i 'twb+' -o 'twb+' -j ACCEPT` (Docker: use the DOCKER-USER chain)"
)


def check_machine() -> None:
    """Everything that must hold before the engine touches the machine; run once per command."""
    require_root(os.geteuid())
    require_tools(REQUIRED_TOOLS)
    require_overlayfs()
    raise_inotify_limits()
    warn_about_br_netfilter()


def require_root(euid: int) -> None:
    if euid != 0:
        raise LabError(
            "the lab engine must run as root (it creates bridges, mounts and network namespaces)",
            "run it with sudo, e.g. `sudo make lab` or `sudo .venv/bin/python -m lab up`",
        )


def require_tools(tools: Mapping[str, str], which: Callable[[str], str | None] = shutil.which) -> None:
    """Fail with one message listing every missing tool and the package that provides it."""
    missing = {tool: pkg for tool, pkg in tools.items() if which(tool) is None}
    if missing:
        pkgs = " ".join(sorted(set(missing.values())))
        raise LabError(
            "missing tools: " + ", ".join(sorted(missing)),
            f"install them with `apt-get install {pkgs}` (or run `make setup`)",
        )


def _load_overlay_module() -> None:
    run(["modprobe", "overlay"], check=False)


def require_overlayfs(
    filesystems: Path = PROC_FILESYSTEMS, load_module: Callable[[], None] = _load_overlay_module
) -> None:
    """Hosts boot from overlays: load the module when the kernel does not list overlayfs yet."""
    if "overlay" in filesystems.read_text():
        return
    load_module()
    if "overlay" not in filesystems.read_text():
        raise LabError("the kernel has no overlayfs", "load it with `modprobe overlay`")


def raise_inotify_limits(proc_sys: Path = PROC_SYS) -> None:
    """Raise the machine's inotify limits when they are lower than a lab needs (never lower them)."""
    for key, wanted in INOTIFY_LIMITS.items():
        path = proc_sys / key
        try:
            if int(path.read_text()) < wanted:
                path.write_text(str(wanted))
        except (OSError, ValueError) as exc:
            raise LabError(
                f"cannot raise {key.replace('/', '.')} to {wanted}: {exc}",
                f"set it yourself: sysctl -w {key.replace('/', '.')}={wanted}",
            ) from exc


def iptables_drops_forwarded_traffic(forward_rules: str) -> bool:
    """True for `iptables -S FORWARD` output whose policy drops what it does not accept."""
    return "-P FORWARD DROP" in forward_rules


def warn_about_br_netfilter(proc_sys: Path = PROC_SYS) -> None:
    """br_netfilter (loaded by Docker, for one) sends bridged frames through iptables, whose
    FORWARD policy may then drop traffic between hosts of one zone. Say so when that is the case."""
    nf = proc_sys / "net/bridge/bridge-nf-call-iptables"
    if not nf.exists() or nf.read_text().strip() != "1" or shutil.which("iptables") is None:
        return
    if iptables_drops_forwarded_traffic(run(["iptables", "-S", "FORWARD"], check=False).stdout):
        print(BR_NETFILTER_WARNING, file=sys.stderr)


def ipv4_routes() -> list[dict[str, Any]]:
    """Every IPv4 route of the machine, all tables, as `ip -j` reports them."""
    routes: list[dict[str, Any]] = json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]")
    return routes


def check_address_plan(settings: Settings, routes: Sequence[Mapping[str, Any]]) -> None:
    """Refuse to start when the machine already routes the lab's control network elsewhere."""
    for r in routes:
        dst = r.get("dst", "")
        dev = r.get("dev", "")
        if dst in ("default", "") or dev == settings.control_bridge or r.get("type") in ("local", "broadcast"):
            continue
        try:
            net = ipaddress.IPv4Network(dst, strict=False)
        except ValueError:
            continue
        if net.overlaps(settings.control_network):
            raise LabError(
                f"address clash: this machine already routes {net} via {dev}, "
                f"which overlaps the lab control network {settings.control_network}",
                "free that range on the machine; the lab owns 10.231.0.0/16 (see README, 'What the lab changes')",
            )
