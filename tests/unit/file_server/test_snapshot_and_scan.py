"""The file server's snapshot tool and the parsing half of its malware scan, on this machine.

The snapshot tool (ansible/roles/file_server/files/snapshot.py) runs here as it runs on fs1, with
the real rsync, on folders under pytest's tmp_path: what a snapshot shares with the previous one,
what it leaves out, what expires, and what a restore may and may not touch. The scan's clamscan
runs in the Molecule scenario only (it is not on this machine); here, how its output is read.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.modules import load_file

FILES = Path(__file__).resolve().parents[3] / "ansible" / "roles" / "file_server" / "files"


def load(name: str) -> ModuleType:
    return load_file(FILES / f"{name}.py", f"file_server_{name}")


snapshot = load("snapshot")
scan = load("malware_scan")
NOW = dt.datetime(2026, 12, 2, 2, 0, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _rsync() -> None:
    assert shutil.which("rsync"), "rsync is missing on this machine: `make setup` installs it (APT_PACKAGES)"


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Any]:
    share = tmp_path / "shares" / "somu"
    (share / "2026" / "plans").mkdir(parents=True)
    (share / "2026" / "plans" / "a.txt").write_text("v1\n")
    (share / "budget.txt").write_text("v1\n")
    (share / ".recycle" / "sato.taro").mkdir(parents=True)
    (share / ".recycle" / "sato.taro" / "old.txt").write_text("binned\n")
    return {
        "root": str(tmp_path / "snapshots"),
        "keep_days": 14,
        "exclude": [".recycle"],
        "shares": {"somu": str(share)},
    }


def names(config: dict[str, Any]) -> list[str]:
    return list(snapshot.snapshots(Path(config["root"]), "somu"))


def test_a_snapshot_is_a_copy_that_shares_unchanged_files_with_the_previous_one(site: dict[str, Any]) -> None:
    snapshot.take(site, NOW)
    share = Path(site["shares"]["somu"])
    (share / "budget.txt").write_text("v2\n")  # changed after the first snapshot
    snapshot.take(site, NOW + dt.timedelta(days=1))
    first, second = (Path(site["root"]) / "somu" / name for name in names(site))
    assert first.name == "@GMT-2026.12.02-02.00.00" and second.name == "@GMT-2026.12.03-02.00.00"
    unchanged = [path / "2026" / "plans" / "a.txt" for path in (first, second)]
    assert unchanged[0].stat().st_ino == unchanged[1].stat().st_ino  # one copy for both days
    assert unchanged[0].stat().st_ino != (share / "2026" / "plans" / "a.txt").stat().st_ino  # never the live file
    assert (first / "budget.txt").read_text() == "v1\n" and (second / "budget.txt").read_text() == "v2\n"
    assert not (second / ".recycle").exists() and (share / ".recycle").exists()
    assert oct(Path(site["root"]).stat().st_mode & 0o777) == "0o700"


def test_snapshots_older_than_the_days_kept_are_removed_the_newest_always_kept(site: dict[str, Any]) -> None:
    snapshot.take(site, NOW - dt.timedelta(days=20))
    snapshot.take(site, NOW - dt.timedelta(days=14))  # exactly 14 days old at NOW: kept
    assert len(names(site)) == 2
    snapshot.take(site, NOW)
    assert names(site) == ["@GMT-2026.11.18-02.00.00", "@GMT-2026.12.02-02.00.00"]
    # with nothing young enough, the newest stays
    snapshot.prune(Path(site["root"]), "somu", 1, NOW + dt.timedelta(days=100))
    assert names(site) == ["@GMT-2026.12.02-02.00.00"]


def test_an_unfinished_snapshot_is_never_listed_and_is_cleared_by_the_next(site: dict[str, Any]) -> None:
    leftover = Path(site["root"]) / "somu" / (snapshot.INCOMPLETE + "@GMT-2026.12.01-02.00.00")
    leftover.mkdir(parents=True)
    assert names(site) == []
    snapshot.take(site, NOW)
    assert names(site) == ["@GMT-2026.12.02-02.00.00"] and not leftover.exists()


def test_restore_brings_back_a_deleted_folder_and_never_overwrites(site: dict[str, Any]) -> None:
    snapshot.take(site, NOW)
    share = Path(site["shares"]["somu"])
    shutil.rmtree(share / "2026")
    (share / "budget.txt").write_text("overwritten\n")
    snapshot.restore(site, "somu", "2026", None, False, NOW)
    assert (share / "2026" / "plans" / "a.txt").read_text() == "v1\n"
    snapshot.restore(site, "somu", "budget.txt", None, False, NOW)  # beside the current one
    assert (share / "budget.txt").read_text() == "overwritten\n"
    assert (share / "budget.txt.restored-@GMT-2026.12.02-02.00.00").read_text() == "v1\n"
    snapshot.restore(site, "somu", "budget.txt", "@GMT-2026.12.02-02.00.00", True, NOW)  # --replace
    assert (share / "budget.txt").read_text() == "v1\n"
    assert (share / "budget.txt.before-restore-20261202T020000Z").read_text() == "overwritten\n"


@pytest.mark.parametrize(
    ("share", "path", "snap", "message"),
    [
        ("somu", "../../etc", None, "is not a path inside"),
        ("somu", "/", None, "is not a path inside"),
        ("somu", "missing.txt", None, "no snapshot of share somu holds 'missing.txt'"),
        ("jinji", "budget.txt", None, "no share named 'jinji'"),
        ("somu", "budget.txt", "@GMT-2020.01.01-00.00.00", "has no snapshot '@GMT-2020.01.01-00.00.00'"),
    ],
)
def test_restore_refuses_what_it_cannot_do_and_says_why(
    site: dict[str, Any], share: str, path: str, snap: str | None, message: str
) -> None:
    snapshot.take(site, NOW)
    before = sorted(p.name for p in Path(site["shares"]["somu"]).iterdir())
    with pytest.raises(SystemExit, match=message):
        snapshot.restore(site, share, path, snap, False, NOW)
    assert sorted(p.name for p in Path(site["shares"]["somu"]).iterdir()) == before


def test_the_scan_reads_every_finding_of_clamscan_and_only_those() -> None:
    output = "\n".join(
        [
            "/srv/shares/somu/m/eicar.com: TW-Test-EICAR.UNOFFICIAL FOUND",
            "/srv/shares/somu/議事録: 第1回.docx: Win.Trojan.Agent-1 FOUND",
            "/srv/shares/somu/notes.txt: OK",
            "LibClamAV Warning: something",
            "",
        ]
    )
    assert scan.findings(output) == [
        ("/srv/shares/somu/m/eicar.com", "TW-Test-EICAR.UNOFFICIAL"),
        ("/srv/shares/somu/議事録: 第1回.docx", "Win.Trojan.Agent-1"),
    ]


def test_a_finding_is_placed_in_its_share_the_longest_root_first() -> None:
    shares = {"somu": "/srv/shares/somu", "somu-old": "/srv/shares/somu-old", "x": "/data/x/"}
    assert scan.share_path(shares, "/srv/shares/somu-old/a.doc") == ("somu-old", "a.doc")
    assert scan.share_path(shares, "/srv/shares/somu/b/c.doc") == ("somu", "b/c.doc")
    assert scan.share_path(shares, "/data/x/y") == ("x", "y")
    assert scan.share_path(shares, "/tmp/z") is None


def test_the_scan_fails_loudly_when_a_share_is_missing(tmp_path: Path) -> None:
    config = {"quarantine": str(tmp_path / "q"), "databases": [], "shares": {"somu": str(tmp_path / "none")}}
    assert scan.scan(config, NOW) == 2
    assert json.dumps(config)  # the configuration the role writes is plain JSON
