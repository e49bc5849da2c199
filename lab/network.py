"""The lab's wiring on the machine: the control bridge, zone bridges, veth pairs and the nft table.

- The control bridge (`twlab0`) carries the machine's address (the controller and the package
  proxy). Every host has one port on it, marked *isolated*: isolated ports reach the machine
  but never each other, so the control network is no back door between zones.
- Each zone of a lab is a bridge of its own with no address on the machine: the machine is not
  a router between zones or to the outside.
- The nft table `inet twlab` drops anything the lab would forward through the machine and
  everything lab hosts send to the machine except the package proxy port.

Every link the lab creates carries an alias `twlab <lab> <what>`, so `down` finds and removes
them even when the state file is gone (an `up` that crashed half way).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from lab.commands import ok, run
from lab.settings import Settings

ALIAS_PREFIX = "twlab"


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:8]


def zone_bridge_name(lab: str, zone: str) -> str:
    return "twb" + _short_hash(lab, zone)


def veth_names(lab: str, host: str, zone: str) -> tuple[str, str]:
    """(machine side, host side before it is renamed inside the host)."""
    h = _short_hash(lab, host, zone)
    return "twv" + h, "twp" + h


@dataclass(frozen=True)
class Link:
    name: str
    kind: str
    alias: str


def list_links() -> list[Link]:
    out = run(["ip", "-j", "-d", "link", "show"]).stdout
    links = []
    for item in json.loads(out or "[]"):
        kind = item.get("linkinfo", {}).get("info_kind", "")
        links.append(Link(item["ifname"], kind, item.get("ifalias", "")))
    return links


def lab_links(lab: str | None) -> list[Link]:
    """Links created for one lab (or for any lab when lab is None), control bridge excluded."""
    prefix = f"{ALIAS_PREFIX} {lab} " if lab else f"{ALIAS_PREFIX} "
    return [link for link in list_links() if link.alias.startswith(prefix) and link.alias != _control_alias()]


def _control_alias() -> str:
    return f"{ALIAS_PREFIX} control"


def _set_sysctl(key: str, value: str) -> None:
    path = Path("/proc/sys") / key.replace(".", "/")
    if path.exists():
        path.write_text(value)


def ensure_control_bridge(settings: Settings) -> None:
    br = settings.control_bridge
    names = {link.name for link in list_links()}
    if br not in names:
        run(["ip", "link", "add", br, "type", "bridge"])
        run(["ip", "link", "set", "dev", br, "alias", _control_alias()])
    _set_sysctl(f"net.ipv6.conf.{br}.disable_ipv6", "1")
    addr = f"{settings.control_gateway}/{settings.control_network.prefixlen}"
    have = run(["ip", "-j", "-4", "addr", "show", "dev", br]).stdout
    if addr.split("/")[0] not in have:
        run(["ip", "addr", "add", addr, "dev", br])
    run(["ip", "link", "set", "dev", br, "up"])


def nft_ruleset(settings: Settings) -> str:
    t = settings.nft_table
    br = settings.control_bridge
    return f"""
table inet {t} {{
    chain input {{
        type filter hook input priority filter - 10; policy accept;
        iifname "{br}" ct state established,related accept
        iifname "{br}" ip daddr {settings.control_gateway} tcp dport {settings.proxy_port} accept
        iifname "{br}" counter drop comment "lab hosts reach only the package proxy"
        iifname {{ "twb*", "twv*" }} counter drop comment "the machine has no presence in zones"
    }}
    chain forward {{
        type filter hook forward priority filter - 10; policy accept;
        # With br_netfilter loaded, frames bridged inside a zone pass this hook with the zone
        # bridge as both in and out device; the machine has no route into any zone, so this
        # matches only traffic that stays within one zone.
        iifname "twb*" oifname "twb*" accept
        iifname {{ "{br}", "twb*", "twv*" }} counter drop comment "the machine never routes for the lab"
        oifname {{ "{br}", "twb*", "twv*" }} counter drop
    }}
}}
"""


def ensure_nft(settings: Settings) -> None:
    """(Re)load the lab's nft table atomically: flush and define in one transaction."""
    t = settings.nft_table
    script = f"table inet {t}\ndelete table inet {t}\n" + nft_ruleset(settings)
    run(["nft", "-f", "-"], input_text=script)


def remove_nft(settings: Settings) -> None:
    if ok(["nft", "list", "table", "inet", settings.nft_table]):
        run(["nft", "delete", "table", "inet", settings.nft_table])


def remove_control_bridge(settings: Settings) -> None:
    if any(link.name == settings.control_bridge for link in list_links()):
        run(["ip", "link", "delete", settings.control_bridge])


def ensure_zone_bridge(lab: str, zone: str) -> str:
    name = zone_bridge_name(lab, zone)
    if not any(link.name == name for link in list_links()):
        run(["ip", "link", "add", name, "type", "bridge"])
        run(["ip", "link", "set", "dev", name, "alias", f"{ALIAS_PREFIX} {lab} zone {zone}"])
    _set_sysctl(f"net.ipv6.conf.{name}.disable_ipv6", "1")
    run(["ip", "link", "set", "dev", name, "up"])
    return name


def attach_interface(
    lab: str,
    host: str,
    zone: str,
    bridge: str,
    leader_pid: int,
    inner_name: str,
    address: str,
    isolated: bool,
) -> str:
    """Create a veth pair, put one end on the bridge and the other into the host as `inner_name`."""
    outer, peer = veth_names(lab, host, zone)
    existing = {link.name for link in list_links()}
    for stale in (outer, peer):
        if stale in existing:
            run(["ip", "link", "delete", stale])
    batch = [
        f"link add {outer} type veth peer name {peer}",
        f"link set dev {outer} alias '{ALIAS_PREFIX} {lab} host {host} {zone}'",
        f"link set dev {outer} master {bridge}",
        f"link set dev {peer} netns {leader_pid}",
        f"link set dev {outer} up",
    ]
    if isolated:
        batch.insert(3, f"link set dev {outer} type bridge_slave isolated on")
    run(["ip", "-batch", "-"], input_text="\n".join(batch) + "\n")
    _set_sysctl(f"net.ipv6.conf.{outer}.disable_ipv6", "1")
    inside = [
        f"link set dev {peer} name {inner_name}",
        f"addr add {address} dev {inner_name}",
        f"link set dev {inner_name} up",
        "link set dev lo up",
    ]
    run(["nsenter", "-t", str(leader_pid), "-n", "ip", "-batch", "-"], input_text="\n".join(inside) + "\n")
    return outer


def add_routes(leader_pid: int, routes: list[tuple[str, str]]) -> None:
    if routes:
        batch = "".join(f"route replace {to} via {via}\n" for to, via in routes)
        run(["nsenter", "-t", str(leader_pid), "-n", "ip", "-batch", "-"], input_text=batch)


def delete_links(names: list[str]) -> None:
    existing = {link.name for link in list_links()}
    for name in names:
        if name in existing:
            run(["ip", "link", "delete", name], check=False)
