"""The package proxy: a private apt-cacher-ng instance bound to the control bridge only.

Lab hosts have no route out; apt on every host goes through this proxy, which caches the
packages across runs (so a second run of the test suite downloads almost nothing). It runs as
the `apt-cacher-ng` system user, listens only on the lab's control address, and keeps its cache
under the lab's home, apart from any apt-cacher-ng service the machine may run for itself.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import time
from pathlib import Path

from lab.commands import run
from lab.errors import LabError
from lab.settings import Settings

ACNG = "/usr/sbin/apt-cacher-ng"
ACNG_USER = "apt-cacher-ng"
LOG_DIR = Path("/var/log/twlab-apt-cacher-ng")


def _pid_file(settings: Settings) -> Path:
    return settings.proxy_dir / "apt-cacher-ng.pid"


def running_pid(settings: Settings) -> int | None:
    pid_file = _pid_file(settings)
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"apt-cacher-ng" in cmdline else None


def _port_open(settings: Settings) -> bool:
    try:
        with socket.create_connection((str(settings.control_gateway), settings.proxy_port), timeout=0.5):
            return True
    except OSError:
        return False


def config_text(settings: Settings) -> str:
    """The proxy's own configuration: Debian's archive and security archive, nothing else."""
    return "\n".join(
        [
            "# Written by the lab engine; the machine's /etc/apt-cacher-ng is not used.",
            f"CacheDir: {settings.proxy_cache}",
            f"LogDir: {LOG_DIR}",
            "SupportDir: /usr/lib/apt-cacher-ng",
            f"Port: {settings.proxy_port}",
            f"BindAddress: {settings.control_gateway}",
            f"PidFile: {_pid_file(settings)}",
            f"SocketPath: {settings.proxy_dir / 'socket'}",
            "ForeGround: 0",
            "Remap-debrep: file:deb_mirror*.gz /debian ; http://deb.debian.org/debian/",
            "Remap-secdeb: security.debian.org deb.debian.org/debian-security /debian-security ;"
            " http://deb.debian.org/debian-security/",
            # No CONNECT tunnels: the proxy is for Debian's archive, not a way out of the lab.
            "PassThroughPattern: ^$",
            "ExThreshold: 4",
            "ReportPage: acng-report.html",
            "",
        ]
    )


def ensure_running(settings: Settings) -> None:
    if running_pid(settings) and _port_open(settings):
        return
    if not Path(ACNG).exists():
        raise LabError("apt-cacher-ng is not installed", "apt-get install apt-cacher-ng (or run `make setup`)")
    if _port_open(settings):
        raise LabError(
            f"something else already listens on {settings.control_gateway}:{settings.proxy_port}",
            "stop the machine's own apt-cacher-ng service (systemctl disable --now apt-cacher-ng) "
            "or anything else bound to port 3142 on all addresses",
        )
    try:
        user = pwd.getpwnam(ACNG_USER)
    except KeyError as exc:
        raise LabError(f"system user {ACNG_USER} is missing", "reinstall the apt-cacher-ng package") from exc
    for d in (settings.proxy_cache, settings.proxy_dir, LOG_DIR):
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, user.pw_uid, user.pw_gid)
    conf_dir = settings.proxy_dir / "conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "acng.conf").write_text(config_text(settings))
    argv = [
        "setpriv",
        f"--reuid={user.pw_uid}",
        f"--regid={user.pw_gid}",
        "--init-groups",
        ACNG,
        "-c",
        str(conf_dir),
    ]
    run(argv, timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if running_pid(settings) and _port_open(settings):
            return
        time.sleep(0.2)
    raise LabError(
        "the package proxy did not start",
        f"look at {LOG_DIR}/apt-cacher.err; is port {settings.proxy_port} taken?",
    )


def stop(settings: Settings) -> None:
    pid = running_pid(settings)
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(settings.proxy_dir, ignore_errors=True)
