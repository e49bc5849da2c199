#!/usr/bin/python3
"""Daily hash manifests of the log server's stored files, chained day to day (TW-09).

    log-manifest seal     write a manifest for every closed day not sealed yet (up to yesterday)
    log-manifest verify   check every stored file against its manifest and the chain itself
    log-manifest head     print the newest manifest's day and hash (record it off the host)

A manifest (MANIFEST_DIR/YYYY-MM-DD.manifest) lists the SHA-256 and size of every file
ROOT/<host>/YYYY-MM-DD.log of that day, and the SHA-256 of the previous day's manifest, so
removing or editing a manifest breaks the chain at the next one. `verify` reports a file that
changed, vanished before its retention ran out, or appeared for a day already sealed.

This is evidence, not prevention: root on this host can rewrite files and every manifest after
them. The newest hash is logged when sealing (and so reaches the off-host archive); compare it
with `log-manifest head` to detect a rewritten chain. Settings come from /etc/default/log-server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import re
import sys
import syslog
from dataclasses import dataclass, field
from pathlib import Path

from log_config import read_config

FORMAT = "log-manifest 1"
DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.log$")
MANIFEST_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.manifest$")


@dataclass
class Settings:
    root: Path
    manifest_dir: Path
    retention_days: int
    today: dt.date

    @property
    def retention_cutoff(self) -> dt.date:
        """Files of days before this one may have been removed by retention."""
        return self.today - dt.timedelta(days=self.retention_days)


@dataclass
class Manifest:
    day: dt.date
    path: Path
    previous_day: dt.date | None
    previous_hash: str | None
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # relpath -> (sha256, size)

    @property
    def digest(self) -> str:
        return sha256_file(self.path)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def log(priority: int, message: str) -> None:
    syslog.openlog("log-manifest", syslog.LOG_PID, syslog.LOG_AUTHPRIV)
    syslog.syslog(priority, message)


def day_files(root: Path) -> dict[dt.date, list[Path]]:
    """Every stored file ROOT/<host>/YYYY-MM-DD.log, by day."""
    result: dict[dt.date, list[Path]] = {}
    if not root.is_dir():
        return result
    for host_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        for f in sorted(host_dir.iterdir()):
            m = DAY_FILE.match(f.name)
            if m and f.is_file():
                result.setdefault(dt.date.fromisoformat(m[1]), []).append(f)
    return result


def parse_manifest(path: Path) -> Manifest:
    lines = path.read_text().splitlines()
    if not lines or lines[0] != FORMAT:
        raise ValueError(f"{path.name}: not a manifest (first line must be {FORMAT!r})")
    day: dt.date | None = None
    prev_day: dt.date | None = None
    prev_hash: str | None = None
    files: dict[str, tuple[str, int]] = {}
    for n, line in enumerate(lines[1:], start=2):
        kind, _, rest = line.partition(" ")
        if kind == "day":
            day = dt.date.fromisoformat(rest)
        elif kind == "previous":
            pd, _, ph = rest.partition(" ")
            if pd != "none":
                prev_day, prev_hash = dt.date.fromisoformat(pd), ph
        elif kind == "file":
            digest, size, rel = rest.split(" ", 2)
            files[rel] = (digest, int(size))
        elif kind not in ("sealed", "#"):
            raise ValueError(f"{path.name}:{n}: unknown line {line!r}")
    if day is None:
        raise ValueError(f"{path.name}: no day line")
    return Manifest(day, path, prev_day, prev_hash, files)


def manifests(settings: Settings) -> list[Manifest]:
    found = []
    if settings.manifest_dir.is_dir():
        for p in sorted(settings.manifest_dir.iterdir()):
            if MANIFEST_FILE.match(p.name):
                found.append(parse_manifest(p))
    return sorted(found, key=lambda m: m.day)


def write_manifest(settings: Settings, day: dt.date, previous: Manifest | None, files: list[Path]) -> Manifest:
    lines = [FORMAT, f"day {day.isoformat()}"]
    if previous is None:
        lines.append("previous none")
    else:
        lines.append(f"previous {previous.day.isoformat()} {previous.digest}")
    lines.append(f"sealed {dt.datetime.now(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}")
    for f in sorted(files):
        lines.append(f"file {sha256_file(f)} {f.stat().st_size} {f.relative_to(settings.root)}")
    path = settings.manifest_dir / f"{day.isoformat()}.manifest"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o440)
    tmp.replace(path)
    return parse_manifest(path)


def seal(settings: Settings) -> int:
    """Seal every closed day after the newest manifest (or from the oldest stored file) to yesterday."""
    settings.manifest_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    existing = manifests(settings)
    by_day = day_files(settings.root)
    last_closed = settings.today - dt.timedelta(days=1)
    start = existing[-1].day + dt.timedelta(days=1) if existing else min(by_day, default=last_closed)
    previous = existing[-1] if existing else None
    day = start
    sealed = 0
    while day <= last_closed:
        previous = write_manifest(settings, day, previous, by_day.get(day, []))
        sealed += 1
        day += dt.timedelta(days=1)
    if previous is not None and sealed:
        message = f"sealed {sealed} day(s) up to {previous.day}; chain head sha256={previous.digest}"
        log(syslog.LOG_NOTICE, message)
        print(message)
    else:
        print("nothing to seal")
    return 0


def verify(settings: Settings) -> list[str]:
    """Every problem found, as one line each; empty when the stored logs match their manifests."""
    problems: list[str] = []
    try:
        chain = manifests(settings)
    except ValueError as exc:
        return [f"unreadable manifest: {exc}"]
    by_day = day_files(settings.root)
    for i, m in enumerate(chain):
        if m.path.name != f"{m.day.isoformat()}.manifest":
            problems.append(f"{m.path.name}: says it is the manifest of {m.day}")
        if i == 0:
            if m.previous_day is not None:
                problems.append(
                    f"chain broken: the oldest manifest {m.day} points to {m.previous_day}, which is missing"
                )
        else:
            before = chain[i - 1]
            if m.previous_day != before.day or m.day != before.day + dt.timedelta(days=1):
                problems.append(
                    f"chain broken: manifest {m.day} follows {m.previous_day}, but the one before it is {before.day}"
                )
            elif m.previous_hash != before.digest:
                problems.append(f"chain broken: manifest {before.day} changed after manifest {m.day} was sealed")
        for rel, (digest, size) in sorted(m.files.items()):
            path = settings.root / rel
            if not path.exists():
                if m.day >= settings.retention_cutoff:
                    problems.append(f"missing: {path} (sealed {m.day}, retention has not expired)")
                continue
            if path.stat().st_size != size or sha256_file(path) != digest:
                problems.append(f"changed: {path} (differs from manifest {m.day})")
        listed = {settings.root / rel for rel in m.files}
        for path in by_day.get(m.day, []):
            if path not in listed:
                problems.append(f"unlisted: {path} appeared after day {m.day} was sealed")
    # Closed days after the newest manifest: yesterday may wait for tonight's seal, older ones not.
    newest = chain[-1].day if chain else None
    for day in sorted(by_day):
        if (newest is None or day > newest) and day < settings.today - dt.timedelta(days=1):
            problems.append(f"not sealed: {len(by_day[day])} file(s) of {day} (the seal timer did not run?)")
    return problems


def main(argv: list[str] | None = None) -> int:
    cfg = read_config()
    p = argparse.ArgumentParser(prog="log-manifest", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("command", choices=["seal", "verify", "head"])
    p.add_argument("--root", default=cfg.get("LOG_SERVER_ROOT", "/var/log/remote"))
    p.add_argument("--manifest-dir", default=cfg.get("LOG_SERVER_MANIFEST_DIR", "/var/lib/log-manifest"))
    p.add_argument("--retention-days", type=int, default=int(cfg.get("LOG_SERVER_RETENTION_DAYS", "365")))
    p.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today(), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    settings = Settings(Path(args.root), Path(args.manifest_dir), args.retention_days, args.today)

    if args.command == "seal":
        return seal(settings)
    chain = manifests(settings)
    if args.command == "head":
        if not chain:
            print("no manifest yet")
            return 1
        print(f"{chain[-1].day} sha256={chain[-1].digest}")
        return 0
    problems = verify(settings)
    for line in problems:
        print(line)
    if problems:
        log(syslog.LOG_CRIT, f"verify FAILED: {len(problems)} problem(s), first: {problems[0]}")
        print(f"FAILED: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    files = sum(len(m.files) for m in chain)
    span = f"{chain[0].day} to {chain[-1].day}" if chain else "none sealed yet"
    print(f"OK: {len(chain)} manifest(s) ({span}), {files} file(s) checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
