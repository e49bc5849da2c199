"""SSH keys of the lab: the controller's key pair, each host's host key, and the pinned known_hosts.

The controller (this machine) logs in to every host as the admin user with one ed25519 key
kept in <home>/ssh/id_ed25519. Each host gets a host key of its own when it is created; the
engine records it in <home>/ssh/known_hosts against the host's control address (one line
`<address> <type> <key>` per host) and SSH checks it strictly, so nothing is trusted on first use.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from lab.commands import run
from lab.settings import Settings


def ensure_controller_key(settings: Settings) -> str:
    """Create the controller's key pair on first use; return its public key."""
    settings.ssh_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not settings.ssh_key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "twlab-controller", "-f", str(settings.ssh_key)])
    settings.known_hosts.touch(mode=0o644)
    return settings.ssh_key.with_suffix(".pub").read_text()


# The engine removes a lab's hosts side by side (threads of one process): their read, change and
# rename of the file take turns.
_KNOWN_HOSTS_LOCK = threading.Lock()


def _write_known_host(settings: Settings, address: str, key: str | None) -> None:
    """Replace whatever known_hosts says about address by key (or by nothing).

    The engine holds the machine lock, so writers never race; readers do: the SSH clients of
    other labs' runs read the file whenever they connect. The new content goes to a file beside
    it that then replaces it in one rename, so a reader sees the old file or the new one, never
    a truncated one (which made a host of another lab "unrecognized" and unreachable)."""
    with _KNOWN_HOSTS_LOCK:
        lines = (
            [
                line
                for line in settings.known_hosts.read_text().splitlines()
                if line.strip() and line.split()[0] != address
            ]
            if settings.known_hosts.exists()
            else []
        )
        if key:
            lines.append(f"{address} {key}")
        new = settings.known_hosts.with_name(settings.known_hosts.name + ".new")
        new.write_text("".join(line + "\n" for line in lines))
        new.chmod(0o644)
        new.replace(settings.known_hosts)


def pin_host_key(settings: Settings, address: str, key: str) -> None:
    """Record key as the only one the host at address may present."""
    _write_known_host(settings, address, key)


def forget_host_key(settings: Settings, address: str) -> None:
    _write_known_host(settings, address, None)


def make_host_key(root: Path, hostname: str) -> str:
    """A fresh ed25519 host key in the host's /etc/ssh; returns its public part (`type key`)."""
    key = root / "etc/ssh/ssh_host_ed25519_key"
    for f in (key, key.with_suffix(".pub")):
        f.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{hostname}", "-f", str(key)])
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    return f"{kind} {blob}"


def authorize_controller(root: Path, admin_user: str, public_key: str) -> None:
    """Let the controller's key in as the admin user: authorized_keys owned as the user's .ssh is."""
    admin_ssh = root / "home" / admin_user / ".ssh"
    auth = admin_ssh / "authorized_keys"
    auth.write_text(public_key.strip() + "\n")
    st = admin_ssh.stat()
    os.chown(auth, st.st_uid, st.st_gid)
    auth.chmod(0o600)


def ssh_argv(settings: Settings, address: str) -> list[str]:
    """ssh as the admin user with the controller's key, accepting only the pinned host key."""
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
