"""Bringing a lab up to its spec, tearing it down, reporting what runs.

`up` is idempotent: hosts that already run as specified are left alone, hosts whose spec or
image changed are created again, hosts no longer in the spec are removed. `down` removes
everything a lab made, found by name as well as from the state file, and is safe to run twice.

This module only orchestrates; the steps live in modules of their own: machine checks in
`lab.preflight` (run once per command by the caller, see `lab.cli`), addresses in
`lab.addresses`, one host's making and unmaking in `lab.hosts`, readiness in `lab.readiness`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lab import cgroups, hosts, image, network, overlay, preflight, processes, proxy, readiness, ssh_keys
from lab.addresses import allocate_control_addresses
from lab.settings import Settings
from lab.spec import LabSpec
from lab.state import HostState, LabState, all_states, known_labs, lab_dir, load, machine_lock, save

Log = Callable[[str], None]


class Engine:
    """Labs on this machine. The caller has run `lab.preflight.check_machine()` for this command."""

    def __init__(self, settings: Settings, log: Log = print) -> None:
        self.settings = settings
        self.log = log

    # ----------------------------------------------------------------- up
    def up(self, spec: LabSpec, timeout: float = 120) -> LabState:
        started = time.monotonic()
        # A missing image is built before the machine lock is taken (it has a lock of its own):
        # building one took 200 s on a cold package cache, and while it held the machine lock
        # every other lab's up and down waited (the site tier and the first Molecule runs of the
        # other release, at the start of `make test`).
        if not all(image.is_built(image.image_path(r, self.settings)) for r in spec.releases()):
            with machine_lock(self.settings):
                self.prepare_machine()
            for release in spec.releases():
                image.ensure_image(release, self.settings, self.log)
        with machine_lock(self.settings):
            state, created, kept = self._up_locked(spec)
        # Waiting for the new hosts to boot changes nothing on the machine: other labs' up and
        # down go on meanwhile instead of waiting for this lab's hosts to answer SSH.
        self._wait_until_ready([state.hosts[name] for name in created], timeout)
        save(self.settings, state)
        self.log(
            f"lab {spec.name}: {len(created)} host(s) created, {kept} already running "
            f"({time.monotonic() - started:.1f} s)"
        )
        return state

    def prepare_machine(self) -> str:
        """The controller's key, the control bridge, the nft table and the package proxy, made
        when missing; returns the controller's public key. The caller holds the machine lock."""
        s = self.settings
        pubkey = ssh_keys.ensure_controller_key(s)
        if not any(link.name == s.control_bridge for link in network.list_links()):
            preflight.check_address_plan(s, preflight.ipv4_routes())
        network.ensure_control_bridge(s)
        network.ensure_nft(s)
        proxy.ensure_running(s)
        return pubkey

    def _up_locked(self, spec: LabSpec) -> tuple[LabState, list[str], int]:
        """Create what the spec lacks; the state, the names of the hosts created, how many were kept."""
        s = self.settings
        pubkey = self.prepare_machine()
        images = {r: image.ensure_image(r, s, self.log) for r in spec.releases()}
        old = load(s, spec.name)
        controls = self._control_addresses(spec, old)
        state = LabState(name=spec.name)
        state.zones = {
            z.name: {"subnet": str(z.subnet), "bridge": network.zone_bridge_name(spec.name, z.name)}
            for z in spec.zones.values()
        }
        keep = self._keep_or_remove(spec, old, controls, images)
        # Orphans of a crashed run: processes or files of hosts the state does not list.
        hosts.remove_orphans(s, spec.name, keep, self.log)
        self._wire_zones(spec)

        state.hosts.update(keep)
        new_hosts = [h for name, h in spec.hosts.items() if name not in keep]
        for h in new_hosts:
            t0 = time.monotonic()
            hs = hosts.create_host(s, spec.name, h, images[h.release], controls[h.name], pubkey)
            hs.created = t0
            state.hosts[h.name] = hs
            save(s, state)
        return state, [h.name for h in new_hosts], len(keep)

    def _control_addresses(self, spec: LabSpec, old: LabState | None) -> dict[str, str]:
        """A control address per host: the spec's, else the one it had, else a free one from the pool."""
        held: dict[str, str] = {}
        for st in all_states(self.settings):
            if st.name != spec.name:
                for h in st.hosts.values():
                    held.setdefault(h.control_address, st.name)
        wanted = {
            h.name: str(h.control_address) if h.control_address is not None else None for h in spec.hosts.values()
        }
        previous = {name: hs.control_address for name, hs in old.hosts.items()} if old else {}
        return allocate_control_addresses(wanted, previous, held, self.settings.control_pool)

    def _keep_or_remove(
        self, spec: LabSpec, old: LabState | None, controls: dict[str, str], images: dict[str, Path]
    ) -> dict[str, HostState]:
        """Keep hosts of the last `up` that run as specified; remove the rest of the old lab."""
        keep: dict[str, HostState] = {}
        if not old:
            return keep
        for name, hs in old.hosts.items():
            want = spec.hosts.get(name)
            if (
                want is not None
                and hs.fingerprint == hosts.fingerprint(want, controls[name])
                and hs.image == images[want.release].name
                and hosts.runs_as_recorded(self.settings, spec.name, hs)
            ):
                keep[name] = hs
            else:
                reason = "no longer in the inventory" if want is None else "changed or not running"
                self.log(f"removing host {name} ({reason})")
                hosts.remove_host(self.settings, spec.name, hs.name, hs, self.log)
        return keep

    def _wire_zones(self, spec: LabSpec) -> None:
        """A bridge per zone of the spec; bridges of zones the lab no longer has are deleted."""
        for zone in spec.zones.values():
            network.ensure_zone_bridge(spec.name, zone.name)
        wanted_bridges = {network.zone_bridge_name(spec.name, z) for z in spec.zones}
        stale = [
            link.name
            for link in network.lab_links(spec.name)
            if link.kind == "bridge" and link.name not in wanted_bridges
        ]
        network.delete_links(stale)

    def _wait_until_ready(self, created: list[HostState], timeout: float) -> None:
        """Wait for the new hosts side by side; each records how long it took from creation."""

        def wait(hs: HostState) -> None:
            readiness.wait_ready(self.settings, hs.name, hs.nspawn_pid, hs.leader_pid, hs.control_address, timeout)
            hs.boot_seconds = round(time.monotonic() - hs.created, 2)

        if created:
            with ThreadPoolExecutor(max_workers=min(8, len(created))) as pool:
                list(pool.map(wait, created))

    # --------------------------------------------------------------- down
    def down(self, lab: str) -> None:
        with machine_lock(self.settings):
            self._down_locked(lab)
            self._release_machine_if_idle()

    def down_all(self) -> None:
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
                hosts.remove_cgroups(cgroups.names(), self.log)
            self._release_machine_if_idle()

    def _down_locked(self, lab: str) -> None:
        s = self.settings
        st = load(s, lab)
        if st and st.hosts:
            # Side by side: a host takes up to 15 s to power off and its files a while to go (a
            # desktop's overlay holds a gigabyte of packages); one after the other, the site's
            # eleven hosts held the machine lock for 139 s while every other lab's up and down waited.
            gone = list(st.hosts.values())
            with ThreadPoolExecutor(max_workers=min(8, len(gone))) as pool:
                list(pool.map(lambda hs: hosts.remove_host(s, lab, hs.name, hs, self.log), gone))
        hosts.remove_orphans(s, lab, {}, self.log)
        overlay.unmount_everything_under(lab_dir(s, lab))
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
                paths = overlay.host_paths(self.settings, st.name, hs.name)
                if not processes.nspawn_runs_root(hs.nspawn_pid, paths.root):
                    hs.nspawn_pid = 0
        return states
