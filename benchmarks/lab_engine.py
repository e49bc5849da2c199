"""Benchmark of the lab engine (not a test): image build, create-to-SSH per host, whole site up.

    sudo .venv/bin/python benchmarks/lab_engine.py [--runs 7] [--release trixie] [--skip-image]

Prints medians and writes artifacts/bench-lab.json. Runs beside a lab that is already up: it
uses its own lab names and control addresses from the engine's pool.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab import image
from lab.engine import Engine
from lab.inventory import load_inventory, spec_from_inventory
from lab.preflight import check_machine
from lab.settings import load
from lab.spec import normalise_release, parse_spec
from lab.state import machine_lock

ROOT = Path(__file__).resolve().parents[1]


def quiet(_: str) -> None:
    pass


def bench_image(release: str) -> float:
    """Seconds for debootstrap + customisation of one image, package proxy warm (as on a rebuild)."""
    settings = load()
    engine = Engine(settings, quiet)
    with machine_lock(settings):
        engine.prepare_machine()
        image.ensure_image(release, settings, quiet)  # warms the proxy cache on a first run
        with tempfile.TemporaryDirectory(dir=settings.home) as tmp:
            started = time.monotonic()
            image.build_image(release, settings, Path(tmp) / "bench-image")
            return time.monotonic() - started


def bench_create_to_ssh(release: str, runs: int) -> list[float]:
    """Seconds from creating one host (overlay, boot, network) until SSH answers, cached image."""
    settings = load()
    engine = Engine(settings, quiet)
    doc = {"name": "bench-one", "zones": {"desktop": {"subnet": "10.231.33.0/24"}}}
    doc["hosts"] = {"b1": {"release": release, "interfaces": {"desktop": "auto"}}}
    spec = parse_spec(doc, settings)
    engine.up(spec)  # image and machine ready; not measured
    engine.down("bench-one")
    samples = []
    for _ in range(runs):
        state = engine.up(spec)
        samples.append(state.hosts["b1"].boot_seconds)
        engine.down("bench-one")
    return samples


def bench_site(runs: int) -> tuple[int, list[float]]:
    """Seconds for `up` of the whole lab site (every host of inventories/lab) from nothing."""
    settings = load()
    engine = Engine(settings, quiet)
    doc = spec_from_inventory(load_inventory(ROOT / "inventories" / "lab"))
    doc["name"] = "bench-site"
    for host in doc["hosts"].values():
        host["control_address"] = None  # from the pool, so it runs beside the real site
    spec = parse_spec(doc, settings)
    samples = []
    for _ in range(runs):
        started = time.monotonic()
        engine.up(spec)
        samples.append(time.monotonic() - started)
        engine.down("bench-site")
    return len(spec.hosts), samples


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--release", default="trixie")
    p.add_argument("--skip-image", action="store_true", help="do not time an image build")
    args = p.parse_args()
    check_machine()
    release = normalise_release(args.release, "--release")
    command = "sudo .venv/bin/python benchmarks/lab_engine.py " + shlex.join(sys.argv[1:])
    result: dict[str, Any] = {"command": command.strip(), "release": release, "runs": args.runs}
    result["machine"] = {"cpus": os.cpu_count(), "kernel": os.uname().release}

    if not args.skip_image:
        result["image_build_seconds"] = round(bench_image(release), 1)
    create = bench_create_to_ssh(release, args.runs)
    result["create_to_ssh_seconds"] = {"median": round(statistics.median(create), 2), "samples": create}
    hosts, site = bench_site(max(3, args.runs // 2))
    result["site_up_seconds"] = {"hosts": hosts, "median": round(statistics.median(site), 2), "samples": site}

    print(f"command: {result['command']}")
    if "image_build_seconds" in result:
        print(f"base image build ({release}, package proxy warm): {result['image_build_seconds']} s")
    print(f"create-to-SSH, one host, cached image: median {result['create_to_ssh_seconds']['median']} s of {args.runs}")
    print(f"whole lab site up ({hosts} hosts): median {result['site_up_seconds']['median']} s of {len(site)}")
    out = ROOT / "artifacts" / "bench-lab.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"written: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
