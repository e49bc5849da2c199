"""Kernel, network, audit, time, update and journal settings of the baseline role (TW-09, TW-11, TW-12)."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.support.hosts import get_host

testinfra_hosts = ["ansible://base1"]

SYSCTL_FILE = "/etc/sysctl.d/90-baseline.conf"


def sysctl_file(host) -> dict[str, str]:
    result = {}
    for line in host.file(SYSCTL_FILE).content_string.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            result[key.strip()] = value.strip()
    return result


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("kernel.kptr_restrict", "2"),
        ("kernel.dmesg_restrict", "1"),
        ("kernel.randomize_va_space", "2"),
        ("kernel.yama.ptrace_scope", "1"),
        ("kernel.sysrq", "0"),
        ("fs.suid_dumpable", "0"),
        ("fs.protected_hardlinks", "1"),
        ("fs.protected_symlinks", "1"),
        ("fs.protected_fifos", "2"),
        ("fs.protected_regular", "2"),
        ("net.ipv4.ip_forward", "0"),
        ("net.ipv4.tcp_syncookies", "1"),
        ("net.ipv6.conf.all.accept_ra", "0"),
    ],
)
def test_sysctl_file_holds_the_hardened_value(host, key: str, value: str) -> None:
    assert sysctl_file(host).get(key) == value


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("net.ipv4.conf.all.rp_filter", "1"),
        ("net.ipv4.conf.all.accept_redirects", "0"),
        ("net.ipv4.conf.all.send_redirects", "0"),
        ("net.ipv4.conf.all.accept_source_route", "0"),
        ("net.ipv4.conf.all.log_martians", "1"),
        ("net.ipv4.tcp_syncookies", "1"),
        ("net.ipv4.icmp_echo_ignore_broadcasts", "1"),
        ("net.ipv4.ip_forward", "0"),
        ("net.ipv6.conf.all.accept_redirects", "0"),
        ("net.ipv6.conf.all.accept_ra", "0"),
        ("net.ipv6.conf.default.accept_ra", "0"),
        ("net.ipv6.conf.all.forwarding", "0"),
    ],
)
def test_tw11_network_sysctl_is_live(host, key: str, value: str) -> None:
    assert host.check_output(f"sysctl -n {key}").strip() == value


def test_core_dumps_are_off(host) -> None:
    limits = host.file("/etc/security/limits.d/90-baseline-coredump.conf").content_string
    assert "*     hard  core  0" in limits
    assert "Storage=none" in host.file("/etc/systemd/coredump.conf.d/90-baseline.conf").content_string
    assert host.run("bash -lc 'ulimit -c'").stdout.strip() in ("0", "")
    assert sysctl_file(host)["fs.suid_dumpable"] == "0"


AUDIT_RULES = "/etc/audit/rules.d/90-baseline.rules"


@pytest.mark.parametrize(
    "rule",
    [
        "-w /etc/passwd -p wa -k identity",
        "-w /etc/shadow -p wa -k identity",
        "-w /etc/group -p wa -k identity",
        "-w /etc/gshadow -p wa -k identity",
        "-w /etc/sudoers -p wa -k sudoers",
        "-w /etc/sudoers.d/ -p wa -k sudoers",
        "-a always,exit -F arch=b64 -S execve -C uid!=euid -F euid=0 -k privileged",
        "-w /usr/bin/sudo -p x -k admin_tools",
        "-w /var/log/btmp -p wa -k logins",
        "-w /var/run/faillock -p wa -k logins",
        "-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time_change",
        "-a always,exit -F arch=b64 -S init_module,finit_module,delete_module -k modules",
    ],
)
def test_tw09_audit_rules_file_has_rule(host, rule: str) -> None:
    rules = host.file(AUDIT_RULES)
    assert rules.exists
    assert rule in rules.content_string.splitlines()


def test_tw09_audit_rules_watch_logins_of_this_release(host) -> None:
    content = host.file(AUDIT_RULES).content_string
    if host.system_info.release.startswith("12"):
        assert "-w /var/log/lastlog -p wa -k logins" in content
        assert "-w /var/log/wtmp -p wa -k logins" in content
    else:
        assert "-w /var/lib/lastlog/lastlog2.db -p wa -k logins" in content
        assert "-w /var/lib/wtmpdb/wtmp.db -p wa -k logins" in content


def test_tw09_audited_admin_tools_exist(host) -> None:
    """A watch on a mistyped path would audit nothing: every executed tool must be there."""
    content = host.file(AUDIT_RULES).content_string
    tools = [line.split()[1] for line in content.splitlines() if line.startswith("-w ") and "-p x" in line]
    assert len(tools) >= 10
    missing = [t for t in tools if not host.file(t).exists]
    assert not missing, missing


def test_tw09_auditd_is_installed_and_runs_outside_containers(host) -> None:
    assert host.package("auditd").is_installed
    assert "max_log_file = 16" in host.file("/etc/audit/auditd.conf").content_string
    container = host.run("systemd-detect-virt --container").rc == 0
    if container:
        # The kernel audit subsystem is not namespaced: auditd is kept from failing at boot.
        assert not host.service("auditd").is_enabled
    else:
        assert host.service("auditd").is_running


def test_tw09_chrony_is_configured_and_running(host) -> None:
    conf = host.file("/etc/chrony/chrony.conf").content_string
    assert "pool 2.debian.pool.ntp.org iburst" in conf
    assert "cmdport 0" in conf
    assert host.service("chrony").is_running
    assert host.service("chrony").is_enabled
    assert host.run("chronyc -n tracking").rc == 0
    if host.run("systemd-detect-virt --container").rc == 0:
        assert "-x" in host.file("/etc/default/chrony").content_string


def test_tw12_unattended_upgrades_take_security_updates(host) -> None:
    dump = host.check_output("apt-config dump")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dump
    assert 'APT::Periodic::Update-Package-Lists "1";' in dump
    assert "codename=${distro_codename}-security,label=Debian-Security" in dump
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in dump
    assert host.package("unattended-upgrades").is_installed
    for timer in ("apt-daily.timer", "apt-daily-upgrade.timer"):
        assert host.service(timer).is_enabled
        assert host.service(timer).is_running


def test_tw12_unattended_upgrades_sees_the_security_archive(host) -> None:
    out = host.run("sudo unattended-upgrade --dry-run --debug 2>&1 | grep -m1 'Allowed origins are:'")
    assert "Allowed origins are:" in out.stdout, out.stdout + out.stderr
    assert "-security" in out.stdout


def test_tw09_syslog_messages_reach_the_journal_after_legacy_daemons_are_removed(host) -> None:
    """prepare.yml installs legacy servers (on Debian 12 they bring inetutils-syslogd, which takes
    /dev/log and unlinks it when the role removes it); every program's syslog() must still land."""
    link = host.file("/dev/log")
    assert link.is_symlink and link.linked_to == "/run/systemd/journal/dev-log"
    tag = f"tw09probe{uuid.uuid4().hex[:8]}"
    host.check_output(f"logger -t {tag} through-dev-log")
    journal = ""
    for _ in range(10):
        journal = host.run(f"sudo journalctl -t {tag} --no-pager -o cat").stdout
        if "through-dev-log" in journal:
            break
        time.sleep(0.5)
    assert "through-dev-log" in journal, journal


# The security updates apt would install now: their `Inst` lines, and how many there are.
_SIMULATE = "apt-get --simulate --quiet -o Debug::NoLocking=1 dist-upgrade"
SECURITY_PENDING_LINES = f"{_SIMULATE} | grep '^Inst .*[Ss]ecurity' || true"
SECURITY_PENDING = f"{_SIMULATE} | grep -c '^Inst .*[Ss]ecurity' || true"


def test_tw12_no_security_update_is_pending_after_converge(host) -> None:
    """The run applied the pending security update (the scenario's own, prepare.yml); the
    unconverged peer still has it pending, so the update was there to apply."""
    peer = get_host("peer1")
    assert peer.package("tw-security-probe").version == "1.0"
    pending_on_peer = peer.check_output(SECURITY_PENDING_LINES)
    assert "tw-security-probe" in pending_on_peer, pending_on_peer
    assert host.package("tw-security-probe").version == "1.1"
    assert int(host.check_output("sudo apt-get update -q >/dev/null; " + SECURITY_PENDING)) == 0
    log = host.file("/var/log/unattended-upgrades/unattended-upgrades.log").content_string
    assert re.search(r"Packages that will be upgraded:.*\btw-security-probe\b", log), log[-2000:]


def test_tw09_journal_is_persistent(host) -> None:
    conf = host.file("/etc/systemd/journald.conf.d/90-baseline.conf").content_string
    assert "Storage=persistent" in conf
    assert "SystemMaxUse=512M" in conf
    machine_id = host.file("/etc/machine-id").content_string.strip()
    assert host.file(f"/var/log/journal/{machine_id}/system.journal").exists
    assert host.service("systemd-journald").is_running


def test_tw14_issue_files_carry_the_japanese_and_english_banner(host) -> None:
    for path in ("/etc/issue", "/etc/issue.net"):
        content = host.file(path).content_string
        assert "許可された職員のみ" in content
        assert "Authorised staff only" in content
        assert "\\" not in content
    assert "業務目的以外での利用は禁止" in host.file("/etc/motd").content_string


ROLE_DEFAULTS = Path(__file__).resolve().parents[3] / "ansible" / "roles" / "baseline" / "defaults" / "main.yml"
CLEAR_TEXT_FIXTURE = "/var/lib/molecule-fixture-clear-text-packages"  # written by prepare.yml


def test_tw11_legacy_clear_text_services_installed_before_converge_are_removed(host) -> None:
    # Positive control: prepare.yml installed them (telnet answered on port 23) and listed them.
    installed_before = host.file(CLEAR_TEXT_FIXTURE).content_string.split()
    assert {"telnetd", "talkd", "tftpd-hpa", "ftp"} <= set(installed_before), installed_before
    absent = yaml.safe_load(ROLE_DEFAULTS.read_text(encoding="utf-8"))["baseline_packages_absent"]
    assert set(installed_before) <= set(absent), "the fixture installs only what the role removes"
    still_there = [pkg for pkg in installed_before if host.package(pkg).is_installed]
    assert not still_there, f"the role left {still_there} installed"
    # prepare.yml saw telnet answer on TCP 23 and talk on UDP 518.
    for proto, port in (("t", 23), ("u", 518)):
        listening = host.run(f"ss -Hln{proto} 'sport = :{port}'")
        assert listening.rc == 0, listening.stderr
        assert listening.stdout.strip() == "", f"something still listens on {port}: {listening.stdout}"


@pytest.mark.parametrize("module", ["usb-storage", "firewire-core", "dccp", "sctp", "cramfs"])
def test_unneeded_kernel_modules_are_configured_never_to_load(host, module: str) -> None:
    # A lab host is a container (no module loading of its own): the configuration is what is proved.
    lines = host.file("/etc/modprobe.d/baseline.conf").content_string.splitlines()
    assert f"install {module} /bin/false" in lines
    assert f"blacklist {module}" in lines


def test_tw12_needrestart_is_installed_and_set_to_restart_services(host) -> None:
    assert host.package("needrestart").is_installed
    assert "$nrconf{restart} = 'a';" in host.file("/etc/needrestart/conf.d/90-baseline.conf").content_string
