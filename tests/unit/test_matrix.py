"""molecule/matrix.py: the dispatcher starts no more runs than allowed, and more once alone."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def matrix() -> ModuleType:
    spec = importlib.util.spec_from_file_location("matrix", ROOT / "molecule" / "matrix.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["matrix"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_capacity_is_jobs_until_the_alone_flag_exists(tmp_path: Path) -> None:
    m = matrix()
    flag = tmp_path / "alone.flag"
    assert m.capacity(2, 3, flag) == 2
    flag.touch()
    assert m.capacity(2, 3, flag) == 3
    assert m.capacity(2, 0, flag) == 2  # no --jobs-when-alone: the flag changes nothing
    assert m.capacity(2, 3, None) == 2
    assert m.capacity(0, 0, None) == 1


def test_dispatch_keeps_to_the_allowed_count_and_returns_results_in_order() -> None:
    m = matrix()
    lock = threading.Lock()
    now = {"running": 0}
    peaks: list[tuple[int, int]] = []  # (allowed at that moment, running)
    limit = {"n": 2}

    def work(item: tuple[str, str]) -> object:
        with lock:
            now["running"] += 1
            peaks.append((limit["n"], now["running"]))
        time.sleep(0.2)
        with lock:
            now["running"] -= 1
        return m.Result(item[0], item[1], True, 0.2, "linear")

    items = [(f"s{i}", "debian13") for i in range(8)]
    timer = threading.Timer(0.3, lambda: limit.update(n=3))
    timer.start()
    results = m.dispatch(items, work, lambda: limit["n"], poll=0.02)
    timer.join()
    assert [(r.scenario, r.distro) for r in results] == items
    assert all(running <= allowed for allowed, running in peaks), peaks
    # positive control: three did run at once after the limit rose
    assert max(running for _, running in peaks) == 3, peaks


def test_failure_excerpt_names_the_unreachable_task_and_its_message() -> None:
    lines = [
        "TASK [Install FreeRDP and Xvfb] ****",
        "ok: [desk1]",
        'fatal: [client1]: UNREACHABLE! => {"changed": false, "msg": "EOF on stream"}',
        "",
        "PLAY RECAP ****",
        "client1 : ok=0 changed=0 unreachable=1 failed=0",
    ]
    excerpt = matrix().failure_excerpt(lines)
    assert excerpt[0] == "TASK [Install FreeRDP and Xvfb] ****"
    assert any("EOF on stream" in line for line in excerpt)
    # Positive control of the absence: a clean log gives nothing.
    assert matrix().failure_excerpt(["TASK [x] ***", "ok: [desk1]", "changed: [desk2]"]) == []


def test_failure_excerpt_is_bounded() -> None:
    lines = ["TASK [t] ***"] + [f"fatal: [h{i}]: FAILED! => {{}}" for i in range(200)]
    excerpt = matrix().failure_excerpt(lines, limit=10)
    assert len(excerpt) == 11 and excerpt[-1].startswith("[... more")
