"""What makes a host itself, and what makes the engine create it again."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from lab.hosts import fingerprint, personalise
from lab.overlay import HostPaths
from lab.settings import Settings
from lab.spec import parse_spec

SETTINGS = Settings(home=Path("/nonexistent/home"), run=Path("/nonexistent/run"))


def host_root(tmp_path: Path) -> HostPaths:
    paths = HostPaths(tmp_path / "rdp1")
    for d in ("etc/ssh", "home/admin/.ssh"):
        (paths.root / d).mkdir(parents=True)
    (paths.root / "etc/machine-id").write_text("image-machine-id\n")
    return paths


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_personalise_gives_the_host_its_name_machine_id_and_keys(tmp_path: Path) -> None:
    paths = host_root(tmp_path)
    host_key = personalise(paths, "rdp1", SETTINGS, "ssh-ed25519 AAAAcontroller twlab-controller\n")
    root = paths.root
    assert (root / "etc/hostname").read_text() == "rdp1\n"
    assert "127.0.1.1\trdp1\n" in (root / "etc/hosts").read_text()
    machine_id = (root / "etc/machine-id").read_text()
    assert re.fullmatch(r"[0-9a-f]{32}\n", machine_id)
    assert host_key.split()[1] == (root / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[1]
    assert (root / "home/admin/.ssh/authorized_keys").read_text() == "ssh-ed25519 AAAAcontroller twlab-controller\n"
    personalise(paths, "rdp1", SETTINGS, "ssh-ed25519 AAAAcontroller")
    assert (root / "etc/machine-id").read_text() != machine_id  # every creation is a new machine


def test_fingerprint_holds_the_control_address_so_a_move_recreates_the_host() -> None:
    spec = parse_spec({"name": "t1", "zones": {}, "hosts": {"h1": {}}}, SETTINGS)
    h = spec.hosts["h1"]
    assert fingerprint(h, "10.231.8.1")["control_address"] == "10.231.8.1"
    assert fingerprint(h, "10.231.8.1") == fingerprint(h, "10.231.8.1")
    assert fingerprint(h, "10.231.8.1") != fingerprint(h, "10.231.8.2")
