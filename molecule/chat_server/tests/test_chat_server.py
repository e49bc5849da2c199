"""The chat server proved with real XMPP clients (Debian's slixmpp, and a plain socket, on client1).

chat1 runs Prosody (role chat_server) for the scenario's staff list: two departments (somu, zaimu),
an office member without the telework group (tanaka.yui), a disabled user (ito.jiro) and a planning
room for the kikaku group. client1 stands for a remote desktop and runs tests/xmpp_probe.py, which
prints what the server did as JSON. Every verdict is read from the server's answers or its journal,
never from the role's own report. Every user's password is the lab's "Tw-Lab-Passw0rd!".
"""

from __future__ import annotations

import json
import shlex
import uuid
from typing import Any

import pytest
from conftest import bad_input_batch, converge_check, inventory_vars, recap, run_playbook
from testinfra.host import Host

from tests.support.bad_input import Case, CaseResult, assert_refused
from tests.support.hosts import get_host
from tests.support.polling import wait_for

pytestmark = pytest.mark.journal("prosody", "saslauthd")

SERVER = "10.231.33.30"
DOMAIN = "chat.molecule.example"
ROOMS = f"rooms.{DOMAIN}"
PASSWORD = "Tw-Lab-Passw0rd!"
CLIENT = "10.231.33.50"
CONFIG = "/etc/prosody/prosody.cfg.lua"


@pytest.fixture(scope="module")
def server() -> Host:
    return get_host("chat1")


@pytest.fixture(scope="module")
def client(server: Host) -> Host:
    """client1 with the site CA (from chat1) and the password files the probe reads."""
    host = get_host("client1")
    ca = server.file("/etc/prosody/telework/tls/ca.pem").content_string
    host.run(
        f"sudo install -d -m 0755 /etc/xmpp-probe && printf %s {shlex.quote(ca)} | sudo tee /etc/xmpp-probe/ca.pem"
    )
    host.run(f"umask 077; printf %s {shlex.quote(PASSWORD)} > /tmp/pw-good; printf %s wrong-password > /tmp/pw-bad")
    return host


def jid(user: str) -> str:
    return f"{user}@{DOMAIN}"


def probe(client: Host, command: str, *args: str, password: str = "good") -> dict[str, Any]:
    argv = ["xmpp-probe", command, "--server", SERVER, "--password-file", f"/tmp/pw-{password}", *args]
    out = client.run(" ".join(shlex.quote(a) for a in argv) + " 2>/dev/null")
    assert out.rc == 0, out.stdout + out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def login(client: Host, user: str, password: str = "good") -> dict[str, Any]:
    return probe(client, "login", "--jid", jid(user), password=password)


def journal_since(server: Host, since: str) -> str:
    return server.check_output(f"sudo journalctl -t prosody --no-pager -o cat --since {shlex.quote(since)}")


def now(server: Host) -> str:
    return server.check_output("date '+%Y-%m-%d %H:%M:%S'")


# --- logins: TLS only, the user's own password, the staff list decides -------------------------


def test_tw08_two_staff_log_in_over_tls_and_a_message_reaches_the_other(client: Host) -> None:
    alone = login(client, "sato.taro")
    assert alone["ok"] and alone["tls"] in ("TLSv1.2", "TLSv1.3"), alone
    body = f"hello-{uuid.uuid4().hex[:8]}"
    sent = probe(
        client,
        "chat",
        "--jid",
        jid("sato.taro"),
        "--to",
        jid("kato.mai"),
        "--password-file-to",
        "/tmp/pw-good",
        "--body",
        body,
    )
    assert sent["ok"] and sent["delivered"], sent
    assert {"from": jid("sato.taro"), "body": body} in sent["received"]


def test_tw08_a_client_that_will_not_use_tls_gets_no_login(client: Host) -> None:
    plain = probe(client, "plain", "--domain", DOMAIN, "--jid", jid("sato.taro"))
    assert plain["starttls_required"], plain
    assert plain["mechanisms"] == [], plain  # no way to log in is even offered before TLS
    assert not plain["success"] and "encryption-required" in plain["answer"], plain
    # positive control: the same user and password over TLS get in
    assert login(client, "sato.taro")["ok"]


def test_tw13_in_band_registration_is_refused(client: Host) -> None:
    reg = probe(client, "register", "--domain", DOMAIN)
    assert reg["ok"], reg
    assert reg["mechanisms"] == ["PLAIN"], reg  # positive control: after TLS the login is offered
    assert not reg["register_feature"], reg
    assert reg["result"] == "error" and not reg["form"], reg


def test_tw11_no_federation_the_server_port_is_closed_and_remote_addresses_are_not_reached(
    server: Host, client: Host
) -> None:
    listening = server.check_output("ss -Htln").split()
    assert any(s.endswith(":5222") for s in listening)  # positive control: the client port listens
    assert not any(s.endswith(":5269") or s.endswith(":5270") for s in listening), listening
    reach = (
        "import socket,sys\ntry:\n socket.create_connection((sys.argv[1], int(sys.argv[2])), 5); print('open')\n"
        "except OSError: print('closed')"
    )
    assert client.check_output(f"python3 -c {shlex.quote(reach)} {SERVER} 5222") == "open"
    assert client.check_output(f"python3 -c {shlex.quote(reach)} {SERVER} 5269") == "closed"
    remote = probe(client, "remote", "--jid", jid("sato.taro"), "--to", "someone@example.org")
    assert remote["ok"], remote  # logged in: the refusal below is the server's answer to the message
    assert set(remote["errors"]) & {"not-allowed", "remote-server-not-found", "service-unavailable"}, remote
    assert "s2s" not in server.check_output("sudo ss -Htnp state established")


def test_tw13_wrong_passwords_and_disabled_users_are_refused_and_every_login_is_logged(
    server: Host, client: Host
) -> None:
    since = now(server)
    assert not login(client, "sato.taro", password="bad")["ok"]
    assert not login(client, "ito.jiro")["ok"]  # disabled in the staff list, right password
    assert login(client, "tanaka.yui")["ok"]  # office staff (no telework group) use chat too
    lines = wait_for(lambda: (j := journal_since(server, since)) and "user=tanaka.yui" in j and j, 15)
    assert f"event=login result=failure user=sato.taro src={CLIENT}" in lines, lines
    assert f"event=login result=failure user=ito.jiro src={CLIENT}" in lines, lines
    assert f"event=login result=success user=tanaka.yui src={CLIENT}" in lines, lines
    assert wait_for(lambda: f"event=logout user=tanaka.yui src={CLIENT}" in journal_since(server, since), 15)
    assert PASSWORD not in lines and "wrong-password" not in lines


def test_tw08_the_configuration_offers_tls_1_2_and_newer_only_and_archives_for_the_retention(server: Host) -> None:
    config = server.file(CONFIG).content_string
    assert 'protocol = "tlsv1_2+"' in config
    assert 'archive_expires_after = "90d"' in config and 'muc_log_expires_after = "90d"' in config
    assert "c2s_require_encryption = true" in config and "allow_registration = false" in config
    check = server.run("sudo prosodyctl check config")
    assert check.rc == 0, check.stdout


def test_prosody_may_hold_one_open_file_per_connected_staff_member(server: Host) -> None:
    """Debian's unit keeps systemd's 1,024 open files: logins stopped at about 1,000 clients (make bench-chat)."""
    pid = server.check_output("systemctl show -p MainPID --value prosody").strip()
    assert pid not in ("", "0"), "prosody is not running"
    limits = server.check_output(f"sudo cat /proc/{pid}/limits")
    soft = next(line.split()[3] for line in limits.splitlines() if line.startswith("Max open files"))
    assert soft == "16384", limits


# --- rosters and rooms from the staff list -----------------------------------------------------


def test_tw13_the_roster_groups_the_ward_by_department(client: Host) -> None:
    roster = probe(client, "roster", "--jid", jid("sato.taro"))
    assert roster["ok"], roster
    assert roster["groups"] == {
        "総務課": [jid("tanaka.yui")],
        "財政課": [jid("kato.mai"), jid("suzuki.hanako")],
    }, roster  # everyone active but oneself, grouped; the disabled user is not there


def test_tw13_a_department_room_refuses_another_department_and_returns_its_history(client: Host) -> None:
    said = f"room-{uuid.uuid4().hex[:8]}"
    member = probe(client, "room", "--jid", jid("sato.taro"), "--room", f"somu@{ROOMS}", "--say", said, "--history")
    assert member["joined"], member
    assert said in member["history"], member  # the archive query returns what was said
    other = probe(client, "room", "--jid", jid("kato.mai"), "--room", f"somu@{ROOMS}", "--history")
    assert not other["joined"] and other["error"] == "registration-required", other
    assert said not in other["history"], other
    ward = probe(client, "room", "--jid", jid("kato.mai"), "--room", f"zencho@{ROOMS}")
    assert ward["joined"], ward  # the ward-wide room takes everyone


def test_tw13_a_group_room_takes_its_members_across_departments(client: Host) -> None:
    assert probe(client, "room", "--jid", jid("kato.mai"), "--room", f"kikaku@{ROOMS}")["joined"]
    assert probe(client, "room", "--jid", jid("tanaka.yui"), "--room", f"kikaku@{ROOMS}")["joined"]  # somu
    refused = probe(client, "room", "--jid", jid("suzuki.hanako"), "--room", f"kikaku@{ROOMS}")
    assert not refused["joined"] and refused["error"] == "registration-required", refused


def test_tw13_no_one_creates_rooms_of_their_own(client: Host) -> None:
    made = probe(client, "room", "--jid", jid("sato.taro"), "--room", f"private-{uuid.uuid4().hex[:6]}@{ROOMS}")
    assert not made["joined"] and made["error"] in ("not-allowed", "forbidden"), made
    assert probe(client, "room", "--jid", jid("sato.taro"), "--room", f"zencho@{ROOMS}")["joined"]


# --- revocation --------------------------------------------------------------------------------


def test_tw13_disabling_a_user_refuses_them_and_ends_their_open_session(server: Host, client: Host) -> None:
    since = now(server)
    out = f"/tmp/hold-{uuid.uuid4().hex[:8]}.json"
    client.run(
        f"nohup xmpp-probe login --server {SERVER} --password-file /tmp/pw-good --jid {jid('kato.mai')} "
        f"--hold 240 > {out} 2>/dev/null &"
    )
    assert wait_for(lambda: "event=login result=success user=kato.mai" in journal_since(server, since), 30)
    users = [{**u, "state": "disabled"} if u["id"] == "kato.mai" else u for u in inventory_vars()["telework_users"]]
    try:
        proc = run_playbook("converge.yml", "--tags", "staff", extra_vars={"telework_users": users})
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert recap(proc.stdout)["chat1"]["changed"] > 0, proc.stdout[-3000:]
        held = wait_for(lambda: client.run(f"cat {out}").stdout.strip(), 30)
        assert held, "the session of the disabled user was not ended"
        result = json.loads(held)
        assert result["ok"] and result["ended_by_server"], result
        assert "event=logout user=kato.mai" in journal_since(server, since)
        assert not login(client, "kato.mai")["ok"]
        kikaku = server.check_output("sudo cat /etc/prosody/telework/staff.json")
        assert jid("kato.mai") not in kikaku
    finally:
        restore = run_playbook("converge.yml", "--tags", "staff")
        assert restore.returncode == 0, restore.stdout[-3000:]
    assert login(client, "kato.mai")["ok"]  # positive control: active again, in again
    assert probe(client, "room", "--jid", jid("kato.mai"), "--room", f"kikaku@{ROOMS}")["joined"]


# --- check mode and bad input ------------------------------------------------------------------


def test_check_mode_on_a_converged_host_reports_no_change() -> None:
    assert converge_check() == {"chat1": 0}


def test_check_mode_on_a_fresh_host_fails_no_task_and_changes_nothing(client: Host) -> None:
    proc = run_playbook("check_fresh.yml", "--check")
    counters = recap(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert counters["client1"]["failed"] == 0 and counters["client1"]["changed"] > 0, counters
    assert not client.package("prosody").is_installed


BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"chat_server_rooms": [{"name": "Kikaku Room", "title": "企画", "groups": ["kikaku"]}]}, "Kikaku Room"),
    ({"chat_server_rooms": [{"name": "somu", "title": "総務", "groups": ["kikaku"]}]}, "used once"),
    ({"chat_server_rooms": [{"name": "kikaku", "title": "企画", "departments": ["jinji"]}]}, "departments jinji"),
    ({"chat_server_rooms": [{"name": "kikaku", "title": "企画", "groups": ["nobody"]}]}, "groups nobody"),
    ({"chat_server_rooms": [{"name": "kikaku", "title": "企画"}]}, "rooms kikaku name no department or group"),
    ({"chat_server_archive_retention": "one year"}, "chat_server_archive_retention must be"),
    ({"chat_server_archive_retention": "0d"}, "got 0d"),
    ({"chat_server_domain": "Chat_Server"}, "got Chat_Server"),
    ({"chat_server_ward_room": {"name": "zaimu", "title": "全庁"}}, "used once"),
    ({"chat_server_tls_protocols": ["TLSv1.1"]}, "chat_server_tls_protocols"),
    ({"chat_server_max_connections_per_user": 0}, "chat_server_max_connections_per_user 1 or more"),
    ({"chat_server_max_open_files": 256}, "chat_server_max_open_files 1024 or more (got 256)"),
    ({"chat_server_firewall_enabled": True, "chat_server_firewall_from_zones": ["moon"]}, "got moon"),
]


@pytest.fixture(scope="module")
def bad_input() -> list[CaseResult]:
    """Every case in one run of the converge play; Prosody's files and the accounts must stay as they are."""
    cases = [Case(extra, message) for extra, message in BAD_INPUT]
    watch = {
        "chat1": f"sha256sum {CONFIG} /etc/prosody/telework/*.json /etc/prosody/telework/*.txt /etc/pam.d/xmpp; "
        "getent passwd | sort"
    }
    return bad_input_batch("converge.yml", cases, watch=watch)


@pytest.mark.parametrize(("extra", "message"), BAD_INPUT)
def test_bad_input_stops_the_play_before_the_host_changes(
    bad_input: list[CaseResult], extra: dict[str, Any], message: str
) -> None:
    assert_refused(bad_input[BAD_INPUT.index((extra, message))], message)
