"""The controller's key, the hosts' keys and the pinned known_hosts, on a temp directory."""

from __future__ import annotations

import shutil
import stat
import threading
from pathlib import Path

import pytest

from lab.settings import Settings
from lab.ssh_keys import (
    authorize_controller,
    ensure_controller_key,
    forget_host_key,
    make_host_key,
    pin_host_key,
    ssh_argv,
)

needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", run=tmp_path / "run")


@needs_ssh_keygen
def test_controller_key_is_made_once_and_known_hosts_exists(settings: Settings) -> None:
    public = ensure_controller_key(settings)
    assert public.startswith("ssh-ed25519 ")
    assert public.rstrip().endswith(" twlab-controller")
    assert stat.S_IMODE(settings.ssh_dir.stat().st_mode) == 0o700
    assert settings.known_hosts.exists()
    assert ensure_controller_key(settings) == public  # the same key, not a new one


def test_pinning_replaces_only_the_line_of_that_address(settings: Settings) -> None:
    settings.ssh_dir.mkdir(parents=True)
    pin_host_key(settings, "10.231.0.10", "ssh-ed25519 AAAAold")
    pin_host_key(settings, "10.231.0.11", "ssh-ed25519 AAAAother")
    pin_host_key(settings, "10.231.0.10", "ssh-ed25519 AAAAnew")
    assert settings.known_hosts.read_text() == "10.231.0.11 ssh-ed25519 AAAAother\n10.231.0.10 ssh-ed25519 AAAAnew\n"
    forget_host_key(settings, "10.231.0.10")
    assert settings.known_hosts.read_text() == "10.231.0.11 ssh-ed25519 AAAAother\n"
    forget_host_key(settings, "10.231.0.99")  # nothing recorded: nothing changes
    assert settings.known_hosts.read_text() == "10.231.0.11 ssh-ed25519 AAAAother\n"


def test_a_reader_never_sees_the_file_without_a_host_another_lab_is_not_changing(settings: Settings) -> None:
    """SSH clients of other labs' runs read known_hosts while the engine rewrites it: each read
    must find the lines the rewrite keeps (a truncate-then-write left it empty for a moment, and
    a host of a running scenario became unreachable)."""
    settings.ssh_dir.mkdir(parents=True)
    pin_host_key(settings, "10.231.0.10", "ssh-ed25519 AAAAsteady")
    stop = threading.Event()
    reads: list[bool] = []

    def read() -> None:
        while not stop.is_set():
            reads.append("10.231.0.10 ssh-ed25519 AAAAsteady" in settings.known_hosts.read_text())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(800):
            pin_host_key(settings, f"10.231.1.{i % 250}", f"ssh-ed25519 AAAA{i}")
            forget_host_key(settings, f"10.231.1.{i % 250}")
    finally:
        stop.set()
        reader.join()
    assert len(reads) > 100  # the reader did read while the file changed
    assert all(reads), f"{reads.count(False)} of {len(reads)} reads missed the steady host"
    assert stat.S_IMODE(settings.known_hosts.stat().st_mode) == 0o644


@needs_ssh_keygen
def test_a_new_host_key_replaces_the_images_and_comes_back_without_comment(tmp_path: Path) -> None:
    (tmp_path / "etc/ssh").mkdir(parents=True)
    (tmp_path / "etc/ssh/ssh_host_ed25519_key").write_text("stale\n")
    first = make_host_key(tmp_path, "rdp1")
    kind, blob = first.split()
    assert kind == "ssh-ed25519"
    assert (tmp_path / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[1] == blob
    assert make_host_key(tmp_path, "rdp1") != first


def test_the_controller_key_is_authorised_for_the_admin_user_only(tmp_path: Path) -> None:
    admin_ssh = tmp_path / "home/admin/.ssh"
    admin_ssh.mkdir(parents=True)
    authorize_controller(tmp_path, "admin", "ssh-ed25519 AAAAkey twlab-controller\n\n")
    auth = admin_ssh / "authorized_keys"
    assert auth.read_text() == "ssh-ed25519 AAAAkey twlab-controller\n"
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600
    assert (auth.stat().st_uid, auth.stat().st_gid) == (admin_ssh.stat().st_uid, admin_ssh.stat().st_gid)


def test_ssh_accepts_only_the_pinned_host_key(settings: Settings) -> None:
    argv = ssh_argv(settings, "10.231.0.10")
    assert argv[0] == "ssh"
    assert argv[-1] == "admin@10.231.0.10"
    assert f"UserKnownHostsFile={settings.known_hosts}" in argv
    assert "StrictHostKeyChecking=yes" in argv
    assert "BatchMode=yes" in argv
