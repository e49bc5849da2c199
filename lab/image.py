"""Debian base images: built once per release with debootstrap, cached, rebuilt when the recipe changes.

An image is a read-only directory under <home>/images/<release>-<recipe hash>/; hosts run on a
writable overlay of it. The recipe (release, mirror, packages, the customisation script, the
proxy address baked into apt's configuration) is hashed: change any of it and the next `up`
builds a new image; unchanged, the cached one is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.commands import run
from lab.errors import LabError
from lab.settings import Settings
from lab.spec import RELEASES
from lab.state import file_lock

MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
# What every lab host has before Ansible touches it: enough for systemd, SSH and Ansible's modules.
PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-apt",
    "openssh-server",
    "iproute2",
    "sudo",
    "ca-certificates",
]
CUSTOMISE_SCRIPT = Path(__file__).with_name("image_customise.sh")
IMAGE_FORMAT = 1
MARKER = ".twlab-image.json"


def recipe(release: str, settings: Settings) -> dict[str, Any]:
    """Everything an image is built from; its hash names the image."""
    return {
        "format": IMAGE_FORMAT,
        "release": release,
        "variant": "minbase",
        "mirror": MIRROR,
        "security_mirror": SECURITY_MIRROR,
        "packages": PACKAGES,
        "script": CUSTOMISE_SCRIPT.read_text(),
        "proxy": settings.proxy_url,
        "admin": settings.admin_user,
    }


def image_id(release: str, settings: Settings) -> str:
    digest = hashlib.sha256(json.dumps(recipe(release, settings), sort_keys=True).encode()).hexdigest()
    return f"{release}-{digest[:12]}"


def image_path(release: str, settings: Settings) -> Path:
    return settings.images / image_id(release, settings)


def is_built(path: Path) -> bool:
    return (path / MARKER).exists()


def ensure_image(release: str, settings: Settings, log: Callable[[str], None]) -> Path:
    """Return the cached image for this release and recipe, building it first if needed.

    Each image has a lock of its own (<images>/.<id>.lock): two labs that want one image build it
    once, and the build (minutes, on a cold package cache) does not hold the machine lock, so
    other labs' `up` and `down` go on meanwhile. The package proxy must be running
    (`Engine.prepare_machine`).
    """
    path = image_path(release, settings)
    if is_built(path):
        return path
    with file_lock(settings.images / f".{path.name}.lock"):
        if is_built(path):  # built by another lab while this one waited
            return path
        tmp = path.with_name(path.name + ".building")
        log(f"building Debian {RELEASES[release]} ({release}) base image {path.name} with debootstrap")
        started = time.monotonic()
        build_image(release, settings, tmp)
        tmp.replace(path)
        log(f"image {path.name} built in {time.monotonic() - started:.0f} s")
        return path


def build_image(release: str, settings: Settings, dest: Path) -> None:
    """debootstrap + customisation into dest (replaced if it exists); used by ensure_image and the benchmark."""
    if dest.exists():
        shutil.rmtree(dest)
    rec = recipe(release, settings)
    # debootstrap fetches through the lab's package proxy, so rebuilding an image is fast.
    env = dict(os.environ, http_proxy=settings.proxy_url, DEBIAN_FRONTEND="noninteractive")
    argv = ["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES), release, str(dest), MIRROR]
    proc = run(argv, env=env, check=False, timeout=1800)
    if proc.returncode != 0:
        log_file = dest / "debootstrap" / "debootstrap.log"
        tail = log_file.read_text(errors="replace").splitlines()[-5:] if log_file.exists() else []
        shutil.rmtree(dest, ignore_errors=True)
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:] + tail
        raise LabError(
            f"debootstrap of {release} failed (exit {proc.returncode}): " + " | ".join(detail),
            f"check that the package proxy at {settings.proxy_url} reaches {MIRROR} "
            "(its log is in /var/log/twlab-apt-cacher-ng)",
        )
    script_env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LC_ALL": "C",
        "RELEASE": release,
        "MIRROR": MIRROR,
        "SECURITY_MIRROR": SECURITY_MIRROR,
        "PROXY": settings.proxy_url,
        "ADMIN": settings.admin_user,
    }
    run(["chroot", str(dest), "/bin/sh", "-c", rec["script"]], env=script_env, timeout=600)
    (dest / MARKER).write_text(
        json.dumps({"id": dest.name, "built": time.time(), "recipe": rec}, indent=2, sort_keys=True)
    )


def list_images(settings: Settings) -> list[Path]:
    if not settings.images.exists():
        return []
    return sorted(p for p in settings.images.iterdir() if is_built(p))


def prune_images(settings: Settings, in_use: set[str]) -> list[str]:
    """Delete images that are neither the current one of a release nor under a running host."""
    current = {image_id(r, settings) for r in RELEASES}
    removed: list[str] = []
    if not settings.images.exists():
        return removed
    for p in sorted(settings.images.iterdir()):
        if p.name in current or p.name in in_use:
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p.name)
    return removed
