"""A base image is built once, under a lock of its own, and the build leaves the machine lock free."""

from __future__ import annotations

import fcntl
import threading
import time
from pathlib import Path

import pytest

from lab import image
from lab.settings import Settings
from lab.state import machine_lock


def test_two_labs_wanting_one_image_build_it_once_and_the_build_takes_no_machine_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=tmp_path / "home", run=tmp_path / "run")
    builds: list[str] = []
    building = threading.Event()
    machine_free_during_build: list[bool] = []

    def fake_build(release: str, s: Settings, dest: Path) -> None:
        builds.append(release)
        building.set()
        time.sleep(0.5)
        dest.mkdir(parents=True)
        (dest / image.MARKER).write_text("{}")

    monkeypatch.setattr(image, "build_image", fake_build)
    found: list[Path] = []
    threads = [
        threading.Thread(target=lambda: found.append(image.ensure_image("bookworm", settings, lambda _m: None)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    assert building.wait(5)
    # While the image builds, another lab takes the machine lock at once (Engine.up builds
    # missing images before it takes the machine lock).
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.lock_file, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            machine_free_during_build.append(True)
            fcntl.flock(fh, fcntl.LOCK_UN)
        except BlockingIOError:
            machine_free_during_build.append(False)
    for t in threads:
        t.join(10)
    assert builds == ["bookworm"]  # the second lab waited for the first build and reused it
    assert machine_free_during_build == [True]
    assert found == [image.image_path("bookworm", settings)] * 2
    assert image.is_built(found[0])
    # control: the machine lock itself still excludes a second holder
    with machine_lock(settings), open(settings.lock_file, "w") as fh, pytest.raises(BlockingIOError):
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
