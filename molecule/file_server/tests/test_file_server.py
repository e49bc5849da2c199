"""The file server proved with a real SMB client (Debian's smbclient on client1).

fs1 runs Samba (role file_server) with the shares of the scenario's staff list: one per department
(somu, zaimu) and a ward-wide share (kyotsu: General Affairs writes, telework members read).
client1 stands for a remote desktop: smbclient, and the desktops' own client path (GVfs, mounted
at session start with the login's password by remote_desktop's file_shares). Every verdict is
read from the server itself (its files, smbstatus, its journal) or from what the client could and
could not do, never from the role's own report. Every user's password is the lab's
"Tw-Lab-Passw0rd!" (molecule.yml holds its NT hash).
"""

from __future__ import annotations

import json
import re
import shlex
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from conftest import bad_input_batch, converge_check, recap, run_playbook, scenario_dir
from testinfra.host import Host

from tests.support.bad_input import Case, CaseResult, assert_refused
from tests.support.hosts import get_host
from tests.support.polling import wait_for

pytestmark = pytest.mark.journal("smbd")

SERVER = "10.231.33.20"
PASSWORD = "Tw-Lab-Passw0rd!"
ROOT = "/srv/shares"
CONFIG = "/etc/samba/smb.conf"
SNAPSHOT = "/usr/local/sbin/file-server-snapshot"
SNAPSHOT_ROOT = "/srv/snapshots"
QUARANTINE = "/srv/quarantine"


@pytest.fixture(scope="module")
def server() -> Host:
    return get_host("fs1")


@pytest.fixture(scope="module")
def client() -> Host:
    return get_host("client1")


def smb(client: Host, user: str | None, share: str, commands: str, *options: str, password: str = PASSWORD) -> Any:
    """smbclient on client1 as user (None: no user at all), the password from a file, never the command line."""
    if user is None:
        auth = "-N"
    else:
        path = f"/run/smb-auth-{user}"
        client.run(
            f"umask 077; printf 'username = %s\\npassword = %s\\n' {shlex.quote(user)} {shlex.quote(password)} > {path}"
        )
        auth = f"-A {path}"
    opts = " ".join(shlex.quote(o) for o in options)
    return client.run(f"smbclient //{SERVER}/{share} {auth} {opts} -c {shlex.quote(commands)} 2>&1")


def server_sessions(server: Host) -> list[dict[str, Any]]:
    """The sessions smbd holds: user, pid, shares, client, dialect, cipher (the role's status command)."""
    return json.loads(server.check_output("sudo /usr/local/sbin/file-server-passdb status"))["connections"]


class Held:
    """An SMB connection kept open from client1 (smbclient waiting on its prompt) in a transient unit."""

    def __init__(self, client: Host, server: Host) -> None:
        self.client, self.server, self.units = client, server, []

    def open(self, user: str, share: str) -> str:
        unit = f"smb-hold-{user.replace('.', '-')}-{uuid.uuid4().hex[:6]}"
        smb(self.client, user, share, "exit")  # writes the auth file (and proves the login works)
        self.client.run_test(
            f"sudo systemd-run --unit {unit} --quiet sh -c "
            + shlex.quote(f"tail -f /dev/null | smbclient //{SERVER}/{share} -A /run/smb-auth-{user}")
        )
        self.units.append(unit)
        found = wait_for(lambda: [s for s in server_sessions(self.server) if s["user"] == user], 20)
        assert found, f"{user}'s held connection to {share} never reached the server"
        return unit

    def close(self) -> None:
        for unit in self.units:
            self.client.run(f"sudo systemctl stop {unit}")
        self.units.clear()


@pytest.fixture
def held(client: Host, server: Host) -> Iterator[Held]:
    h = Held(client, server)
    yield h
    h.close()


def apply(**extra: Any) -> str:
    """Run the converge playbook with other input (as an operator's change of the staff list would)."""
    proc = run_playbook("converge.yml", extra_vars=extra or None)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout


def staff_with(**changes: dict[str, Any]) -> list[dict[str, Any]]:
    """The scenario's staff list (molecule.yml) with some users changed: kato_mai={"state": "disabled"}."""
    inventory = yaml.safe_load((scenario_dir() / "molecule.yml").read_text())["provisioner"]["inventory"]
    users: list[dict[str, Any]] = inventory["group_vars"]["all"]["telework_users"]
    return [dict(u, **changes.get(u["id"].replace(".", "_"), {})) for u in users]


def journal_since(server: Host, since: float, identifier: str | None = None) -> str:
    ident = f"-t {identifier}" if identifier else ""
    return server.check_output(f"sudo journalctl --since=@{since:.0f} {ident} -o cat --no-pager")


# --- access from the staff list (TW-13) ---


def test_tw13_a_user_reads_and_writes_their_department_share(client: Host, server: Host) -> None:
    name = f"memo-{uuid.uuid4().hex[:8]}.txt"
    client.run_test(f"echo 'somu memo' > /tmp/{name}")
    put = smb(client, "sato.taro", "somu", f"put /tmp/{name} {name}; get {name} /tmp/back-{name}")
    assert put.rc == 0, put.stdout
    assert client.file(f"/tmp/back-{name}").content_string == "somu memo\n"
    # on the server, the file carries the share's group and is writable by it (a colleague can open it)
    stat = server.check_output(f"sudo stat -c '%U %G %a' {ROOT}/somu/{name}")
    assert stat == "sato.taro tw-share-somu 660", stat


def test_tw13_a_colleague_opens_and_changes_a_colleagues_file(client: Host) -> None:
    name = f"shared-{uuid.uuid4().hex[:8]}.txt"
    client.run_test(f"echo first > /tmp/{name}; echo second > /tmp/{name}.2")
    assert smb(client, "sato.taro", "somu", f"put /tmp/{name} {name}").rc == 0
    changed = smb(client, "tanaka.yui", "somu", f"get {name} /tmp/tanaka-{name}; put /tmp/{name}.2 {name}")
    assert changed.rc == 0, changed.stdout
    assert client.file(f"/tmp/tanaka-{name}").content_string == "first\n"
    again = smb(client, "sato.taro", "somu", f"get {name} /tmp/sato-{name}")
    assert again.rc == 0 and client.file(f"/tmp/sato-{name}").content_string == "second\n"


def test_tw13_a_user_is_refused_another_departments_share(client: Host) -> None:
    own = smb(client, "sato.taro", "somu", "ls")
    assert own.rc == 0, own.stdout  # positive control: the same login works on their own share
    other = smb(client, "sato.taro", "zaimu", "ls")
    assert other.rc != 0 and "NT_STATUS_ACCESS_DENIED" in other.stdout, other.stdout


def test_tw13_the_common_share_is_read_only_for_readers(client: Host) -> None:
    name = f"notice-{uuid.uuid4().hex[:8]}.txt"
    client.run_test(f"echo notice > /tmp/{name}")
    writer = smb(client, "tanaka.yui", "kyotsu", f"put /tmp/{name} {name}")
    assert writer.rc == 0, writer.stdout
    reader = smb(client, "suzuki.hanako", "kyotsu", f"get {name} /tmp/read-{name}")
    assert reader.rc == 0 and client.file(f"/tmp/read-{name}").content_string == "notice\n", reader.stdout
    refused = smb(client, "suzuki.hanako", "kyotsu", f"put /tmp/{name} other-{name}")
    assert "NT_STATUS_ACCESS_DENIED" in refused.stdout or "NT_STATUS_MEDIA_WRITE_PROTECTED" in refused.stdout, (
        refused.stdout
    )


def test_tw13_a_user_disabled_in_the_list_is_refused_and_their_open_session_ends(
    client: Host, server: Host, held: Held
) -> None:
    held.open("kato.mai", "zaimu")  # positive control: an active user gets in and stays connected
    assert [s for s in server_sessions(server) if s["user"] == "kato.mai"]
    try:
        apply(telework_users=staff_with(kato_mai={"state": "disabled"}))
        assert not [s for s in server_sessions(server) if s["user"] == "kato.mai"], "the open session survived"
        refused = smb(client, "kato.mai", "zaimu", "ls")
        assert refused.rc != 0 and "NT_STATUS_LOGON_FAILURE" in refused.stdout, refused.stdout
        assert "kato.mai" not in server.check_output("sudo pdbedit -L | cut -d: -f1")
    finally:
        apply()
    assert smb(client, "kato.mai", "zaimu", "ls").rc == 0  # active again: back in


def test_tw13_a_user_who_leaves_a_share_loses_their_open_connection_to_it(
    client: Host, server: Host, held: Held
) -> None:
    held.open("kato.mai", "kyotsu")  # a telework member reads the common share
    try:
        apply(telework_users=staff_with(kato_mai={"groups": []}))
        assert not [s for s in server_sessions(server) if s["user"] == "kato.mai" and "kyotsu" in s["shares"]]
        assert "NT_STATUS_ACCESS_DENIED" in smb(client, "kato.mai", "kyotsu", "ls").stdout
        assert smb(client, "kato.mai", "zaimu", "ls").rc == 0  # their department share stays
    finally:
        apply()


def test_tw13_a_disabled_user_of_the_list_has_no_samba_account(client: Host, server: Host) -> None:
    accounts = server.check_output("sudo pdbedit -L | cut -d: -f1").split()
    assert "sato.taro" in accounts  # positive control: an active user has one
    assert "ito.jiro" not in accounts
    refused = smb(client, "ito.jiro", "zaimu", "ls")
    assert refused.rc != 0 and "NT_STATUS_LOGON_FAILURE" in refused.stdout, refused.stdout


# --- the protocol (TW-08) ---


# --- the desktops' own client path (remote_desktop's file_shares: GVfs with the login's password) ---

TOOL = "/usr/local/lib/telework-desktop/tw_file_shares.py"
STASH = "/run/telework-shares"


def login_password(client: Host, user: str, password: str = PASSWORD) -> None:
    """What xrdp-sesman's PAM stack does once pam_unix accepted a password (pam_exec expose_authtok: password, NUL)."""
    client.run_test(f"printf '%s\\0' {shlex.quote(password)} | sudo env PAM_TYPE=auth PAM_USER={user} {TOOL} stash")


def desktop_session(client: Host, user: str, then: str) -> str:
    """A desktop session's start as user: its own D-Bus (GVfs lives there), the autostart's mount, then `then`."""
    script = f"{TOOL} mount; echo mount-rc=$?; {then}"
    command = f"cd /tmp && sudo runuser -u {user} -- dbus-run-session -- sh -c {shlex.quote(script)} 2>&1"
    return str(client.run(command).stdout)


def test_tw13_the_desktops_client_mounts_the_users_shares_with_the_login_password(client: Host, server: Host) -> None:
    name = f"gvfs-{uuid.uuid4().hex[:8]}.txt"
    since = time.time()
    login_password(client, "sato.taro")
    out = desktop_session(
        client,
        "sato.taro",
        f"cat ~/.config/gtk-3.0/bookmarks; echo saved-through-gvfs | gio save smb://{SERVER}/somu/{name}; "
        f"gio list smb://{SERVER}/somu/; gio mount -l 2>/dev/null",
    )
    assert "mount-rc=0" in out, out
    # The shares the server lists for sato.taro (General Affairs): somu (writes) and kyotsu (reads),
    # bookmarked for Thunar and LibreOffice's dialogs; Finance's share is neither mounted nor bookmarked.
    assert f"smb://{SERVER}/somu/ 総務課" in out and f"smb://{SERVER}/kyotsu/ kyotsu" in out, out
    assert f"smb://{SERVER}/zaimu/" not in out, out
    assert name in out, out
    saved = server.file(f"{ROOT}/somu/{name}")
    assert saved.content_string == "saved-through-gvfs\n" and saved.group == "tw-share-somu", saved.content_string
    assert not client.file(f"{STASH}/{client.user('sato.taro').uid}/password").exists  # taken by the session
    mounted = client.check_output(f"sudo journalctl --since=@{since:.0f} -t tw-file-shares -o cat --no-pager")
    assert f"share mounted user=sato.taro server={SERVER} share=somu" in mounted, mounted
    assert "Tw-Lab-Passw0rd" not in mounted


def test_tw13_the_desktops_client_with_a_wrong_password_mounts_nothing_and_never_prompts(client: Host) -> None:
    login_password(client, "suzuki.hanako", "not-the-password")
    started = time.monotonic()
    refused = desktop_session(client, "suzuki.hanako", "gio mount -l 2>/dev/null")
    assert "mount-rc=1" in refused and f"smb://{SERVER}/" not in refused, refused
    assert time.monotonic() - started < 60  # refused at once: no prompt, no retry loop
    # Positive control: the same user, the right password, their department's share.
    login_password(client, "suzuki.hanako")
    ok = desktop_session(client, "suzuki.hanako", "gio mount -l 2>/dev/null")
    assert "mount-rc=0" in ok and f"smb://{SERVER}/zaimu/" in ok and f"smb://{SERVER}/somu/" not in ok, ok


def test_tw13_the_login_password_is_kept_for_its_user_alone_and_briefly(client: Host) -> None:
    uid = client.user("kato.mai").uid
    path = f"{STASH}/{uid}/password"
    login_password(client, "kato.mai")
    kept = client.file(path)
    assert kept.exists and kept.user == "kato.mai" and kept.mode == 0o600, path
    assert client.file(f"{STASH}/{uid}").mode == 0o700 and client.file(STASH).mode == 0o711
    assert kept.content_string == PASSWORD  # the password alone, without pam_exec's NUL
    other = client.run(f"sudo runuser -u sato.taro -- cat {path}")
    assert other.rc != 0 and "Permission denied" in other.stderr, other.stdout
    # The timer's expiry keeps a fresh password (positive control) and deletes one older than 2 min.
    assert client.service("tw-file-shares-expire.timer").is_enabled
    assert client.service("tw-file-shares-expire.timer").is_running
    client.run_test("sudo systemctl start tw-file-shares-expire.service")
    assert client.file(path).exists
    client.run_test(f"sudo touch -d '-3 min' {path}")
    client.run_test("sudo systemctl start tw-file-shares-expire.service")
    assert not client.file(path).exists
    # A session that ends without having taken it (close_session) deletes it too.
    login_password(client, "kato.mai")
    assert client.file(path).exists
    client.run_test(f"sudo env PAM_TYPE=close_session PAM_USER=kato.mai {TOOL} stash < /dev/null")
    assert not client.file(path).exists


def test_turning_the_desktops_file_shares_off_removes_the_helper_and_on_brings_it_back(client: Host) -> None:
    parts = [TOOL, "/etc/telework-desktop/file-shares.json", "/etc/xdg/autostart/tw-file-shares.desktop"]
    assert all(client.file(p).exists for p in parts)  # positive control: the converged client has them

    def shares_only(**extra: Any) -> None:  # the desktop side alone (`--tags file_shares`)
        proc = run_playbook("converge.yml", "--tags", "file_shares", extra_vars=extra or None)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]

    try:
        shares_only(remote_desktop_file_server="")
        assert not any(client.file(p).exists for p in parts), [p for p in parts if client.file(p).exists]
        assert not client.file(STASH).exists
        timer = client.service("tw-file-shares-expire.timer")
        assert not timer.is_running and not client.file("/etc/systemd/system/tw-file-shares-expire.timer").exists
    finally:
        shares_only()
    assert all(client.file(p).exists for p in parts)
    assert client.service("tw-file-shares-expire.timer").is_running


def test_tw08_guest_anonymous_and_wrong_passwords_are_refused(client: Host) -> None:
    assert smb(client, "sato.taro", "somu", "ls").rc == 0  # positive control
    for user, password in ((None, ""), ("guest", ""), ("nobody", ""), ("sato.taro", "wrong-password")):
        out = smb(client, user, "somu", "ls", password=password)
        assert out.rc != 0 and ("NT_STATUS_ACCESS_DENIED" in out.stdout or "NT_STATUS_LOGON_FAILURE" in out.stdout), (
            user,
            out.stdout,
        )
    listing = client.run(f"smbclient -N -L //{SERVER} 2>&1")
    assert listing.rc != 0 and "somu" not in listing.stdout, listing.stdout


def test_tw08_clients_limited_to_smb2_or_smb1_are_refused(client: Host) -> None:
    assert smb(client, "sato.taro", "somu", "ls").rc == 0  # positive control: the same client, SMB3
    smb2 = smb(client, "sato.taro", "somu", "ls", "--option=client min protocol=SMB2_02", "-m", "SMB2_10")
    # (Samba 4.17: "protocol negotiation failed: NT_STATUS_...", 4.22: "Protocol negotiation to server ... failed")
    assert smb2.rc != 0 and "protocol negotiation" in smb2.stdout.lower(), smb2.stdout
    smb1 = smb(client, "sato.taro", "somu", "ls", "--option=client min protocol=NT1", "-m", "NT1")
    assert smb1.rc != 0 and "protocol negotiation" in smb1.stdout.lower(), smb1.stdout
    assert "LOGON_FAILURE" not in smb2.stdout + smb1.stdout  # refused at negotiation, before any login


def test_tw08_every_session_the_server_holds_is_encrypted(server: Host, held: Held) -> None:
    held.open("sato.taro", "somu")
    held.open("suzuki.hanako", "kyotsu")
    sessions = server_sessions(server)
    assert {s["user"] for s in sessions} >= {"sato.taro", "suzuki.hanako"}, sessions
    for s in sessions:
        assert s["dialect"].startswith("SMB3") and s["cipher"].startswith("AES-"), s
    assert "server smb encrypt = required" in server.check_output(f"testparm -s {CONFIG} 2>/dev/null")


def test_tw08_only_port_445_listens(server: Host) -> None:
    assert server.socket("tcp://0.0.0.0:445").is_listening  # positive control
    for port in ("tcp://0.0.0.0:139", "udp://0.0.0.0:137", "udp://0.0.0.0:138"):
        assert not server.socket(port).is_listening, port
    nmbd = server.run("systemctl is-enabled nmbd.service").stdout.strip()
    assert nmbd == "masked" and not server.service("nmbd").is_running, nmbd


# --- audit (TW-09) ---


def test_tw09_connects_writes_renames_deletes_mkdirs_and_failed_logins_reach_syslog(client: Host, server: Host) -> None:
    since = time.time() - 1
    tag = uuid.uuid4().hex[:8]
    client.run_test(f"echo audit > /tmp/a-{tag}.txt")
    ops = smb(
        client,
        "sato.taro",
        "somu",
        f"mkdir dir-{tag}; put /tmp/a-{tag}.txt dir-{tag}/a.txt; rename dir-{tag}/a.txt dir-{tag}/b.txt; "
        f"del dir-{tag}/b.txt; rmdir dir-{tag}",
    )
    assert ops.rc == 0, ops.stdout
    assert smb(client, "sato.taro", "somu", "ls", password="wrong-password").rc != 0

    def lines() -> str:
        return journal_since(server, since) + "\n"

    # smbd_audit: <user>|<client>|<share>|<operation>|ok|<path on the server>
    who, path = "sato.taro|10.231.33.50|somu", f"{ROOT}/somu/dir-{tag}"
    wanted = [
        f"{who}|connect|ok|somu",
        f"{who}|openat|ok|w|{path}/a.txt",
        f"{who}|renameat|ok|{path}/a.txt|{path}/b.txt",
        f"{who}|unlinkat|ok|{path}/b.txt",
        f"{who}|unlinkat|ok|{path}\n",
    ]
    # the folder made: Samba 4.17 logs its path; 4.22 makes it under a temporary name that ends in
    # ":<name>" (.::TMPNAME:D:<pid>%<n>:dir-...) and renames it into place (a renameat line follows)
    mkdir = re.compile(rf"^{re.escape(who)}\|mkdirat\|ok\|\S*[/:]dir-{tag}$", re.MULTILINE)

    def complete(text: str) -> bool:
        return all(w in text for w in wanted) and bool(mkdir.search(text)) and "NT_STATUS_WRONG_PASSWORD" in text

    wait_for(lambda: complete(lines()), 20)
    text = lines()
    assert complete(text), (
        [w for w in wanted if w not in text]
        + ([] if mkdir.search(text) else ["mkdirat"])
        + ([] if "NT_STATUS_WRONG_PASSWORD" in text else ["the failed login"])
        + [ln for ln in text.splitlines() if "mkdir" in ln or f"dir-{tag}" in ln][:10]
    )
    failed = [ln for ln in text.splitlines() if "NT_STATUS_WRONG_PASSWORD" in ln]
    assert any("sato.taro" in ln and "10.231.33.50" in ln for ln in failed), failed


# --- recovery ---


def test_a_deleted_file_is_in_the_recycle_bin_and_the_purge_keeps_it_for_the_set_days(
    client: Host, server: Host
) -> None:
    tag = uuid.uuid4().hex[:8]
    client.run_test(f"echo keep > /tmp/r-{tag}.txt")
    assert smb(client, "sato.taro", "somu", f"mkdir r-{tag}; put /tmp/r-{tag}.txt r-{tag}/doc.txt").rc == 0
    assert smb(client, "sato.taro", "somu", f"del r-{tag}/doc.txt").rc == 0
    binned = f"{ROOT}/somu/.recycle/sato.taro/r-{tag}/doc.txt"
    assert server.file(binned).exists  # the folders of the file are kept
    back = smb(client, "sato.taro", "somu", f"get .recycle/sato.taro/r-{tag}/doc.txt /tmp/back-r-{tag}.txt")
    assert back.rc == 0 and client.file(f"/tmp/back-r-{tag}.txt").content_string == "keep\n"
    # the purge leaves a file deleted 29 days ago and removes one deleted 31 days ago (30 days kept)
    old = f"{ROOT}/somu/.recycle/sato.taro/r-{tag}/old.txt"
    server.run_test(f'sudo sh -c \'echo old > {old}; touch -d "31 days ago" {old}; touch -d "29 days ago" {binned}\'')
    server.run_test("sudo systemctl start tw-recycle-purge.service")
    assert server.file(binned).exists
    assert not server.file(old).exists
    assert server.service("tw-recycle-purge.timer").is_enabled


def test_a_snapshot_restore_brings_back_a_deleted_folder_and_an_overwritten_file(client: Host, server: Host) -> None:
    tag = uuid.uuid4().hex[:8]
    client.run_test(f"echo v1 > /tmp/s-{tag}-a.txt; echo v2 > /tmp/s-{tag}-v2.txt")
    made = smb(
        client,
        "sato.taro",
        "somu",
        f"mkdir s-{tag}; mkdir s-{tag}/plans; put /tmp/s-{tag}-a.txt s-{tag}/plans/a.txt; "
        f"put /tmp/s-{tag}-a.txt s-{tag}-budget.txt",
    )
    assert made.rc == 0, made.stdout
    server.run_test("sudo systemctl start tw-file-snapshot.service")
    versions = server.check_output(f"sudo {SNAPSHOT} list somu s-{tag}/plans/a.txt")
    assert f"s-{tag}/plans/a.txt\t3 bytes" in versions, versions
    # the mistakes, made by staff over SMB: a folder deleted, a file overwritten
    mistakes = smb(client, "sato.taro", "somu", f"deltree s-{tag}; put /tmp/s-{tag}-v2.txt s-{tag}-budget.txt")
    assert mistakes.rc == 0, mistakes.stdout
    assert "NOT_FOUND listing" in smb(client, "tanaka.yui", "somu", f"ls s-{tag}/plans/*").stdout
    # the restore an administrator runs (docs/guide: staff ask for it)
    since = time.time()
    server.run_test(f"sudo {SNAPSHOT} restore somu s-{tag}")
    server.run_test(f"sudo {SNAPSHOT} restore somu s-{tag}-budget.txt --replace")
    # a colleague opens what came back (its share group kept), and the overwritten one is kept aside
    got = smb(
        client,
        "tanaka.yui",
        "somu",
        f"get s-{tag}/plans/a.txt /tmp/s-{tag}-back-a.txt; get s-{tag}-budget.txt /tmp/s-{tag}-back-b.txt",
    )
    assert got.rc == 0, got.stdout
    assert client.file(f"/tmp/s-{tag}-back-a.txt").content_string == "v1\n"
    assert client.file(f"/tmp/s-{tag}-back-b.txt").content_string == "v1\n"
    aside = smb(client, "tanaka.yui", "somu", f"ls s-{tag}-budget.txt.before-restore-*").stdout
    assert re.search(rf"s-{tag}-budget\.txt\.before-restore-\d{{8}}T\d{{6}}Z", aside), aside
    log = journal_since(server, since - 1, "tw-file-snapshot")
    assert f"restore share=somu path=s-{tag} from=@GMT-" in log, log
    assert f"restore share=somu path=s-{tag}-budget.txt from=@GMT-" in log, log


def test_snapshots_are_root_only_incremental_copies_and_expire(server: Host) -> None:
    tag = uuid.uuid4().hex[:8]
    kept = f"{ROOT}/zaimu/k-{tag}.txt"
    old = f"{SNAPSHOT_ROOT}/zaimu/@GMT-2020.01.01-00.00.00"
    server.run_test(f"sudo sh -c 'echo same > {kept}; mkdir -p {old}'")
    server.run_test("sudo systemctl start tw-file-snapshot.service")
    time.sleep(1.1)  # snapshot names are to the second
    server.run_test("sudo systemctl start tw-file-snapshot.service")
    names = server.check_output(f"sudo {SNAPSHOT} list zaimu").split()[1::2]
    assert "@GMT-2020.01.01-00.00.00" not in names and len(names) >= 2, names  # 14 days kept, the newest always
    copies = " ".join(f"{SNAPSHOT_ROOT}/zaimu/{name}/k-{tag}.txt" for name in names[-2:])
    inodes = server.check_output(f"sudo stat -c %i {copies} {kept}").split()
    assert inodes[0] == inodes[1], inodes  # unchanged since the last snapshot: one copy for both days
    assert inodes[2] != inodes[1], inodes  # a copy, never a link to the live file
    # the recycle bin is not copied (one is made here, so that there is one to leave out)
    server.run_test(f"sudo install -d {ROOT}/zaimu/.recycle")
    server.run_test("sudo systemctl start tw-file-snapshot.service")
    newest = server.check_output(f"sudo {SNAPSHOT} list zaimu").split()[-1]
    assert server.run(f"sudo test -d {SNAPSHOT_ROOT}/zaimu/{newest}").rc == 0
    assert server.run(f"sudo test -e {SNAPSHOT_ROOT}/zaimu/{newest}/.recycle").rc == 1
    root = server.file(SNAPSHOT_ROOT)
    assert (root.user, root.group, root.mode) == ("root", "root", 0o700)
    assert server.service("tw-file-snapshot.timer").is_enabled


# --- malware (TW-12) ---

EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SAMPLE = "TW-LAB-INCIDENT-SAMPLE: a harmless file the lab inventory names as malware, to test local signatures\n"


def test_tw12_the_scan_quarantines_what_the_signatures_name_and_logs_each_finding(client: Host, server: Host) -> None:
    tag = uuid.uuid4().hex[:8]
    client.run_test(
        f"printf %s {shlex.quote(EICAR)} > /tmp/m-{tag}.com; printf %s {shlex.quote(SAMPLE)} > /tmp/m-{tag}.txt; "
        f"echo clean > /tmp/m-{tag}-clean.txt"
    )
    for user, share, commands in (
        (
            "sato.taro",
            "somu",
            f"mkdir m-{tag}; put /tmp/m-{tag}.com m-{tag}/eicar.com; put /tmp/m-{tag}-clean.txt m-{tag}/clean.txt",
        ),
        ("suzuki.hanako", "zaimu", f"put /tmp/m-{tag}.txt m-{tag}-sample.txt"),
    ):
        assert smb(client, user, share, commands).rc == 0
    since = time.time()
    server.run_test("sudo systemctl start tw-malware-scan.service")
    warnings = server.check_output(
        f"sudo journalctl --since=@{since - 1:.0f} -t tw-malware-scan -p warning -o cat --no-pager"
    )
    assert f"share=somu path=m-{tag}/eicar.com signature=TW-Test-EICAR.UNOFFICIAL quarantined=" in warnings, warnings
    assert f"share=zaimu path=m-{tag}-sample.txt signature=TW-Lab-Incident-Sample.UNOFFICIAL" in warnings, warnings
    assert "clean.txt" not in warnings
    # gone from the share; the clean file beside it stays (the scan did look there)
    listing = smb(client, "sato.taro", "somu", f"ls m-{tag}/*").stdout
    assert "clean.txt" in listing and "eicar.com" not in listing, listing
    held = server.check_output(f"sudo find {QUARANTINE}/somu -path '*/m-{tag}/eicar.com' -printf '%u %g %m %s\\n'")
    assert held == "root root 600 68", held
    root = server.file(QUARANTINE)
    assert (root.user, root.group, root.mode) == ("root", "root", 0o700)
    # the mirror's signature came through freshclam, before the scan
    assert server.run("sudo test -s /var/lib/clamav/tw-test.hdb").rc == 0


def test_tw12_freshclams_own_daemon_is_masked_so_only_the_wards_sources_are_used(server: Host) -> None:
    assert server.file("/usr/bin/freshclam").exists  # installed, and run by the scan (the test above)
    assert server.run("systemctl is-enabled clamav-freshclam.service").stdout.strip() == "masked"
    assert not server.service("clamav-freshclam.service").is_running
    freshclam = server.file("/etc/clamav/telework-freshclam.conf").content_string
    assert "DatabaseCustomURL file:///srv/av-mirror/tw-test.hdb" in freshclam
    assert "ExcludeDatabase daily" in freshclam  # no mirror of the ClamAV databases in this scenario
    assert server.service("tw-malware-scan.timer").is_enabled


# --- configuration, check mode, bad input ---


def test_the_configuration_passes_testparm_and_serves_no_printers(server: Host) -> None:
    dump = server.check_output(f"testparm -s {CONFIG} 2>/dev/null")
    for line in ("server min protocol = SMB3", "disable netbios = Yes", "restrict anonymous = 2", "load printers = No"):
        assert line in dump, line
    assert "[printers]" not in dump and "[homes]" not in dump


def test_check_mode_on_a_converged_host_reports_no_change() -> None:
    assert converge_check() == {"fs1": 0, "client1": 0}


def test_check_mode_on_a_fresh_host_fails_no_task_and_changes_nothing(client: Host) -> None:
    proc = run_playbook("check_fresh.yml", "--check")
    counters = recap(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert counters["client1"]["failed"] == 0 and counters["client1"]["changed"] > 0, counters
    assert not client.package("samba").is_installed


BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"file_server_shares": [{"name": "Kyotsu Share", "write_departments": ["somu"]}]}, "Kyotsu Share"),
    ({"file_server_shares": [{"name": "homes", "write_departments": ["somu"]}]}, "homes"),
    ({"file_server_shares": [{"name": "kyotsu", "write_groups": ["kikaku"]}]}, "groups kikaku are not a group"),
    ({"file_server_shares": [{"name": "kyotsu", "read_departments": ["jinji"]}]}, "departments jinji are not"),
    ({"file_server_shares": [{"name": "kyotsu"}]}, "shares kyotsu name no department or group"),
    ({"file_server_shares": [{"name": "kyotsu", "path": "srv/kyotsu", "write_departments": ["somu"]}]}, "srv/kyotsu"),
    ({"file_server_root": "shares"}, "file_server_root (shares)"),
    ({"file_server_recycle_keep_days": 0}, "file_server_recycle_keep_days must be 1 or more (got 0)"),
    ({"file_server_audit_operations": ["connect", "fsync"]}, "got connect, fsync"),
    ({"file_server_nt_hashes": {"sato.taro": "e2b064a9541e528a57430a03ee3a9e7b"}}, "has no hash for"),
    ({"file_server_nt_hashes": {"sato.taro": "not-a-hash"}}, "are not 32 hex digits"),
    ({"file_server_firewall_enabled": True, "file_server_firewall_from_zones": ["moon"]}, "got moon"),
    ({"file_server_recycle_keep_days": "thirty"}, "file_server_recycle_keep_days"),
    ({"file_server_snapshot_keep_days": 0}, "file_server_snapshot_keep_days must be 1 or more (got 0)"),
    ({"file_server_snapshot_root": "/srv/shares/snapshots"}, "clash: /srv/shares/snapshots and /srv/shares"),
    ({"file_server_quarantine_dir": "quarantine"}, "file_server_quarantine_dir (quarantine)"),
    ({"file_server_snapshot_calendar": "every night"}, "file_server_snapshot_calendar (every night) is not a systemd"),
    ({"file_server_clamav_custom_urls": [], "file_server_clamav_local_signatures": []}, "wrong now: no source at all"),
    ({"file_server_clamav_local_signatures": ["d7d41a:101"]}, "wrong now: d7d41a:101"),
]


@pytest.fixture(scope="module")
def bad_input() -> list[CaseResult]:
    """Every case in one run of the converge play; smb.conf and the Samba accounts must stay as they are."""
    cases = [Case(extra, message) for extra, message in BAD_INPUT]
    watch = {
        "fs1": f"sha256sum {CONFIG} /etc/telework-file-server/*.json /etc/systemd/system/tw-*; "
        f"sudo pdbedit -L -w | sort; ls {ROOT}"
    }
    return bad_input_batch("converge.yml", cases, plays=["Converge the file server"], watch=watch)


@pytest.mark.parametrize(("extra", "message"), BAD_INPUT)
def test_bad_input_stops_the_play_before_the_host_changes(
    bad_input: list[CaseResult], extra: dict[str, Any], message: str
) -> None:
    assert_refused(bad_input[BAD_INPUT.index((extra, message))], message)
