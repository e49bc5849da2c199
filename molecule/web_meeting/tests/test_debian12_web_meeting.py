"""Web meetings proved with real browsers: two headless Chromium on client1 (Selenium, Debian's).

meet1 runs the role for the scenario's staff list: two departments (somu, zaimu), an office member
without the telework group (tanaka.yui), a disabled user (ito.jiro) and a planning room for the
kikaku group. client1 runs tests/meeting_probe.py, which signs in through the page's form, joins a
room with Chromium's fake camera and microphone and reads WebRTC's own statistics. Every verdict
is read from the browsers, Janus's answers or meet1's journal, never from the role's report.
Every user's password is the lab's "Tw-Lab-Passw0rd!".
"""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import bad_input_batch, converge_check, inventory_vars, recap, run_playbook
from testinfra.host import Host

from tests.support.bad_input import Case, CaseResult, assert_refused
from tests.support.hosts import get_host
from tests.support.polling import wait_for

pytestmark = pytest.mark.journal("janus", "telework-meeting", "coturn", "nginx", "saslauthd")

SERVER = "10.231.35.40"
CLIENT = "10.231.35.50"
DOMAIN = "meet.molecule.example"
URL = f"https://{DOMAIN}/"
PASSWORD = "Tw-Lab-Passw0rd!"
STATE = "/etc/telework-meeting/meeting.json"
ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts" / "web-meeting"


def room_id(name: str) -> int:
    """Janus's number for a room (ansible/plugins/filter/web_meeting.py)."""
    return 100_000_000 + int(hashlib.sha256(name.encode()).hexdigest()[:12], 16) % 900_000_000


@pytest.fixture(scope="module")
def server() -> Host:
    return get_host("meet1")


@pytest.fixture(scope="module")
def client(server: Host) -> Host:
    """client1 with the site CA in Chromium's NSS database and the password file the probe reads."""
    host = get_host("client1")
    ca = server.file("/etc/telework-meeting/tls/ca.pem").content_string
    host.run(
        f"sudo install -d -m 0700 /etc/meeting-probe && printf %s {shlex.quote(ca)}"
        " | sudo tee /etc/meeting-probe/ca.pem"
    )
    host.run(f"umask 077; printf %s {shlex.quote(PASSWORD)} | sudo tee /etc/meeting-probe/password >/dev/null")
    host.run("printf %s wrong-password > /tmp/pw-bad")
    nss = "sql:/root/.pki/nssdb"
    made = host.run(
        f"sudo mkdir -p /root/.pki/nssdb && (sudo test -f /root/.pki/nssdb/cert9.db"
        f" || sudo certutil -d {nss} -N --empty-password </dev/null)"
    )
    assert made.rc == 0, made.stderr
    added = host.run(f"sudo certutil -d {nss} -A -t C,, -n telework-site-ca -i /etc/meeting-probe/ca.pem </dev/null")
    assert added.rc == 0, added.stderr
    return host


def probe(client: Host, command: str, *args: str) -> list[dict[str, Any]]:
    argv = ["sudo", "meeting-probe", command, "--url", URL, *args]
    out = client.run(" ".join(shlex.quote(a) for a in argv) + " 2>/tmp/meeting-probe.err")
    err = client.run("cat /tmp/meeting-probe.err").stdout[-2000:]
    assert out.rc == 0, out.stdout + err
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def journal_since(server: Host, since: str) -> str:
    return server.check_output(f"sudo journalctl -t telework-meeting --no-pager -o cat --since {shlex.quote(since)}")


def now(server: Host) -> str:
    return server.check_output("date '+%Y-%m-%d %H:%M:%S'")


def keep_screenshots(client: Host, directory: str) -> list[Path]:
    """Copy the probe's screenshots into artifacts/web-meeting/ (test artifacts of the run)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    kept = []
    for name in client.check_output(f"ls {directory}").split():
        data = client.check_output(f"base64 -w0 {directory}/{name}")
        path = ARTIFACTS / name
        path.write_bytes(base64.b64decode(data))
        kept.append(path)
    return kept


# --- media: two staff see and hear each other, directly and through TURN --------------------------


def test_tw08_two_staff_of_a_department_see_and_hear_each_other(server: Host, client: Host) -> None:
    since = now(server)
    shots = f"/tmp/shots-{uuid.uuid4().hex[:6]}"
    results = probe(client, "meet", "--room", "somu", "--user", "sato.taro", "--user", "tanaka.yui", "--shots", shots)
    assert [r["user"] for r in results] == ["sato.taro", "tanaka.yui"], results
    for r in results:
        assert r["flowing"], r
        assert r["stats"]["feeds"] == 1, r
        assert r["stats"]["video"]["framesDecoded"] >= 30, r
        assert r["stats"]["audio"]["packetsReceived"] >= 50, r
        assert not r["stats"]["relay"], r  # straight to Janus's media ports
    # each sees the other's name from the staff list, not one it typed
    assert list(results[0]["state"]["feeds"].values()) == ["田中 結衣"], results[0]["state"]
    assert list(results[1]["state"]["feeds"].values()) == ["佐藤 太郎"], results[1]["state"]
    kept = keep_screenshots(client, shots)
    assert len(kept) == 2 and all(p.stat().st_size > 10_000 for p in kept), kept
    # TW-09: the joins and leaves are on the journal that goes to the log server
    lines = wait_for(lambda: (j := journal_since(server, since)) and "event=leave user=tanaka.yui" in j and j, 20)
    assert lines, journal_since(server, since)
    for user in ("sato.taro", "tanaka.yui"):
        assert f"event=signin result=success user={user} src={CLIENT}" in lines, lines
        assert f"event=join result=success user={user} room=somu src={CLIENT}" in lines, lines
        assert f"event=leave user={user} room=somu src={CLIENT}" in lines, lines


def test_tw08_a_browser_forced_through_turn_still_gets_media(client: Host) -> None:
    results = probe(client, "meet", "--relay", "--room", "zaimu", "--user", "suzuki.hanako", "--user", "kato.mai")
    for r in results:
        assert r["flowing"], r
        assert r["stats"]["relay"], r  # the nominated pair uses coturn's relay candidate
        assert r["stats"]["video"]["framesDecoded"] >= 30 and r["stats"]["audio"]["packetsReceived"] >= 50, r


# --- who may enter what -----------------------------------------------------------------------------


def test_tw13_a_member_of_another_department_is_refused_the_room(server: Host, client: Host) -> None:
    since = now(server)
    [own] = probe(client, "forbidden", "--user", "kato.mai", "--room-id", str(room_id("zaimu")))
    # positive control: her own department's room lets her in through the same path
    assert own["signed_in"] and own["answer"]["plugindata"]["data"]["videoroom"] == "joined", own
    assert own["rooms"] == ["zaimu", "zencho", "kikaku"], own  # kikaku: her group's room
    [other] = probe(client, "forbidden", "--user", "kato.mai", "--room-id", str(room_id("somu")))
    assert "somu" not in other["rooms"], other
    assert other["answer"]["janus"] == "error" and other["answer"]["error"]["code"] == 403, other
    assert f"event=join result=refused user=kato.mai room={room_id('somu')} src={CLIENT}" in journal_since(
        server, since
    )


def test_tw13_wrong_passwords_and_disabled_users_cannot_sign_in_and_every_attempt_is_logged(
    server: Host, client: Host
) -> None:
    since = now(server)
    [good] = probe(client, "signin", "--user", "tanaka.yui")  # office staff (no telework group) too
    assert good["signed_in"] and good["rooms"] == ["somu", "zencho", "kikaku"], good  # kikaku takes somu
    [bad] = probe(client, "signin", "--user", "sato.taro", "--password-file", "/tmp/pw-bad")
    assert not bad["signed_in"], bad
    [disabled] = probe(client, "signin", "--user", "ito.jiro")  # disabled in the staff list, right password
    assert not disabled["signed_in"], disabled
    lines = journal_since(server, since)
    assert f"event=signin result=success user=tanaka.yui src={CLIENT}" in lines, lines
    assert f"event=signin result=failure user=sato.taro src={CLIENT}" in lines, lines
    assert f"event=signin result=failure user=ito.jiro src={CLIENT}" in lines, lines
    assert PASSWORD not in lines and "wrong-password" not in lines


# --- Janus itself: tokens, no admin API, nothing but the VideoRoom on 127.0.0.1 ----------------------

JANUS_CLIENT = r"""
import asyncio, base64, hashlib, hmac, json, sys, time
import aiohttp
async def main(token):
    async with aiohttp.ClientSession() as s, s.ws_connect("ws://127.0.0.1:8188/", protocols=("janus-protocol",)) as ws:
        request = {"janus": "info" if sys.argv[1] == "info" else "create", "transaction": "t"}
        if token:
            request["token"] = token
        await ws.send_json(request)
        print(json.dumps(await ws.receive_json(timeout=10)))
secret = open("/etc/telework-meeting/janus-token.secret").read().strip()
data = f"{int(time.time()) + 60},janus,janus.plugin.videoroom"
signed = data + ":" + base64.b64encode(hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()).decode()
asyncio.run(main({"none": None, "bad": data + ":" + base64.b64encode(b"x" * 20).decode()}.get(sys.argv[2], signed)))
"""


def janus(server: Host, request: str, token: str) -> dict[str, Any]:
    out = server.check_output(f"sudo python3 -c {shlex.quote(JANUS_CLIENT)} {request} {token}")
    result: dict[str, Any] = json.loads(out)
    return result


def test_tw11_janus_refuses_a_request_without_a_valid_token(server: Host) -> None:
    assert janus(server, "create", "signed")["janus"] == "success"  # positive control: the glue's kind of token
    for token in ("none", "bad"):
        answer = janus(server, "create", token)
        assert answer["janus"] == "error" and answer["error"]["code"] == 403, (token, answer)


def test_tw11_janus_runs_the_videoroom_and_websockets_only_and_no_admin_api(server: Host, client: Host) -> None:
    info = janus(server, "info", "signed")
    assert info["janus"] == "server_info", info
    assert sorted(info["plugins"]) == ["janus.plugin.videoroom"], info["plugins"]
    assert sorted(info["transports"]) == ["janus.transport.websockets"], info["transports"]
    assert not info.get("events") and not info.get("loggers"), info
    listening = server.check_output("sudo ss -Hltnp")
    janus_tcp = [line.split()[3] for line in listening.splitlines() if '"janus"' in line]
    assert janus_tcp == ["127.0.0.1:8188"], listening  # WebSockets on loopback, no HTTP/admin ports
    assert server.socket("tcp://127.0.0.1:8089").is_listening  # the glue, loopback only
    # from a staff PC: the page answers (positive control), Janus's and the glue's ports do not
    reach = client.run(
        f'for p in 443 8188 8088 7088 7188 8089; do timeout 3 bash -c "</dev/tcp/{SERVER}/$p" 2>/dev/null '
        "&& echo $p:open || echo $p:closed; done"
    )
    assert reach.stdout.split() == [
        "443:open",
        "8188:closed",
        "8088:closed",
        "7088:closed",
        "7188:closed",
        "8089:closed",
    ]


def test_tw08_the_page_is_https_only_with_the_site_certificate_and_a_strict_policy(client: Host) -> None:
    page = client.run(f"curl -sS -D - --cacert /etc/meeting-probe/ca.pem {URL}")
    assert page.rc == 0, page.stderr
    assert "<title>Web会議</title>" in page.stdout and "職員ID" in page.stdout
    assert "content-security-policy: default-src 'self'" in page.stdout.lower()
    assert "strict-transport-security" in page.stdout.lower()
    for version, works in (("-tls1_2", True), ("-tls1_3", True), ("-tls1_1", False)):
        hello = client.run(
            f"echo | openssl s_client {version} -connect {SERVER}:443 -servername {DOMAIN} "
            "-CAfile /etc/meeting-probe/ca.pem -verify_return_error 2>&1"
        )
        assert (hello.rc == 0 and "Verify return code: 0 (ok)" in hello.stdout) is works, (version, hello.stdout[-800:])
    assert client.run(f"timeout 3 bash -c '</dev/tcp/{SERVER}/80'").rc != 0  # no plain HTTP


# --- revocation --------------------------------------------------------------------------------------


def test_tw13_disabling_a_user_takes_them_out_of_the_meeting_and_refuses_their_sign_in(
    server: Host, client: Host
) -> None:
    since = now(server)
    out = f"/tmp/hold-{uuid.uuid4().hex[:8]}.jsonl"
    client.run(
        f"sudo nohup meeting-probe hold --url {URL} --room zaimu --user suzuki.hanako --out {out} --seconds 240"
        " >/dev/null 2>&1 &"
    )

    def held() -> list[dict[str, Any]]:
        text = client.run(f"cat {out} 2>/dev/null").stdout
        return [json.loads(x) for x in text.splitlines() if x.startswith("{")]

    assert wait_for(lambda: any(x.get("state", {}).get("joined") for x in held()), 60), held()[-3:]
    staff = inventory_vars()["telework_users"]
    users = [{**u, "state": "disabled"} if u["id"] == "suzuki.hanako" else u for u in staff]
    try:
        proc = run_playbook("converge.yml", "--tags", "staff", extra_vars={"telework_users": users})
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert recap(proc.stdout)["meet1"]["changed"] > 0, proc.stdout[-3000:]
        assert wait_for(lambda: not held()[-1].get("state", {}).get("joined", True), 30), held()[-3:]
        lines = journal_since(server, since)
        assert f"event=leave user=suzuki.hanako room=zaimu src={CLIENT} reason=revoked" in lines, lines
        [again] = probe(client, "signin", "--user", "suzuki.hanako")
        assert not again["signed_in"], again
        assert "suzuki.hanako" not in server.check_output(f"sudo cat {STATE}")
    finally:
        restore = run_playbook("converge.yml", "--tags", "staff")
        client.run("sudo pkill -TERM -f '[m]eeting-probe hold' ; true")
        assert restore.returncode == 0, restore.stdout[-3000:]
    [back] = probe(client, "signin", "--user", "suzuki.hanako")  # positive control: active again, in again
    assert back["signed_in"] and "zaimu" in back["rooms"], back


# --- check mode and bad input -----------------------------------------------------------------------


def test_check_mode_on_a_converged_host_reports_no_change() -> None:
    assert converge_check() == {"meet1": 0}


def test_check_mode_on_a_fresh_host_fails_no_task_and_changes_nothing(client: Host) -> None:
    proc = run_playbook("check_fresh.yml", "--check")
    counters = recap(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert counters["client1"]["failed"] == 0 and counters["client1"]["changed"] > 0, counters
    assert not client.package("janus").is_installed


BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"web_meeting_rooms": [{"name": "Kikaku Room", "title": "企画", "groups": ["kikaku"]}]}, "wrong: Kikaku Room"),
    ({"web_meeting_rooms": [{"name": "somu", "title": "総務", "groups": ["kikaku"]}]}, "wrong: somu"),
    ({"web_meeting_rooms": [{"name": "kikaku", "title": "企画", "departments": ["jinji"]}]}, "(unknown: jinji)"),
    ({"web_meeting_rooms": [{"name": "kikaku", "title": "企画", "groups": ["nobody"]}]}, "(unknown: nobody)"),
    ({"web_meeting_rooms": [{"name": "kikaku", "title": "企画"}]}, "(none: kikaku)"),
    (
        {"web_meeting_media_ports": {"start": 20000, "end": 21500}},
        "must be ranges within 1024-65535 that do not overlap",
    ),
    ({"web_meeting_turn_port": 20010}, "web_meeting_turn_port (20010) outside both"),
    ({"web_meeting_domain": "Meet_Server"}, "got Meet_Server"),
    ({"web_meeting_max_publishers": 1}, "web_meeting_max_publishers must be 2-64 (got 1)"),
    ({"web_meeting_media_address": "meet1"}, "web_meeting_media_address"),
    ({"web_meeting_firewall_enabled": True, "web_meeting_firewall_from_zones": ["moon"]}, "got moon"),
]


@pytest.fixture(scope="module")
def bad_input() -> list[CaseResult]:
    """Every case in one run of the converge play; the glue's, Janus's and coturn's files and the accounts stay."""
    cases = [Case(extra, message) for extra, message in BAD_INPUT]
    watch = {
        "meet1": f"sudo sha256sum {STATE} /etc/janus/janus.jcfg /etc/turnserver.conf"
        " /etc/nginx/sites-available/telework-meeting; "
        "getent passwd | sort"
    }
    return bad_input_batch("converge.yml", cases, watch=watch)


@pytest.mark.parametrize(("extra", "message"), BAD_INPUT)
def test_bad_input_stops_the_play_before_the_host_changes(
    bad_input: list[CaseResult], extra: dict[str, Any], message: str
) -> None:
    assert_refused(bad_input[BAD_INPUT.index((extra, message))], message)
