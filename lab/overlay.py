"""A host's files: the writable overlay on its image that it boots from, mounted and removed.

A host's files live under <home>/labs/<lab>/hosts/<host>/: `upper` and `work` (the writable
overlay layer), `root` (the mounted overlay the host boots from) and `console.log`.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from lab.commands import run
from lab.settings import Settings

MOUNTINFO = Path("/proc/self/mountinfo")


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


def _mount_points() -> list[str]:
    with open(MOUNTINFO) as fh:
        return [line.split()[4] for line in fh]


def is_mounted(path: Path) -> bool:
    target = str(path.resolve()) if path.exists() else str(path)
    return target in _mount_points()


def mounts_under(directory: Path) -> list[Path]:
    """Mount points below directory, deepest first, so nested mounts come off before their parents."""
    prefix = str(directory) + "/"
    found = [Path(point) for point in _mount_points() if point.startswith(prefix)]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def unmount_everything_under(directory: Path) -> None:
    """Lazily unmount whatever is mounted below directory (leftovers of a crashed run)."""
    for mount_point in mounts_under(directory):
        run(["umount", "--lazy", str(mount_point)], check=False)


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


def remove_files(paths: HostPaths) -> None:
    unmount(paths)
    if paths.base.exists():
        shutil.rmtree(paths.base, ignore_errors=True)
