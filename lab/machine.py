"""One lab host: overlay root, systemd-nspawn boot, readiness, clean stop.

A host's files live under <home>/labs/<lab>/hosts/<host>/: `upper` and `work` (the writable
overlay layer), `root` (the mounted overlay the host boots from) and `console.log`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lab import cgroups
from lab.commands import run
from lab.errors import LabError
from lab.settings import Settings

READY_STATES = {"running", "degraded"}


@dataclass(frozen=True)
class HostPaths:
    base: Path

    @property
    def upper(self) -> Path:
        return self.base / "upper"

    @property
    def work(self) -> Path:
        return self.base / "work"

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def console(self) -> Path:
        return self.base / "console.log"


def host_paths(settings: Settings, lab: str, host: str) -> HostPaths:
    return HostPaths(settings.labs / lab / "hosts" / host)


def is_mounted(path: Path) -> bool:
    target = str(path.resolve()) if path.exists() else str(path)
    with open("/proc/self/mountinfo") as fh:
        return any(line.split()[4] == target for line in fh)


def mount_overlay(paths: HostPaths, image: Path) -> None:
    for d in (paths.upper, paths.work, paths.root):
        d.mkdir(parents=True, exist_ok=True)
    if not is_mounted(paths.root):
        opts = f"lowerdir={image},upperdir={paths.upper},workdir={paths.work}"
        run(["mount", "-t", "overlay", f"twlab-{paths.base.name}", "-o", opts, str(paths.root)])


def unmount(paths: HostPaths) -> None:
    for _ in range(5):
        if not is_mounted(paths.root):
            return
        if run(["umount", str(paths.root)], check=False).returncode != 0:
            time.sleep(0.3)
    if is_mounted(paths.root):
        run(["umount", "--lazy", str(paths.root)], check=False)


def personalise(paths: HostPaths, hostname: str, settings: Settings, public_key: str) -> str:
    """Write the host's identity into its overlay; return its SSH host public key."""
    root = paths.root
    (root / "etc/hostname").write_text(hostname + "\n")
    hosts = root / "etc/hosts"
    hosts.write_text(f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    (root / "etc/machine-id").write_text(secrets.token_hex(16) + "\n")
    key = root / "etc/ssh/ssh_host_ed25519_key"
    for f in (key, key.with_suffix(".pub")):
        f.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{hostname}", "-f", str(key)])
    admin_ssh = root / "home" / settings.admin_user / ".ssh"
    auth = admin_ssh / "authorized_keys"
    auth.write_text(public_key.strip() + "\n")
    st = admin_ssh.stat()
    os.chown(auth, st.st_uid, st.st_gid)
    auth.chmod(0o600)
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    return f"{kind} {blob}"


def machine_name(lab: str, hostname: str) -> str:
    """The name systemd knows the host by: unique per lab, since hosts of two labs may share a hostname."""
    return f"twlab-{lab}-{hostname}"[:64]


def nspawn_argv(paths: HostPaths, lab: str, hostname: str) -> list[str]:
    argv = [
        "systemd-nspawn",
        "--quiet",
        "--boot",
        f"--directory={paths.root}",
        f"--machine={machine_name(lab, hostname)}",
        f"--hostname={hostname}",
        "--private-network",
        "--register=no",
        "--console=passive",
        "--link-journal=no",
        "--resolv-conf=off",
        "--timezone=off",
    ]
    if not uses_scope_units():
        # PID 1 is not systemd (a container or VM like our CI machines): there is no manager
        # to ask for a scope unit, so the host stays in the caller's cgroup. With systemd as
        # PID 1, nspawn puts each host in a scope unit of its own (named after --machine).
        argv.insert(2, "--keep-unit")
    return argv


def uses_scope_units() -> bool:
    """True when PID 1 is systemd: nspawn then puts each host in a scope unit of its own."""
    return Path("/run/systemd/system").exists()


def nspawn_env() -> dict[str, str]:
    """Give every host the unified cgroup hierarchy (cgroup v2), whatever the machine's layout.

    On a hybrid machine (v1 controllers plus a v2 tree, as our CI machines) nspawn would hand the
    host the hybrid layout too, where the host's systemd cannot place user managers in the
    legacy tree ("Failed to attach ... to compat systemd cgroup"). Debian 13's systemd expects v2.
    """
    return dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")


def start(paths: HostPaths, lab: str, hostname: str) -> int:
    """Start systemd-nspawn in the background, in a cgroup of the host's own; return its PID."""
    own_cgroups = [] if uses_scope_units() else cgroups.prepare(machine_name(lab, hostname))
    with open(paths.console, "ab") as log:
        proc = subprocess.Popen(
            nspawn_argv(paths, lab, hostname),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=nspawn_env(),
            preexec_fn=(lambda: cgroups.enter(own_cgroups)) if own_cgroups else None,
        )
    return proc.pid


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _netns(pid: int) -> str:
    try:
        return str(Path(f"/proc/{pid}/ns/net").readlink())
    except OSError:
        return ""


def _is_namespace_init(pid: int) -> bool:
    """True when pid is PID 1 of its own PID namespace (NSpid ends in 1)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                ids = line.split()[1:]
                return len(ids) > 1 and ids[-1] == "1"
    except OSError:
        pass
    return False


def find_leader(nspawn_pid: int, timeout: float = 15) -> int:
    """The host's PID 1 seen from the machine: the descendant of nspawn that is init of its namespaces.

    nspawn goes through an intermediate child before it starts the host's init; that child is
    already in the new network namespace but exits soon, so it is not the leader.
    """
    mine = _netns(os.getpid())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive_pid(nspawn_pid):
            break
        todo = _children(nspawn_pid)
        while todo:
            pid = todo.pop(0)
            ns = _netns(pid)
            if ns and ns != mine and _is_namespace_init(pid):
                return pid
            todo.extend(_children(pid))
        time.sleep(0.02)
    raise LabError(f"systemd-nspawn (pid {nspawn_pid}) did not start a host")


def leader_alive(pid: int, name: str) -> bool:
    """True when pid is the init of the host with machine name `name` (not a recycled PID): PID 1
    of its namespace, in the host's cgroup (twlab/<name>, or systemd's machine-<name>.scope)."""
    if not (alive_pid(pid) and _is_namespace_init(pid)):
        return False
    try:
        cgroup = Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False
    escaped = name.replace("-", "\\x2d")
    return f"/twlab/{name}/" in cgroup or f"machine-{escaped}.scope" in cgroup


def alive(pid: int, root: Path) -> bool:
    """True when pid is a systemd-nspawn running this host's root (not a recycled PID)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].endswith(b"systemd-nspawn") and f"--directory={root}".encode() in cmdline


def nspawn_pids_under(directory: Path) -> dict[Path, int]:
    """Every systemd-nspawn process whose root lies under directory (finds orphans of a crash)."""
    found: dict[Path, int] = {}
    prefix = f"--directory={directory}/".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not args or not args[0].endswith(b"systemd-nspawn"):
            continue
        for a in args:
            if a.startswith(prefix):
                found[Path(a.decode().split("=", 1)[1])] = int(entry.name)
    return found


def system_state(leader: int) -> str:
    proc = run(
        ["nsenter", "-t", str(leader), "-m", "-u", "-i", "-n", "-p", "systemctl", "is-system-running"],
        check=False,
        timeout=10,
    )
    return proc.stdout.strip() or "unknown"


def journal_tail(leader: int, lines: int = 20) -> str:
    proc = run(
        [
            "nsenter",
            "-t",
            str(leader),
            "-m",
            "-u",
            "-i",
            "-n",
            "-p",
            "journalctl",
            "-b",
            "-n",
            str(lines),
            "--no-pager",
        ],
        check=False,
        timeout=10,
    )
    return proc.stdout.strip()


def ssh_argv(settings: Settings, address: str) -> list[str]:
    return [
        "ssh",
        "-i",
        str(settings.ssh_key),
        "-o",
        "BatchMode=yes",
        "-o",
        f"UserKnownHostsFile={settings.known_hosts}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ConnectTimeout=3",
        "-o",
        "LogLevel=ERROR",
        f"{settings.admin_user}@{address}",
    ]


def wait_ready(settings: Settings, hostname: str, nspawn_pid: int, leader: int, address: str, timeout: float) -> None:
    """Wait until systemd in the host reports running (or degraded) and SSH lets the controller in."""
    paths_hint = f"its console log is in {settings.labs}/*/hosts/{hostname}/console.log"
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        if not alive_pid(nspawn_pid):
            raise LabError(f"host {hostname} stopped while booting", paths_hint)
        state = system_state(leader)
        if state in READY_STATES:
            break
        time.sleep(0.2)
    else:
        raise LabError(
            f"host {hostname} did not finish booting in {timeout:.0f} s (systemd says {state!r}); last journal lines:\n"
            + journal_tail(leader),
            paths_hint,
        )
    last_error = ""
    while time.monotonic() < deadline:
        proc = run([*ssh_argv(settings, address), "true"], check=False, timeout=15)
        if proc.returncode == 0:
            return
        last_error = proc.stderr.strip()
        time.sleep(0.2)
    raise LabError(
        f"host {hostname} booted but SSH to {address} did not answer in {timeout:.0f} s ({last_error}); "
        "last journal lines:\n" + journal_tail(leader),
        paths_hint,
    )


def alive_pid(pid: int) -> bool:
    """True for a live process (a zombie awaiting its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop(nspawn_pid: int | None, leader: int | None, timeout: float = 15) -> None:
    """Power the host off through its systemd; kill it if it does not stop in time.

    Killing only systemd-nspawn would leave the host running without it (its init is reparented),
    so a host that does not power off in time is killed through its init: SIGKILL to the PID 1 of
    a PID namespace ends every process in it.
    """
    if leader and alive_pid(leader):
        with contextlib.suppress(ProcessLookupError):
            os.kill(leader, signal.SIGRTMIN + 4)  # systemd: poweroff
    watched = [p for p in (nspawn_pid, leader) if p]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive_pid(p) for p in watched):
        for p in watched:
            _reap(p)
        time.sleep(0.1)
    for pid in (leader, nspawn_pid):  # the host's init first: nspawn then exits by itself
        if pid and alive_pid(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            end = time.monotonic() + 5
            while time.monotonic() < end and alive_pid(pid):
                _reap(pid)
                time.sleep(0.05)
    for p in watched:
        _reap(p)


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def remove_files(paths: HostPaths) -> None:
    unmount(paths)
    if paths.base.exists():
        shutil.rmtree(paths.base, ignore_errors=True)
