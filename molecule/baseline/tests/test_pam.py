"""TW-06, TW-13, TW-14: lockout after repeated failures, password quality, aging, umask, last login."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import pytest

testinfra_hosts = ["ansible://base1"]

USER = "pwtest"
PASSWORD = "Kyoudou-Telework-2026"  # set in prepare.yml
DENY = 5  # baseline_pam_faillock_deny default
PAM_RULE = re.compile(r"^(?:auth|account|password|session)\s+(?P<control>\[[^]]*\]|\S+)\s+(?P<module>\S+)(?P<args>.*)$")


def authenticate(host, password: str):
    """Run the `login` PAM service's auth stack for pwtest, as the console login would."""
    return host.run(f"printf '%s\\n' {shlex.quote(password)} | sudo pamtester login {USER} authenticate")


@pytest.fixture
def unlocked(host) -> Iterator[None]:
    host.run(f"sudo faillock --user {USER} --reset")
    yield
    host.run(f"sudo faillock --user {USER} --reset")


def pam_stack(host, path: str) -> list[tuple[str, str, str]]:
    """(control, module, arguments) of each rule of a PAM file."""
    rules = []
    for line in host.file(path).content_string.splitlines():
        m = PAM_RULE.match(line)
        if m:
            rules.append((m["control"], m["module"], m["args"].strip()))
    return rules


def test_tw06_common_auth_runs_faillock_around_pam_unix(host) -> None:
    rules = pam_stack(host, "/etc/pam.d/common-auth")
    modules = [r[1] for r in rules]
    unix = modules.index("pam_unix.so")
    assert ("requisite", "pam_faillock.so", "preauth") in rules[:unix]
    assert rules[unix + 1] == ("[default=die]", "pam_faillock.so", "authfail")
    # pam_unix's success jump must skip the authfail rule and the pam_deny fallback.
    assert rules[unix][0].startswith("[success=2 ")
    assert ("required", "pam_faillock.so", "") in pam_stack(host, "/etc/pam.d/common-account")


def test_tw06_faillock_settings(host) -> None:
    conf = host.file("/etc/security/faillock.conf").content_string
    assert f"deny = {DENY}" in conf
    assert "unlock_time = 900" in conf
    assert "fail_interval = 900" in conf


def test_tw06_account_locks_after_five_failures(host, unlocked: None) -> None:
    assert authenticate(host, PASSWORD).rc == 0, "the right password must work before the failures"
    for _ in range(DENY):
        assert authenticate(host, "wrong-password").rc != 0
    locked = authenticate(host, PASSWORD)
    assert locked.rc != 0, "the right password must be refused while the account is locked"
    tally = host.check_output(f"sudo faillock --user {USER}")
    valid_failures = [line for line in tally.splitlines() if line.rstrip().endswith(" V")]
    assert len(valid_failures) >= DENY, tally


def test_tw06_admin_can_unlock_an_account(host, unlocked: None) -> None:
    for _ in range(DENY):
        authenticate(host, "wrong-password")
    assert authenticate(host, PASSWORD).rc != 0
    host.check_output(f"sudo faillock --user {USER} --reset")
    assert authenticate(host, PASSWORD).rc == 0


def change_password(host, *answers: str):
    """Change pwtest's password through the `passwd` PAM stack, typing answers in turn."""
    typed = "".join(f"{a}\\n" for a in answers)
    return host.run(f"printf {shlex.quote(typed)} | sudo pamtester passwd {USER} chauthtok")


@pytest.mark.parametrize("weak", ["short1A", "abcdefghijkl", "password1234", "Kyoudou-pwtest-2026"])
def test_tw13_pwquality_rejects_weak_passwords(host, weak: str) -> None:
    # Positive control: the same stack takes a strong password (pwtest's own, set again).
    strong = change_password(host, PASSWORD, PASSWORD)
    assert strong.rc == 0, strong.stdout + strong.stderr
    # Three tries (retry=3), each new password typed twice; every one is weak.
    out = change_password(host, *[weak] * 6)
    assert out.rc != 0, out.stdout + out.stderr
    assert "BAD PASSWORD" in out.stdout + out.stderr, out.stdout + out.stderr
    assert host.run(f"printf '%s\\n' {shlex.quote(PASSWORD)} | sudo pamtester login {USER} authenticate").rc == 0


def test_tw13_pwquality_accepts_a_strong_password(host) -> None:
    out = change_password(host, PASSWORD, PASSWORD)
    assert out.rc == 0, out.stdout + out.stderr


def test_tw13_pwscore_applies_the_site_rules(host) -> None:
    assert host.run("echo 'Tokyo12' | pwscore").rc != 0
    assert host.run("echo 'Kyoudou-Telework-2026' | pwscore").rc == 0
    conf = host.file("/etc/security/pwquality.conf.d/90-baseline.conf").content_string
    assert "minlen = 12" in conf
    assert "enforce_for_root" in conf


def test_tw13_login_defs_sets_aging_and_umask(host) -> None:
    settings = dict(
        line.split(None, 1)
        for line in host.file("/etc/login.defs").content_string.splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert settings["UMASK"].strip() == "027"
    assert settings["PASS_MAX_DAYS"].strip() == "365"
    assert settings["PASS_MIN_DAYS"].strip() == "1"
    assert settings["PASS_WARN_AGE"].strip() == "14"


def test_tw13_login_shell_umask_is_027(host) -> None:
    assert host.run("bash -lc umask").stdout.strip() == "0027"


def test_tw14_last_login_module_is_in_the_session_stack(host) -> None:
    release = host.system_info.release.split(".")[0]
    if release == "12":
        assert "pam_lastlog.so" in host.file("/etc/pam.d/login").content_string
    else:
        assert "pam_lastlog2.so" in host.file("/etc/pam.d/common-session").content_string
        # Every SSH login since converge (sshd runs common-session) has been recorded.
        assert host.file("/var/lib/lastlog/lastlog2.db").exists


def test_tw13_home_directories_are_closed_to_others(host) -> None:
    for home in ("/home/admin", "/home/pwtest"):
        assert host.file(home).mode & 0o027 == 0, home
    assert host.file("/etc/login.defs").contains("^HOME_MODE\t0750$")


def test_tw13_login_sessions_run_pam_tmpdir(host) -> None:
    assert "pam_tmpdir.so" in host.file("/etc/pam.d/common-session").content_string


def test_tw07_login_shells_get_a_900_second_tmout_users_cannot_change(host) -> None:
    out = host.run("bash -lc 'echo $TMOUT; (TMOUT=0) 2>/dev/null; echo $?'")
    value, status = out.stdout.split()
    assert value == "900"
    assert status != "0", "users must not be able to change TMOUT"
