"""Business chat on the lab site: a teleworker on a remote desktop and a colleague on an office PC.

chat1 (office zone) runs the chat_server role. The XMPP client is the Molecule scenario's probe
(molecule/chat_server/tests/xmpp_probe.py, Debian's slixmpp) on rdp1, the remote desktop a
teleworker reaches through the VPN, and on pc1, an office PC. The login lines must reach the log
server (TW-09); the home PC must not reach the chat server at all (TW-11). Run after `make lab`:

    .venv/bin/python -m pytest -q tests/lab/test_chat.py
"""

from __future__ import annotations

import json
import shlex
import uuid
from typing import Any

import pytest
from testinfra.host import Host

from lab.state import LabState
from tests.support.hosts import ROOT, get_host
from tests.support.polling import wait_for

CHAT = "10.231.35.11"  # chat1's office-zone address
DOMAIN = "chat.lab.test"  # inventories/lab/group_vars/chat_server.yml
PASSWORD = "Tw-Lab-Passw0rd!"
TELEWORKER, TELEWORKER_HOST = "sato.taro", "rdp1"  # General Affairs, on a remote desktop
COLLEAGUE, COLLEAGUE_HOST = "tanaka.yui", "pc1"  # General Affairs, in the office (no telework group)
PROBE = ROOT / "molecule" / "chat_server" / "tests" / "xmpp_probe.py"


def with_probe(name: str) -> Host:
    """The host with slixmpp, the probe, the site CA and the lab password in a file only root reads."""
    host = get_host(name)
    host.run_test("sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-slixmpp")
    ca = get_host("chat1").file("/etc/prosody/telework/tls/ca.pem").content_string
    host.run_test(
        f"sudo install -d -m 0755 /etc/xmpp-probe && printf %s {shlex.quote(ca)} | sudo tee /etc/xmpp-probe/ca.pem"
    )
    host.run_test(f"printf %s {shlex.quote(PROBE.read_text())} | sudo tee /usr/local/bin/xmpp-probe >/dev/null")
    host.run_test("sudo chmod 0755 /usr/local/bin/xmpp-probe")
    host.run_test(f"umask 077; printf %s {shlex.quote(PASSWORD)} | sudo tee /root/xmpp-pw >/dev/null")
    return host


@pytest.fixture(scope="module")
def desktop(site: LabState) -> Host:
    return with_probe(TELEWORKER_HOST)


@pytest.fixture(scope="module")
def office_pc(site: LabState) -> Host:
    return with_probe(COLLEAGUE_HOST)


def probe(host: Host, command: str, *args: str) -> dict[str, Any]:
    argv = ["sudo", "xmpp-probe", command, "--server", CHAT, "--password-file", "/root/xmpp-pw", *args]
    out = host.run(" ".join(shlex.quote(a) for a in argv) + " 2>/dev/null")
    assert out.rc == 0, out.stdout + out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_tw08_a_teleworker_on_a_desktop_and_a_colleague_in_the_office_exchange_messages(
    desktop: Host, office_pc: Host
) -> None:
    body = f"e2e-{uuid.uuid4().hex[:10]}"
    # the probe's chat command logs both in from the host it runs on: once from each side
    there = probe(
        desktop,
        "chat",
        "--jid",
        f"{TELEWORKER}@{DOMAIN}",
        "--to",
        f"{COLLEAGUE}@{DOMAIN}",
        "--password-file-to",
        "/root/xmpp-pw",
        "--body",
        body,
    )
    assert there["ok"] and there["delivered"], there
    back = probe(
        office_pc,
        "chat",
        "--jid",
        f"{COLLEAGUE}@{DOMAIN}",
        "--to",
        f"{TELEWORKER}@{DOMAIN}",
        "--password-file-to",
        "/root/xmpp-pw",
        "--body",
        body + "-reply",
    )
    assert back["ok"] and back["delivered"], back
    # both are in their department's room and the ward-wide room, from either side
    assert probe(desktop, "room", "--jid", f"{TELEWORKER}@{DOMAIN}", "--room", f"somu@rooms.{DOMAIN}")["joined"]
    assert probe(office_pc, "room", "--jid", f"{COLLEAGUE}@{DOMAIN}", "--room", f"zencho@rooms.{DOMAIN}")["joined"]


def test_tw09_chat_logins_reach_the_log_server(desktop: Host) -> None:
    assert probe(desktop, "login", "--jid", f"{TELEWORKER}@{DOMAIN}")["ok"]
    line = "event=login result=success user=" + TELEWORKER + " src=10.231.33.10"
    command = f"sudo grep -rhF -- {shlex.quote(line)} /var/log/remote/chat1/"
    found = wait_for(lambda: get_host("log1").run(command).stdout, 60, step=2)
    assert line in found, found


def test_tw08_the_desktops_own_clients_trust_the_chat_server_through_the_system_ca_bundle(desktop: Host) -> None:
    # Pidgin on the desktop checks the server against the system's CAs (remote_desktop adds the site CA)
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    assert probe(desktop, "login", "--jid", f"{TELEWORKER}@{DOMAIN}", "--ca", bundle)["ok"]
    accounts = desktop.check_output(f"sudo cat /home/{TELEWORKER}/.purple/accounts.xml")
    assert f"<name>{TELEWORKER}@{DOMAIN}/rdp1</name>" in accounts and "require_tls" in accounts, accounts
    assert "<password>" not in accounts


def test_tw11_the_home_pc_cannot_reach_the_chat_server(desktop: Host) -> None:
    reach = (
        "import socket,sys\ntry:\n socket.create_connection((sys.argv[1], 5222), 5); print('open')\n"
        "except OSError: print('closed')"
    )
    # positive control: the desktop reaches the chat port
    assert desktop.check_output(f"python3 -c {shlex.quote(reach)} {CHAT}") == "open"
    assert get_host("home1").check_output(f"python3 -c {shlex.quote(reach)} {CHAT}") == "closed"
