"""One lab host made and unmade: its files, identity, boot and links, and whatever a crash left.

`create_host` goes overlay -> identity (hostname, machine id, SSH keys) -> systemd-nspawn ->
interfaces and routes, and returns what the state file records. `remove_host` and
`remove_orphans` undo all of it, finding processes, mounts, files, cgroups and links by name
as well as from the state, so a lost state file leaves nothing behind.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from lab import cgroups, network, nspawn, overlay, processes, ssh_keys
from lab.commands import run
from lab.overlay import HostPaths
from lab.settings import Settings
from lab.spec import HostSpec
from lab.state import HostState, lab_dir

Log = Callable[[str], None]


def fingerprint(h: HostSpec, control: str) -> dict[str, object]:
    """What the host was made from: when it changes, the host is created again."""
    fp = h.fingerprint()
    fp["control_address"] = control
    return fp


def write_identity(paths: HostPaths, hostname: str) -> None:
    """Hostname, /etc/hosts and a fresh machine id in the host's overlay."""
    root = paths.root
    (root / "etc/hostname").write_text(hostname + "\n")
    hosts = root / "etc/hosts"
    hosts.write_text(f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    (root / "etc/machine-id").write_text(secrets.token_hex(16) + "\n")


def personalise(paths: HostPaths, hostname: str, settings: Settings, public_key: str) -> str:
    """Write the host's identity and SSH keys into its overlay; return its SSH host public key."""
    write_identity(paths, hostname)
    host_key = ssh_keys.make_host_key(paths.root, hostname)
    ssh_keys.authorize_controller(paths.root, settings.admin_user, public_key)
    return host_key


def create_host(settings: Settings, lab: str, h: HostSpec, img: Path, control: str, pubkey: str) -> HostState:
    """Mount, personalise, boot and wire one host; returns its state (the caller waits for it)."""
    s = settings
    paths = overlay.host_paths(s, lab, h.name)
    if paths.base.exists():
        overlay.remove_files(paths)
    overlay.mount_overlay(paths, img)
    host_key = personalise(paths, h.name, s, pubkey)
    ssh_keys.pin_host_key(s, control, host_key)
    nspawn_pid = nspawn.start(paths, lab, h.name)
    hs = HostState(
        name=h.name,
        release=h.release,
        image=img.name,
        control_address=control,
        interfaces={z: str(a) for z, a in h.interfaces.items()},
        groups=list(h.groups),
        fingerprint=fingerprint(h, control),
        nspawn_pid=nspawn_pid,
    )
    leader = processes.find_leader(nspawn_pid)
    hs.leader_pid = leader
    ctl = f"{control}/{s.control_network.prefixlen}"
    hs.links.append(network.attach_interface(lab, h.name, "ctl0", s.control_bridge, leader, "ctl0", ctl, isolated=True))
    for zone, addr in h.interfaces.items():
        bridge = network.zone_bridge_name(lab, zone)
        hs.links.append(network.attach_interface(lab, h.name, zone, bridge, leader, zone, str(addr), isolated=False))
    network.add_routes(leader, [(str(r.to), str(r.via)) for r in h.routes])
    return hs


def runs_as_recorded(settings: Settings, lab: str, hs: HostState) -> bool:
    """True when the host's systemd-nspawn and its init, as the state records them, both still run."""
    paths = overlay.host_paths(settings, lab, hs.name)
    return processes.nspawn_runs_root(hs.nspawn_pid, paths.root) and processes.process_is_alive(hs.leader_pid)


def remove_host(settings: Settings, lab: str, name: str, hs: HostState | None, log: Log) -> None:
    """Stop the host, delete its links, forget its host key, remove its files and cgroups."""
    paths = overlay.host_paths(settings, lab, name)
    if hs is not None:
        nspawn_pid = hs.nspawn_pid if processes.nspawn_runs_root(hs.nspawn_pid, paths.root) else None
        # the host's init may outlive a systemd-nspawn that was killed
        own_init = processes.is_init_of_host(hs.leader_pid, nspawn.machine_name(lab, name))
        leader = hs.leader_pid if nspawn_pid or own_init else None
        nspawn.stop(nspawn_pid, leader)
        network.delete_links(hs.links)
        ssh_keys.forget_host_key(settings, hs.control_address)
    orphan = processes.nspawn_pids_under(paths.base).get(paths.root)
    if orphan:
        nspawn.stop(orphan, processes.leader_if_any(orphan))
    overlay.remove_files(paths)
    remove_cgroups([nspawn.machine_name(lab, name)], log)


def remove_cgroups(names: list[str], log: Log) -> None:
    for name in names:
        left = cgroups.remove(name)
        if left:
            log(f"warning: cgroups still busy, not removed: {', '.join(left)}")


def remove_orphans(settings: Settings, lab: str, keep: dict[str, HostState], log: Log) -> None:
    """Processes, mounts, files, cgroups and veths of the lab's hosts that are not in keep."""
    hosts_dir = lab_dir(settings, lab) / "hosts"
    for root, pid in processes.nspawn_pids_under(hosts_dir).items():
        if root.parent.name not in keep:
            log(f"stopping orphaned host {root.parent.name} (pid {pid})")
            nspawn.stop(pid, processes.leader_if_any(pid))
    for mount_point in overlay.mounts_under(hosts_dir):
        if mount_point.parent.name not in keep:
            run(["umount", "--lazy", str(mount_point)], check=False)
    if hosts_dir.exists():
        for d in hosts_dir.iterdir():
            if d.name not in keep:
                shutil.rmtree(d, ignore_errors=True)
    keep_cgroups = {nspawn.machine_name(lab, name) for name in keep}
    prefix = nspawn.machine_name(lab, "")
    remove_cgroups([c for c in cgroups.names() if c.startswith(prefix) and c not in keep_cgroups], log)
    keep_links = {link for hs in keep.values() for link in hs.links}
    network.delete_links(
        [link.name for link in network.lab_links(lab) if link.kind == "veth" and link.name not in keep_links]
    )
