"""What a lab is made of: zones (bridges with a subnet) and hosts (release, interfaces, groups).

A spec comes from the site inventory (`lab.inventory`) or from a Molecule scenario (a JSON
document of the same shape). `parse_spec` checks everything before anything on the machine is
touched, and every error names the field that is wrong.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lab.addresses import first_free_zone_address
from lab.errors import LabError
from lab.settings import Settings

# Release code names the engine builds images for, and the names users may give them.
RELEASES: dict[str, str] = {"trixie": "13", "bookworm": "12"}
RELEASE_ALIASES: dict[str, str] = {
    "trixie": "trixie",
    "debian13": "trixie",
    "13": "trixie",
    "bookworm": "bookworm",
    "debian12": "bookworm",
    "12": "bookworm",
}
DEFAULT_RELEASE = "trixie"

LAB_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
ZONE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,14}$")
HOST_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
RESERVED_INTERFACES = {"lo", "ctl0"}


@dataclass(frozen=True)
class Zone:
    name: str
    subnet: ipaddress.IPv4Network


@dataclass(frozen=True)
class Route:
    to: ipaddress.IPv4Network
    via: ipaddress.IPv4Address


@dataclass(frozen=True)
class HostSpec:
    name: str
    release: str
    # zone name -> address with the zone's prefix length; the interface inside is named after the zone
    interfaces: dict[str, ipaddress.IPv4Interface]
    control_address: ipaddress.IPv4Address | None
    groups: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()

    def fingerprint(self) -> dict[str, Any]:
        """The parts that, when changed, require the host to be created again."""
        return {
            "release": self.release,
            "interfaces": {z: str(a) for z, a in sorted(self.interfaces.items())},
            "control_address": str(self.control_address),
            "routes": [[str(r.to), str(r.via)] for r in self.routes],
        }


@dataclass(frozen=True)
class LabSpec:
    name: str
    zones: dict[str, Zone]
    hosts: dict[str, HostSpec] = field(default_factory=dict)

    def releases(self) -> list[str]:
        return sorted({h.release for h in self.hosts.values()})


def _fail(where: str, problem: str, hint: str = "") -> LabError:
    return LabError(f"{where}: {problem}", hint)


def normalise_release(value: object, where: str) -> str:
    release = RELEASE_ALIASES.get(str(value).strip().lower())
    if release is None:
        allowed = ", ".join(sorted(RELEASE_ALIASES))
        raise _fail(where, f"unknown Debian release {value!r}", f"use one of: {allowed}")
    return release


def _network(value: object, where: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError as exc:
        raise _fail(where, f"{value!r} is not an IPv4 network in CIDR form ({exc})") from exc


def _address(value: object, where: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(str(value).split("/")[0])
    except ValueError as exc:
        raise _fail(where, f"{value!r} is not an IPv4 address") from exc


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(where, f"must be a mapping, got {type(value).__name__}")
    return value


def parse_spec(data: Mapping[str, Any], settings: Settings) -> LabSpec:
    """Build and check a LabSpec; addresses left empty are filled in deterministically."""
    name = str(data.get("name", ""))
    if not LAB_NAME.match(name):
        raise _fail("lab name", f"{name!r} is not valid", "use 1-40 of a-z, 0-9 and '-', starting with a letter")

    zones: dict[str, Zone] = {}
    for zname, zdata in _mapping(data.get("zones"), "zones").items():
        where = f"zones.{zname}"
        if not ZONE_NAME.match(str(zname)) or zname in RESERVED_INTERFACES:
            raise _fail(where, "zone names are 1-15 of a-z, 0-9 and '_', starting with a letter (not lo or ctl0)")
        subnet = _network(_mapping(zdata, where).get("subnet"), f"{where}.subnet")
        if subnet.prefixlen > 29:
            raise _fail(f"{where}.subnet", f"{subnet} is too small", "use a /29 or larger")
        if subnet.overlaps(settings.control_network):
            raise _fail(
                f"{where}.subnet",
                f"{subnet} overlaps the lab control network {settings.control_network}",
                "pick another range inside 10.231.0.0/16",
            )
        for other in zones.values():
            if subnet.overlaps(other.subnet):
                raise _fail(f"{where}.subnet", f"{subnet} overlaps zone {other.name} ({other.subnet})")
        zones[zname] = Zone(zname, subnet)

    hosts: dict[str, HostSpec] = {}
    used: dict[ipaddress.IPv4Address, str] = {}
    used_control: dict[ipaddress.IPv4Address, str] = {}
    pending_auto: list[tuple[str, str]] = []  # (host, zone) pairs that want an address assigned
    raw_hosts = _mapping(data.get("hosts"), "hosts")
    for hname, hdata_raw in raw_hosts.items():
        where = f"hosts.{hname}"
        if not HOST_NAME.match(str(hname)):
            raise _fail(where, "host names are 1-63 of a-z, 0-9 and '-', starting with a letter")
        hdata = _mapping(hdata_raw, where)
        release = normalise_release(hdata.get("release", DEFAULT_RELEASE), f"{where}.release")

        interfaces: dict[str, ipaddress.IPv4Interface] = {}
        for zname, addr in _mapping(hdata.get("interfaces"), f"{where}.interfaces").items():
            iwhere = f"{where}.interfaces.{zname}"
            if zname not in zones:
                known = ", ".join(sorted(zones)) or "(none defined)"
                raise _fail(iwhere, f"unknown zone {zname!r}", f"zones of this lab: {known}")
            if addr in (None, "", "auto"):
                pending_auto.append((str(hname), str(zname)))
                continue
            ip = _address(addr, iwhere)
            subnet = zones[zname].subnet
            if ip not in subnet or ip in (subnet.network_address, subnet.broadcast_address):
                raise _fail(iwhere, f"{ip} is not a usable host address of zone {zname} ({subnet})")
            if ip in used:
                raise _fail(
                    iwhere, f"address {ip} is already used by {used[ip]}", "give every interface its own address"
                )
            used[ip] = f"{hname} ({zname})"
            interfaces[str(zname)] = ipaddress.IPv4Interface(f"{ip}/{subnet.prefixlen}")

        control: ipaddress.IPv4Address | None = None
        if hdata.get("control_address") not in (None, "", "auto"):
            control = _address(hdata["control_address"], f"{where}.control_address")
            net = settings.control_network
            if control not in net or control in (net.network_address, net.broadcast_address, settings.control_gateway):
                raise _fail(
                    f"{where}.control_address",
                    f"{control} is not usable",
                    f"use an address of {net} other than {settings.control_gateway}",
                )
            if control in used_control:
                raise _fail(f"{where}.control_address", f"{control} is already used by {used_control[control]}")
            used_control[control] = str(hname)

        routes: list[Route] = []
        raw_routes = hdata.get("routes") or []
        if not isinstance(raw_routes, list):
            raise _fail(f"{where}.routes", "must be a list of {to: CIDR, via: address}")
        for i, r in enumerate(raw_routes):
            rwhere = f"{where}.routes[{i}]"
            rmap = _mapping(r, rwhere)
            via = _address(rmap.get("via"), f"{rwhere}.via")
            if not any(via in zones[z].subnet for z in _mapping(hdata.get("interfaces"), where)):
                raise _fail(f"{rwhere}.via", f"{via} is not in a zone this host is attached to")
            routes.append(Route(_network(rmap.get("to"), f"{rwhere}.to"), via))

        groups = hdata.get("groups") or []
        if not isinstance(groups, list | tuple):
            raise _fail(f"{where}.groups", "must be a list of group names")
        hosts[str(hname)] = HostSpec(
            name=str(hname),
            release=release,
            interfaces=interfaces,
            control_address=control,
            groups=tuple(str(g) for g in groups),
            routes=tuple(routes),
        )

    # Fill in addresses the spec left open: the lowest free address from .10 upwards.
    for hname, zname in pending_auto:
        subnet = zones[zname].subnet
        candidate = first_free_zone_address(subnet, used)
        if candidate is None:
            raise _fail(f"zones.{zname}", f"no free address left in {subnet}")
        used[candidate] = f"{hname} ({zname})"
        hosts[hname].interfaces[zname] = ipaddress.IPv4Interface(f"{candidate}/{subnet.prefixlen}")

    return LabSpec(name=name, zones=zones, hosts=hosts)
