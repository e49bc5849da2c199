"""TW-06, TW-08, TW-14: SSH takes keys only, with modern algorithms, and shows the banners."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.support.hosts import get_host

pytestmark = pytest.mark.journal("ssh")

testinfra_hosts = ["ansible://base1"]

TWLAB_HOME = Path(os.environ.get("TWLAB_HOME", "/var/lib/twlab"))
TEST_PASSWORD = "Kyoudou-Telework-2026"  # set for pwtest in prepare.yml


def address() -> str:
    return str(get_host("base1").ansible.get_variables()["ansible_host"])


def ssh(user: str, *options: str, command: str = "true", stdin: str | None = None, env: dict[str, str] | None = None):
    """A fresh SSH connection from the controller (no shared master connection)."""
    argv = [
        "ssh",
        "-i",
        str(TWLAB_HOME / "ssh" / "id_ed25519"),
        "-o",
        f"UserKnownHostsFile={TWLAB_HOME / 'ssh' / 'known_hosts'}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ControlPath=none",
        "-o",
        "ConnectTimeout=10",
        *options,
        f"{user}@{address()}",
    ]
    if command:
        argv.append(command)
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False, input=stdin, env=env or dict(os.environ)
    )


def sshd_effective(host) -> dict[str, list[str]]:
    out = host.check_output("sudo sshd -T")
    config: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        config.setdefault(key, []).append(value)
    return config


def test_tw08_sshd_effective_config_refuses_passwords_and_root(host) -> None:
    c = sshd_effective(host)
    assert c["passwordauthentication"] == ["no"]
    assert c["kbdinteractiveauthentication"] == ["no"]
    assert c["permitrootlogin"] == ["no"]
    assert c["authenticationmethods"] == ["publickey"]
    assert c["permitemptypasswords"] == ["no"]
    assert c["pubkeyauthentication"] == ["yes"]


def test_tw08_sshd_offers_only_modern_algorithms(host) -> None:
    c = sshd_effective(host)
    kex = c["kexalgorithms"][0].split(",")
    ciphers = c["ciphers"][0].split(",")
    macs = c["macs"][0].split(",")
    # Positive controls: each list was read (sshd -T names a modern algorithm of each kind), so
    # an empty or misparsed list cannot pass for one without weak entries.
    assert "curve25519-sha256" in kex
    assert "chacha20-poly1305@openssh.com" in ciphers, ciphers
    assert "hmac-sha2-256-etm@openssh.com" in macs, macs
    assert not [k for k in kex if "sha1" in k or k.startswith("ecdh-sha2-nistp") or "group14" in k], kex
    assert not [x for x in ciphers if "cbc" in x or "3des" in x or "arcfour" in x], ciphers
    assert all(m.endswith("-etm@openssh.com") for m in macs), macs
    assert not [m for m in macs if "sha1" in m or "md5" in m], macs


def test_tw06_sshd_limits_attempts_and_idle_connections(host) -> None:
    c = sshd_effective(host)
    assert int(c["maxauthtries"][0]) <= 3
    assert int(c["logingracetime"][0]) <= 60
    assert c["clientaliveinterval"] == ["300"]
    assert c["clientalivecountmax"] == ["2"]
    assert c["x11forwarding"] == ["no"]
    assert c["allowtcpforwarding"] == ["no"]
    assert c["loglevel"] == ["VERBOSE"]


def test_tw08_only_listed_users_may_log_in(host) -> None:
    allowed = {u for line in sshd_effective(host)["allowusers"] for u in line.split()}
    assert allowed == {"admin", "pwtest"}
    # outsider has the very key admin logs in with (prepare.yml), but is not listed.
    keys = "/home/{}/.ssh/authorized_keys"
    assert host.file(keys.format("outsider")).content == host.file(keys.format("admin")).content
    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    listed = ssh("admin", "-o", "BatchMode=yes", command="echo in")
    assert listed.returncode == 0 and listed.stdout.strip() == "in", listed.stderr
    refused = ssh("outsider", "-o", "BatchMode=yes", command="echo in")
    assert refused.returncode == 255 and "in" not in refused.stdout.split(), refused.stderr
    journal = host.run(f"sudo journalctl -u ssh --since '{since}' --no-pager").stdout
    assert "User outsider from" in journal and "not listed in AllowUsers" in journal, journal[-2000:]


def test_tw08_controller_still_gets_in_with_its_key_after_converge() -> None:
    proc = ssh("admin", "-o", "BatchMode=yes", command="sudo -n true && echo in")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "in"


def test_tw08_server_offers_only_public_key_authentication() -> None:
    proc = ssh("pwtest", "-v", "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no")
    assert proc.returncode == 255
    offered = [line for line in proc.stderr.splitlines() if "Authentications that can continue" in line]
    assert offered, proc.stderr[-2000:]
    assert all(line.rstrip().endswith(": publickey") for line in offered), offered


def test_tw08_password_login_fails_even_with_the_right_password(host, tmp_path: Path) -> None:
    # Positive control: the password is pwtest's (PAM accepts it on the host itself).
    pam = host.run(f"printf '%s\\n' {shlex.quote(TEST_PASSWORD)} | sudo pamtester login pwtest authenticate")
    assert pam.rc == 0, pam.stdout + pam.stderr
    host.run("sudo faillock --user pwtest --reset")
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(f"#!/bin/sh\necho '{TEST_PASSWORD}'\n")
    askpass.chmod(0o700)
    env = dict(os.environ, SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
    proc = ssh(
        "pwtest",
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
        "-o",
        "NumberOfPasswordPrompts=1",
        command="echo logged-in",
        env=env,
    )
    assert "logged-in" not in proc.stdout
    assert proc.returncode == 255
    assert "Permission denied (publickey)" in proc.stderr


def test_tw14_sshd_shows_the_japanese_and_english_banner(host) -> None:
    assert sshd_effective(host)["banner"] == ["/etc/issue.net"]
    proc = ssh("admin", "-o", "BatchMode=yes")
    assert proc.returncode == 0, proc.stderr
    assert "許可された職員のみ" in proc.stderr
    assert "Authorised staff only" in proc.stderr


def test_tw14_login_shows_the_last_login_and_motd() -> None:
    first = ssh("admin", "-tt", "-o", "BatchMode=yes", command="", stdin="exit\n")
    assert first.returncode == 0, first.stderr
    second = ssh("admin", "-tt", "-o", "BatchMode=yes", command="", stdin="exit\n")
    assert "Last login:" in second.stdout, second.stdout[-2000:]
    assert "業務目的以外での利用は禁止" in second.stdout
