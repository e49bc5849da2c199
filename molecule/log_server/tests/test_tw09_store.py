"""TW-09: the log server stores per host and day, keeps files for the retention period only,
seals each day in a chained hash manifest and warns before its disk fills."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from lab_hosts import CLIENT_NAME, SERVER_NAME, STORE, run_id, wait_for_lines, with_marker

from tests.support.hosts import get_host

pytestmark = pytest.mark.journal("rsyslog", "log-retention", "log-manifest-seal", "log-disk-guard")

testinfra_hosts = [f"ansible://{SERVER_NAME}"]

RETENTION_DAYS = 30  # molecule.yml
MANIFEST_ROOT = "/tmp/tw09-manifest"


def server_today(host) -> dt.date:
    return dt.date.fromisoformat(host.check_output("date +%F"))


def test_tw09_logs_are_stored_per_host_and_day_with_restrictive_modes(host) -> None:
    marker = run_id("tw09-store")
    get_host(CLIENT_NAME).run(with_marker(marker, 'logger -t tw09-test "$M"'))
    assert len(wait_for_lines(host, CLIENT_NAME, marker, 1, timeout=60)) == 1
    today = server_today(host).isoformat()
    store, host_dir, day_file = (
        host.file(STORE),
        host.file(f"{STORE}/{CLIENT_NAME}"),
        host.file(f"{STORE}/{CLIENT_NAME}/{today}.log"),
    )
    assert (store.user, store.group, store.mode) == ("root", "adm", 0o750)
    assert (host_dir.user, host_dir.group, host_dir.mode) == ("root", "adm", 0o750)
    assert (day_file.user, day_file.group, day_file.mode) == ("root", "adm", 0o640)
    # The server's own messages are stored the same way.
    assert host.file(f"{STORE}/{SERVER_NAME}/{today}.log").exists


def test_tw09_log_server_stores_its_own_logs_and_stops_cleanly(host) -> None:
    # Not over RELP to itself: librelp's client and server in one rsyslog hang when it stops.
    assert 'type="omrelp"' not in host.file("/etc/rsyslog.conf").content_string
    marker = run_id("tw09-own")
    host.run(with_marker(marker, 'logger -p authpriv.notice -t tw09-test "$M"'))
    assert len(wait_for_lines(host, SERVER_NAME, marker, 1, timeout=30)) == 1
    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    assert host.run("systemctl restart rsyslog").rc == 0
    journal = host.run(f"journalctl -u rsyslog --since '{since}' --no-pager").stdout
    # Positive control: the journal read covers the restart (systemd's own line of the stop).
    assert "Stopped rsyslog.service" in journal, journal
    assert "timed out" not in journal and "SIGKILL" not in journal, journal


@pytest.fixture
def sealed_store(host) -> Iterator[str]:
    """A store of three closed days for two hosts, sealed with the installed log-manifest."""
    root, manifests = f"{MANIFEST_ROOT}/store", f"{MANIFEST_ROOT}/manifests"
    today = server_today(host)
    lines = [f"rm -rf {MANIFEST_ROOT}", f"mkdir -p {root}/hosta {root}/hostb"]
    for back in (3, 2, 1):
        day = (today - dt.timedelta(days=back)).isoformat()
        lines += [f"echo 'a {day} login ok' > {root}/hosta/{day}.log", f"echo 'b {day}' > {root}/hostb/{day}.log"]
    assert host.run(" && ".join(lines)).rc == 0
    tool = f"/usr/local/sbin/log-manifest --root {root} --manifest-dir {manifests} --retention-days {RETENTION_DAYS}"
    assert host.run(f"{tool} seal").rc == 0
    yield tool
    host.run(f"rm -rf {MANIFEST_ROOT}")


def test_tw09_manifest_verifies_an_intact_store(host, sealed_store: str) -> None:
    out = host.run(f"{sealed_store} verify")
    assert out.rc == 0, out.stdout + out.stderr
    assert "3 manifest(s)" in out.stdout
    assert "6 file(s) checked" in out.stdout


def test_tw09_manifest_detects_a_changed_stored_file(host, sealed_store: str) -> None:
    day = (server_today(host) - dt.timedelta(days=2)).isoformat()
    target = f"{MANIFEST_ROOT}/store/hosta/{day}.log"
    host.run(f"sed -i 's/login ok/login FAILED/' {target}")  # same size, other content
    out = host.run(f"{sealed_store} verify")
    assert out.rc == 1
    assert f"changed: {target}" in out.stdout


def test_tw09_manifest_detects_a_deleted_or_added_file(host, sealed_store: str) -> None:
    today = server_today(host)
    gone = f"{MANIFEST_ROOT}/store/hostb/{(today - dt.timedelta(days=3)).isoformat()}.log"
    added = f"{MANIFEST_ROOT}/store/hostc/{(today - dt.timedelta(days=1)).isoformat()}.log"
    host.run(f"rm {gone} && mkdir -p $(dirname {added}) && echo forged > {added}")
    out = host.run(f"{sealed_store} verify")
    assert out.rc == 1
    assert f"missing: {gone}" in out.stdout
    assert f"unlisted: {added}" in out.stdout


def test_tw09_manifest_detects_a_broken_chain(host, sealed_store: str) -> None:
    day = (server_today(host) - dt.timedelta(days=2)).isoformat()
    manifest = f"{MANIFEST_ROOT}/manifests/{day}.manifest"
    # Rewrite a manifest consistently with an edited file: the next manifest's link breaks.
    host.run(f"chmod u+w {manifest} && sed -i 's/^sealed .*/sealed 1970-01-01T00:00:00Z/' {manifest}")
    out = host.run(f"{sealed_store} verify")
    assert out.rc == 1
    assert f"chain broken: manifest {day} changed" in out.stdout


def test_tw09_seal_job_seals_the_real_store_and_it_verifies(host) -> None:
    assert host.service("log-manifest-seal.timer").is_enabled
    assert host.service("log-manifest-seal.timer").is_running
    assert host.run("systemctl start log-manifest-seal.service").rc == 0
    assert host.run("systemctl show -p Result --value log-manifest-seal.service").stdout.strip() == "success"
    out = host.run("/usr/local/sbin/log-manifest verify")
    assert out.rc == 0, out.stdout + out.stderr


def test_tw09_retention_deletes_files_older_than_the_retention_period(host) -> None:
    today = server_today(host)
    victim = run_id("tw09-retention")
    ages = (90, RETENTION_DAYS + 1, RETENTION_DAYS - 1, 0)
    days = {back: (today - dt.timedelta(days=back)).isoformat() for back in ages}
    for back, day in days.items():
        path = f"{STORE}/{victim}/{day}.log"
        made = host.run(f"mkdir -p {STORE}/{victim} && echo old > {path} && touch -d '{back} days ago' {path}")
        assert made.rc == 0, made.stderr
    try:
        # Positive control: every file is there, old ones included, before the job runs.
        for day in days.values():
            assert host.file(f"{STORE}/{victim}/{day}.log").exists, day
        assert host.service("log-retention.timer").is_enabled
        assert host.run("systemctl start log-retention.service").rc == 0
        assert host.run("systemctl show -p Result --value log-retention.service").stdout.strip() == "success"
        assert not host.file(f"{STORE}/{victim}/{days[90]}.log").exists
        assert not host.file(f"{STORE}/{victim}/{days[RETENTION_DAYS + 1]}.log").exists
        assert host.file(f"{STORE}/{victim}/{days[RETENTION_DAYS - 1]}.log").exists
        assert host.file(f"{STORE}/{victim}/{days[0]}.log").exists
        journal = host.run("journalctl -t log-retention -n 5 --no-pager").stdout
        assert f"retention {RETENTION_DAYS} days" in journal
    finally:
        host.run(f"rm -rf {STORE}/{victim}")


def test_tw09_disk_guard_alerts_at_the_threshold(host) -> None:
    assert host.service("log-disk-guard.timer").is_enabled
    assert host.service("log-disk-guard.timer").is_running
    assert "LOG_SERVER_DISK_THRESHOLD=85" in host.file("/etc/default/log-server").content_string
    host.run("rm -f /tmp/tw09-alert")
    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    out = host.run("/usr/local/sbin/log-disk-guard --threshold 1 --alert-command 'cat > /tmp/tw09-alert'")
    assert out.rc == 1
    assert "CRITICAL" in host.file("/tmp/tw09-alert").content_string
    journal = host.run(f"journalctl -t log-disk-guard -p crit --since '{since}' --no-pager").stdout
    assert "CRITICAL: log store /var/log/remote is" in journal
    # Below the threshold it stays quiet.
    assert host.run("/usr/local/sbin/log-disk-guard --threshold 99").rc == 0
    host.run("rm -f /tmp/tw09-alert")
