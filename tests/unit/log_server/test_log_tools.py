"""The log server's tools (roles/log_server/files): manifests, retention and the disk guard, on a temp dir."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.unit.log_server.tool_files import tool

TODAY = dt.date(2026, 11, 27)

manifest = tool("log_manifest")
retention = tool("log_retention")
guard = tool("log_disk_guard")


def day(back: int) -> str:
    return (TODAY - dt.timedelta(days=back)).isoformat()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "remote"
    for host in ("rdp1", "vpn1"):
        (root / host).mkdir(parents=True)
        for back in (3, 2, 1, 0):
            (root / host / f"{day(back)}.log").write_text(f"{host} {day(back)} session opened\n")
    return root


def run(store: Path, command: str, retention_days: int = 30) -> int:
    argv = [command, "--root", str(store), "--manifest-dir", str(store.parent / "manifests")]
    return int(manifest.main([*argv, "--retention-days", str(retention_days), "--today", TODAY.isoformat()]))


def test_tw09_seal_covers_closed_days_only_and_verifies(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(store, "seal") == 0
    sealed = sorted(p.name for p in (store.parent / "manifests").iterdir())
    assert sealed == [f"{day(b)}.manifest" for b in (3, 2, 1)]  # today stays open
    assert run(store, "verify") == 0
    assert "OK: 3 manifest(s)" in capsys.readouterr().out
    assert run(store, "seal") == 0  # nothing new to seal
    assert len(list((store.parent / "manifests").iterdir())) == 3


def test_tw09_verify_names_a_changed_file(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(store, "seal")
    target = store / "vpn1" / f"{day(2)}.log"
    target.write_text(target.read_text().replace("opened", "closed"))
    assert run(store, "verify") == 1
    assert f"changed: {target}" in capsys.readouterr().out


def test_tw09_verify_detects_an_edited_or_removed_manifest(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(store, "seal")
    middle = store.parent / "manifests" / f"{day(2)}.manifest"
    middle.chmod(0o640)
    middle.write_text(middle.read_text() + "# harmless-looking edit\n")
    assert run(store, "verify") == 1
    assert f"chain broken: manifest {day(2)} changed" in capsys.readouterr().out
    middle.unlink()
    assert run(store, "verify") == 1
    assert "chain broken" in capsys.readouterr().out


def test_tw09_verify_accepts_files_removed_by_retention_only(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(store, "seal")
    (store / "rdp1" / f"{day(3)}.log").unlink()
    assert run(store, "verify", retention_days=30) == 1
    assert "missing:" in capsys.readouterr().out
    assert run(store, "verify", retention_days=2) == 0  # day(3) is past a 2-day retention


def test_tw09_verify_reports_unsealed_closed_days(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(store, "verify") == 1
    out = capsys.readouterr().out
    assert f"not sealed: 2 file(s) of {day(3)}" in out
    assert day(1) not in out  # yesterday may still wait for tonight's seal


def test_tw09_retention_deletes_by_the_day_in_the_name(store: Path) -> None:
    old = store / "rdp1" / "2025-01-01.log"
    old.write_text("old\n")
    (store / "gone").mkdir()
    (store / "gone" / "2025-01-02.log").write_text("old\n")
    (store / "rdp1" / "notes.txt").write_text("not a day file\n")
    assert retention.main(["--root", str(store), "--days", "30"]) == 0
    assert not old.exists()
    assert not (store / "gone").exists()
    assert (store / "rdp1" / "notes.txt").exists()
    assert (store / "rdp1" / f"{day(0)}.log").exists()


def test_tw09_retention_refuses_zero_days(store: Path) -> None:
    with pytest.raises(SystemExit):
        retention.main(["--root", str(store), "--days", "0"])


def test_tw09_disk_guard_alerts_at_the_threshold_and_runs_the_command(tmp_path: Path) -> None:
    out = tmp_path / "alert.txt"
    assert guard.main(["--root", str(tmp_path), "--threshold", "100"]) == 0
    rc = guard.main(["--root", str(tmp_path), "--threshold", "0.001", "--alert-command", f"cat > {out}"])
    assert rc == 1
    assert "CRITICAL: log store" in out.read_text()
