"""Bringing a lab up to its spec, tearing it down, reporting what runs.

`up` is idempotent: hosts that already run as specified are left alone, hosts whose spec or
image changed are created again, hosts no longer in the spec are removed. `down` removes
everything a lab made, found by name as well as from the state file, and is safe to run twice.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lab import cgroups, image, machine, network, proxy
from lab.commands import require_tools, run
from lab.errors import LabError
from lab.settings import Settings
from lab.spec import HostSpec, LabSpec
from lab.state import HostState, LabState, all_states, known_labs, lab_dir, load, machine_lock, save

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

Log = Callable[[str], None]


def preflight() -> None:
    """Things that must hold before the engine touches the machine."""
    if os.geteuid() != 0:
        raise LabError(
            "the lab engine must run as root (it creates bridges, mounts and network namespaces)",
            "run it with sudo, e.g. `sudo make lab` or `sudo .venv/bin/python -m lab up`",
        )
    require_tools(REQUIRED_TOOLS)
    if "overlay" not in Path("/proc/filesystems").read_text():
        run(["modprobe", "overlay"], check=False)
        if "overlay" not in Path("/proc/filesystems").read_text():
            raise LabError("the kernel has no overlayfs", "load it with `modprobe overlay`")
    _raise_inotify_limits()
    _warn_about_br_netfilter()


# Every host's systemd holds inotify instances, all under root's per-user limit (128 by default
# on Debian): a dozen hosts exhaust it and the next one fails with "Too many open files".
INOTIFY_LIMITS = {"fs/inotify/max_user_instances": 8192, "fs/inotify/max_user_watches": 524288}


def _raise_inotify_limits() -> None:
    """Raise the machine's inotify limits when they are lower than a lab needs (never lower them)."""
    for key, wanted in INOTIFY_LIMITS.items():
        path = Path("/proc/sys") / key
        try:
            if int(path.read_text()) < wanted:
                path.write_text(str(wanted))
        except (OSError, ValueError) as exc:
            raise LabError(
                f"cannot raise {key.replace('/', '.')} to {wanted}: {exc}",
                f"set it yourself: sysctl -w {key.replace('/', '.')}={wanted}",
            ) from exc


def _warn_about_br_netfilter() -> None:
    """br_netfilter (loaded by Docker, for one) sends bridged frames through iptables, whose
    FORWARD policy may then drop traffic between hosts of one zone. Say so when that is the case."""
    nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if not nf.exists() or nf.read_text().strip() != "1" or shutil.which("iptables") is None:
        return
    rules = run(["iptables", "-S", "FORWARD"], check=False).stdout
    if "-P FORWARD DROP" in rules:
        print(
            "lab: warning: br_netfilter is active and iptables drops forwarded traffic by default, so "
            "hosts in one zone may not reach each other; allow it with "
            "`iptables -I FORWARD -i 'twb+' -o 'twb+' -j ACCEPT` (Docker: use the DOCKER-USER chain)",
            file=sys.stderr,
        )


def ensure_ssh_key(settings: Settings) -> str:
    settings.ssh_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not settings.ssh_key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "twlab-controller", "-f", str(settings.ssh_key)])
    settings.known_hosts.touch(mode=0o644)
    return settings.ssh_key.with_suffix(".pub").read_text()


def _known_hosts_set(settings: Settings, address: str, key: str | None) -> None:
    lines = (
        [line for line in settings.known_hosts.read_text().splitlines() if line.strip() and line.split()[0] != address]
        if settings.known_hosts.exists()
        else []
    )
    if key:
        lines.append(f"{address} {key}")
    settings.known_hosts.write_text("".join(line + "\n" for line in lines))


class Engine:
    def __init__(self, settings: Settings, log: Log = print) -> None:
        self.settings = settings
        self.log = log

    # ----------------------------------------------------------------- up
    def up(self, spec: LabSpec, timeout: float = 120) -> LabState:
        preflight()
        with machine_lock(self.settings):
            return self._up_locked(spec, timeout)

    def _machine_ready(self) -> str:
        s = self.settings
        pubkey = ensure_ssh_key(s)
        if not any(link.name == s.control_bridge for link in network.list_links()):
            network.check_address_plan(s)
        network.ensure_control_bridge(s)
        network.ensure_nft(s)
        proxy.ensure_running(s)
        return pubkey

    def _allocate_control(self, spec: LabSpec, old: LabState | None) -> dict[str, str]:
        """A control address per host: the spec's, else the one it had, else a free one from the pool."""
        s = self.settings
        taken: set[str] = set()
        for st in all_states(s):
            if st.name != spec.name:
                taken.update(h.control_address for h in st.hosts.values())
        result: dict[str, str] = {}
        for h in spec.hosts.values():
            if h.control_address is not None:
                addr = str(h.control_address)
                if addr in taken:
                    owner = next(
                        st.name for st in all_states(s) for x in st.hosts.values() if x.control_address == addr
                    )
                    raise LabError(
                        f"address clash: control address {addr} of host {h.name} is used by lab {owner}",
                        f"take lab {owner} down first (`python -m lab down --lab {owner}`) or pick another address",
                    )
                result[h.name] = addr
        used = taken | set(result.values())
        for h in spec.hosts.values():
            if h.name in result:
                continue
            previous = old.hosts[h.name].control_address if old and h.name in old.hosts else ""
            if previous and previous not in used:
                result[h.name] = previous
            else:
                for cand in s.control_pool.hosts():
                    if str(cand) not in used:
                        result[h.name] = str(cand)
                        break
                else:
                    raise LabError(f"no free control address left in {s.control_pool}", "take unused labs down")
            used.add(result[h.name])
        return result

    def _up_locked(self, spec: LabSpec, timeout: float) -> LabState:
        s = self.settings
        started = time.monotonic()
        pubkey = self._machine_ready()
        images = {r: image.ensure_image(r, s, self.log) for r in spec.releases()}
        old = load(s, spec.name)
        controls = self._allocate_control(spec, old)
        state = LabState(name=spec.name)
        state.zones = {
            z.name: {"subnet": str(z.subnet), "bridge": network.zone_bridge_name(spec.name, z.name)}
            for z in spec.zones.values()
        }

        # Keep hosts that run as specified; remove the rest of the old lab.
        keep: dict[str, HostState] = {}
        if old:
            for name, hs in old.hosts.items():
                want = spec.hosts.get(name)
                paths = machine.host_paths(s, spec.name, name)
                if (
                    want is not None
                    and hs.fingerprint == self._fingerprint(want, controls[name])
                    and hs.image == images[want.release].name
                    and machine.alive(hs.nspawn_pid, paths.root)
                    and machine.alive_pid(hs.leader_pid)
                ):
                    keep[name] = hs
                else:
                    reason = "no longer in the inventory" if want is None else "changed or not running"
                    self.log(f"removing host {name} ({reason})")
                    self._remove_host(spec.name, hs.name, hs)
        # Orphans of a crashed run: processes or files of hosts the state does not list.
        self._remove_orphans(spec.name, keep)

        for zone in spec.zones.values():
            network.ensure_zone_bridge(spec.name, zone.name)
        wanted_bridges = {network.zone_bridge_name(spec.name, z) for z in spec.zones}
        stale = [
            link.name
            for link in network.lab_links(spec.name)
            if link.kind == "bridge" and link.name not in wanted_bridges
        ]
        network.delete_links(stale)

        state.hosts.update(keep)
        new_hosts = [h for name, h in spec.hosts.items() if name not in keep]
        for h in new_hosts:
            t0 = time.monotonic()
            hs = self._create_host(spec, h, images[h.release], controls[h.name], pubkey)
            hs.created = t0
            state.hosts[h.name] = hs
            save(s, state)

        def wait(hs: HostState) -> None:
            machine.wait_ready(s, hs.name, hs.nspawn_pid, hs.leader_pid, hs.control_address, timeout)
            hs.boot_seconds = round(time.monotonic() - hs.created, 2)

        if new_hosts:
            with ThreadPoolExecutor(max_workers=min(8, len(new_hosts))) as pool:
                list(pool.map(wait, [state.hosts[h.name] for h in new_hosts]))
        save(s, state)
        self.log(
            f"lab {spec.name}: {len(new_hosts)} host(s) created, {len(keep)} already running "
            f"({time.monotonic() - started:.1f} s)"
        )
        return state

    @staticmethod
    def _fingerprint(h: HostSpec, control: str) -> dict[str, object]:
        fp = h.fingerprint()
        fp["control_address"] = control
        return fp

    def _create_host(self, spec: LabSpec, h: HostSpec, img: Path, control: str, pubkey: str) -> HostState:
        s = self.settings
        paths = machine.host_paths(s, spec.name, h.name)
        if paths.base.exists():
            machine.remove_files(paths)
        machine.mount_overlay(paths, img)
        host_key = machine.personalise(paths, h.name, s, pubkey)
        _known_hosts_set(s, control, host_key)
        nspawn_pid = machine.start(paths, spec.name, h.name)
        hs = HostState(
            name=h.name,
            release=h.release,
            image=img.name,
            control_address=control,
            interfaces={z: str(a) for z, a in h.interfaces.items()},
            groups=list(h.groups),
            fingerprint=self._fingerprint(h, control),
            nspawn_pid=nspawn_pid,
        )
        leader = machine.find_leader(nspawn_pid)
        hs.leader_pid = leader
        ctl = f"{control}/{s.control_network.prefixlen}"
        hs.links.append(
            network.attach_interface(spec.name, h.name, "ctl0", s.control_bridge, leader, "ctl0", ctl, isolated=True)
        )
        for zone, addr in h.interfaces.items():
            bridge = network.zone_bridge_name(spec.name, zone)
            hs.links.append(
                network.attach_interface(spec.name, h.name, zone, bridge, leader, zone, str(addr), isolated=False)
            )
        network.add_routes(leader, [(str(r.to), str(r.via)) for r in h.routes])
        return hs

    def _remove_host(self, lab: str, name: str, hs: HostState | None) -> None:
        s = self.settings
        paths = machine.host_paths(s, lab, name)
        if hs is not None:
            nspawn_pid = hs.nspawn_pid if machine.alive(hs.nspawn_pid, paths.root) else None
            # the host's init may outlive a systemd-nspawn that was killed
            own_init = machine.leader_alive(hs.leader_pid, machine.machine_name(lab, name))
            leader = hs.leader_pid if nspawn_pid or own_init else None
            machine.stop(nspawn_pid, leader)
            network.delete_links(hs.links)
            _known_hosts_set(s, hs.control_address, None)
        orphan = machine.nspawn_pids_under(paths.base).get(paths.root)
        if orphan:
            machine.stop(orphan, _leader_or_none(orphan))
        machine.remove_files(paths)
        self._remove_cgroups([machine.machine_name(lab, name)])

    def _remove_cgroups(self, names: list[str]) -> None:
        for name in names:
            left = cgroups.remove(name)
            if left:
                self.log(f"warning: cgroups still busy, not removed: {', '.join(left)}")

    def _remove_orphans(self, lab: str, keep: dict[str, HostState]) -> None:
        s = self.settings
        hosts_dir = lab_dir(s, lab) / "hosts"
        for root, pid in machine.nspawn_pids_under(hosts_dir).items():
            if root.parent.name not in keep:
                self.log(f"stopping orphaned host {root.parent.name} (pid {pid})")
                machine.stop(pid, _leader_or_none(pid))
        for mount_point in _mounts_under(hosts_dir):
            if mount_point.parent.name not in keep:
                run(["umount", "--lazy", str(mount_point)], check=False)
        if hosts_dir.exists():
            for d in hosts_dir.iterdir():
                if d.name not in keep:
                    shutil.rmtree(d, ignore_errors=True)
        keep_cgroups = {machine.machine_name(lab, name) for name in keep}
        prefix = machine.machine_name(lab, "")
        self._remove_cgroups([c for c in cgroups.names() if c.startswith(prefix) and c not in keep_cgroups])
        keep_links = {link for hs in keep.values() for link in hs.links}
        network.delete_links(
            [link.name for link in network.lab_links(lab) if link.kind == "veth" and link.name not in keep_links]
        )

    # --------------------------------------------------------------- down
    def down(self, lab: str) -> None:
        preflight()
        with machine_lock(self.settings):
            self._down_locked(lab)
            self._release_machine_if_idle()

    def down_all(self) -> None:
        preflight()
        with machine_lock(self.settings):
            labs = set(known_labs(self.settings))
            for link in network.lab_links(None):
                parts = link.alias.split()
                if len(parts) > 1:
                    labs.add(parts[1])
            for lab in sorted(labs):
                self._down_locked(lab)
            if not known_labs(self.settings):
                # host cgroups no lab claims any more (an up or down that was killed half way)
                self._remove_cgroups(cgroups.names())
            self._release_machine_if_idle()

    def _down_locked(self, lab: str) -> None:
        s = self.settings
        st = load(s, lab)
        if st:
            for hs in st.hosts.values():
                self._remove_host(lab, hs.name, hs)
        self._remove_orphans(lab, {})
        for mount_point in _mounts_under(lab_dir(s, lab)):
            run(["umount", "--lazy", str(mount_point)], check=False)
        network.delete_links([link.name for link in network.lab_links(lab)])
        shutil.rmtree(lab_dir(s, lab), ignore_errors=True)
        self.log(f"lab {lab}: down")

    def _release_machine_if_idle(self) -> None:
        """With no lab left, remove the control bridge, the nft table and the proxy process."""
        s = self.settings
        if known_labs(s):
            return
        proxy.stop(s)
        network.remove_nft(s)
        network.remove_control_bridge(s)
        cgroups.remove_parent()

    # ------------------------------------------------------------- status
    def status(self) -> list[LabState]:
        states = all_states(self.settings)
        for st in states:
            for hs in st.hosts.values():
                paths = machine.host_paths(self.settings, st.name, hs.name)
                if not machine.alive(hs.nspawn_pid, paths.root):
                    hs.nspawn_pid = 0
        return states


def _leader_or_none(nspawn_pid: int) -> int | None:
    try:
        return machine.find_leader(nspawn_pid, timeout=0.5)
    except LabError:
        return None


def _mounts_under(directory: Path) -> list[Path]:
    prefix = str(directory) + "/"
    found = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            point = line.split()[4]
            if point.startswith(prefix):
                found.append(Path(point))
    # Deepest first, so nested mounts come off before their parents.
    return sorted(found, key=lambda p: len(p.parts), reverse=True)
