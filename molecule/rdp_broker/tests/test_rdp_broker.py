"""The session broker proved with a real RDP client (FreeRDP under Xvfb on client1).

brk1 runs HAProxy (role rdp_broker) in front of desk1 and desk2, two real RDP servers (Debian's
xrdp without a desktop: they answer the connection request, speak TLS and show xrdp's login
screen, and each connection stays up as long as the client keeps it). FreeRDP sends the user name
in the connection cookie (`mstshash`) as any RDP client does. Where a connection landed is read on
the desktop hosts themselves (the established TCP connection from the broker), never from the
broker's own view, so the broker cannot prove itself right.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import converge_check, recap, run_playbook
from testinfra.host import Host

from tests.support.hosts import get_host
from tests.support.polling import wait_for
from tests.support.rdp import connections_from

pytestmark = pytest.mark.journal("haproxy", "xrdp")

BROKER = "10.231.33.5"
CLIENT = "10.231.33.50"
DESKS = {"desk1": "10.231.33.10", "desk2": "10.231.33.11"}
CONFIG = "/etc/haproxy/haproxy.cfg"
SOCKET = "/run/haproxy/admin.sock"
# The HAProxy master and its workers: a reload starts new workers, the runtime API does not.
PROCESSES = "pgrep -a haproxy | sort"


def runtime(command: str) -> str:
    """One command of HAProxy's runtime API on the broker."""
    return get_host("brk1").check_output(f"echo '{command}' | sudo socat stdio {SOCKET}")


def broker_connections(desk: str) -> set[str]:
    """Source ports of the established connections from the broker to this desktop host's RDP port."""
    return connections_from(get_host(desk), BROKER, 3389)


class Clients:
    """FreeRDP connections from client1 through the broker, and where each one landed."""

    def __init__(self) -> None:
        self.client = get_host("client1")
        self.where: dict[str, tuple[str, str]] = {}  # connection name -> (desk, broker's source port)

    def connect(self, user: str) -> str:
        """Connect user through the broker; the desktop host the connection landed on."""
        before = {d: broker_connections(d) for d in DESKS}
        name = f"brk-{user}"
        proc = self.client.run(
            f"rdp_probe start {name} --host {BROKER} --user {user} --password wrong-on-purpose --client-name pc-{user}"
        )
        assert proc.rc == 0, proc.stdout + proc.stderr

        def landed() -> tuple[str, str] | None:
            new = [(d, p) for d in DESKS for p in broker_connections(d) - before[d]]
            return new[0] if len(new) == 1 else None

        # A health check is a connection too, but it closes at once: a landing must still be there 1 s later.
        for _ in range(3):
            found = wait_for(landed, 20)
            assert found, f"{user}: no new connection from the broker on any desktop host\n{self.log(name)}"
            time.sleep(1)
            if found[1] in broker_connections(found[0]):
                break
        assert self.alive(name), f"{user}: FreeRDP ended\n{self.log(name)}"
        self.where[name] = found
        return found[0]

    def alive(self, name: str) -> bool:
        return self.client.run(f"rdp_probe alive {name}").rc == 0

    def log(self, name: str) -> str:
        return self.client.run(f"cat /run/rdp-probe/{name}/freerdp.log").stdout[-1500:]

    def disconnect(self, user: str) -> None:
        name = f"brk-{user}"
        self.client.run(f"rdp_probe stop {name}")
        desk, port = self.where.pop(name, (None, None))
        if desk:
            assert wait_for(lambda: port not in broker_connections(desk), 15), f"{user}'s connection stayed on {desk}"

    def disconnect_all(self) -> None:
        for name in list(self.where):
            self.disconnect(name.removeprefix("brk-"))
        self.client.run('for d in /run/rdp-probe/brk-*; do [ -d "$d" ] && rdp_probe stop "$(basename $d)"; done; true')


def apply(**extra: Any) -> str:
    """Run the converge playbook with extra variables (as an operator's inventory change would)."""
    proc = run_playbook("converge.yml", extra_vars=extra or None)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout


def server_state(desk: str) -> dict[str, str]:
    """The broker's view of one server: operational state (2 = up, 0 = down) and weight."""
    for line in runtime("show servers state desktops").splitlines():
        fields = line.split()
        if len(fields) > 8 and fields[3] == desk:
            return {"state": fields[5], "weight": fields[7]}
    raise AssertionError(f"{desk} is not a server of the broker")


def other(desk: str) -> str:
    return next(d for d in DESKS if d != desk)


@pytest.fixture(scope="module")
def broker() -> Host:
    return get_host("brk1")


@pytest.fixture
def clients(broker: Host) -> Iterator[Clients]:
    """A broker with an empty stick table, both desktop hosts up, and no client connected."""
    for desk in DESKS:
        get_host(desk).check_output("sudo systemctl start xrdp")
    assert wait_for(lambda: all(server_state(d)["state"] == "2" for d in DESKS), 30), runtime("show servers state")
    runtime("clear table desktops")
    c = Clients()
    c.disconnect_all()
    yield c
    c.disconnect_all()


def test_tw11_new_users_spread_by_load_and_a_returning_user_goes_back_to_their_host(clients: Clients) -> None:
    first = clients.connect("sato.taro")
    # by load: the second new user goes to the host without a connection
    second = clients.connect("suzuki.hanako")
    assert second == other(first)
    # a third user lands somewhere and leaves; then the other host is made the less loaded one
    third = clients.connect("takahashi.ken")
    clients.disconnect("takahashi.ken")
    clients.disconnect("suzuki.hanako" if third == first else "sato.taro")
    # leastconn alone would now pick the other host: the user still comes back to theirs
    assert clients.connect("takahashi.ken") == third
    # the positive control of the load rule, in the same state: a new user takes the less loaded host
    assert clients.connect("tanaka.yui") == other(third)


def test_tw11_the_user_name_decides_whatever_its_case(clients: Clients) -> None:
    home = clients.connect("ito.jiro")
    clients.disconnect("ito.jiro")
    first = clients.connect("sato.taro")
    clients.connect("suzuki.hanako")  # one connection on each host
    clients.disconnect("suzuki.hanako" if first == home else "sato.taro")  # the load is on home only
    assert clients.connect("ITO.JIRO") == home


def test_tw11_a_drained_host_takes_no_new_user_while_its_user_keeps_working(clients: Clients) -> None:
    drained = clients.connect("sato.taro")
    desk, port = clients.where["brk-sato.taro"]
    processes = get_host("brk1").check_output(PROCESSES)
    try:
        out = apply(rdp_broker_drain=[drained])
        assert "RUNNING HANDLER [rdp_broker : Reload haproxy]" not in out, out[-3000:]
        assert wait_for(lambda: server_state(drained)["weight"] == "0", 10), runtime("show servers state desktops")
        # applied through the runtime API: the same HAProxy processes, the same TCP connection, a live client
        assert get_host("brk1").check_output(PROCESSES) == processes
        assert port in broker_connections(desk) and clients.alive("brk-sato.taro")
        # three new users: without the drain the third would go to the drained host (1 against 2)
        for user in ("suzuki.hanako", "takahashi.ken", "tanaka.yui"):
            assert clients.connect(user) == other(drained), user
        # the drained host's own user still reaches it, from a new connection
        clients.disconnect("sato.taro")
        assert clients.connect("sato.taro") == drained
    finally:
        apply()
    # positive control: back in service, the host takes the next new user (it has the fewest)
    assert wait_for(lambda: server_state(drained)["weight"] == "100", 10)
    assert clients.connect("ito.jiro") == drained


def test_tw11_a_reload_cuts_no_connection_and_keeps_the_users_hosts(clients: Clients) -> None:
    home = clients.connect("sato.taro")
    desk, port = clients.where["brk-sato.taro"]
    workers = get_host("brk1").check_output(PROCESSES)
    try:
        out = apply(rdp_broker_stick_expire="13h")  # any change but the weights reloads HAProxy
        assert "RUNNING HANDLER [rdp_broker : Reload haproxy]" in out, out[-3000:]
        assert get_host("brk1").check_output(PROCESSES) != workers  # a new worker took over
        # the old worker still carries the connection: nothing was cut
        assert port in broker_connections(desk) and clients.alive("brk-sato.taro")
        # the new process got the stick table from the old one (local peer)
        assert re.search(rf"key=sato\.taro .*server_key={home}", runtime("show table desktops"))
        clients.disconnect("sato.taro")
        assert clients.connect("sato.taro") == home
    finally:
        apply()


def test_tw11_a_host_that_is_down_is_skipped(clients: Clients) -> None:
    down = clients.connect("sato.taro")
    clients.disconnect("sato.taro")
    get_host(down).check_output("sudo systemctl stop xrdp")
    try:
        assert wait_for(lambda: server_state(down)["state"] == "0", 30), runtime("show servers state desktops")
        # new users and the user whose host went down reach the host that is up
        assert clients.connect("suzuki.hanako") == other(down)
        assert clients.connect("sato.taro") == other(down)
    finally:
        get_host(down).check_output("sudo systemctl start xrdp")
    # positive control: back up, the host takes the next new user again
    assert wait_for(lambda: server_state(down)["state"] == "2", 30)
    assert clients.connect("takahashi.ken") == down


def test_tw09_one_log_line_per_connection_with_client_user_host_bytes_and_duration(
    clients: Clients, broker: Host
) -> None:
    since = broker.check_output("date '+%Y-%m-%d %H:%M:%S'")
    desk = clients.connect("suzuki.hanako")
    port = clients.where["brk-suzuki.hanako"][1]
    time.sleep(2)
    clients.disconnect("suzuki.hanako")

    def line() -> str:
        out = broker.run(f"sudo journalctl -t haproxy --since '{since}' --no-pager -o cat").stdout
        return next((x for x in out.splitlines() if 'user="suzuki.hanako"' in x), "")

    found = wait_for(line, 15)
    m = re.search(
        r'TW-09 rdp-broker event=connection user="suzuki.hanako" client=(?P<client>[\d.]+):\d+ host=(?P<host>\S+) '
        r"server=(?P<server>[\d.]+):3389 via=(?P<via>[\d.]+):(?P<port>\d+) bytes_from_client=(?P<up>\d+) "
        r"bytes_to_client=(?P<down>\d+) duration_ms=(?P<ms>\d+)",
        found,
    )
    assert m, found or broker.run(f"sudo journalctl -t haproxy --since '{since}' --no-pager -o cat").stdout[-2000:]
    # what the desktop host saw is what the broker logged: the host, and the broker's port towards it
    assert (m["client"], m["host"], m["server"]) == (CLIENT, desk, DESKS[desk])
    assert (m["via"], m["port"]) == (BROKER, port)
    assert int(m["up"]) > 1000 and int(m["down"]) > 1000 and int(m["ms"]) >= 2000, found
    # the line is a syslog record (journald's syslog identifier and priority), which rsyslog forwards
    fields = broker.check_output(
        f"sudo journalctl -t haproxy --since '{since}' --no-pager -o verbose --output-fields=SYSLOG_IDENTIFIER,PRIORITY"
    )
    assert "SYSLOG_IDENTIFIER=haproxy" in fields and "PRIORITY=6" in fields, fields


def test_tw08_tls_runs_end_to_end_between_the_client_and_the_desktop(broker: Host) -> None:
    out = get_host("client1").run(f"rdp_probe tls --host {BROKER} --version TLSv1_2")
    assert out.rc == 0, out.stdout
    served = "".join(json.loads(out.stdout.strip().splitlines()[-1])["certificate"].split())
    desks = {d: "".join(get_host(d).check_output("sudo cat /etc/xrdp/cert.pem").split()) for d in DESKS}
    assert any(served in pem for pem in desks.values()), "the certificate the client saw is not a desktop host's"
    # the broker holds no certificate or key of its own and speaks no TLS: it relays bytes
    config = broker.file(CONFIG).content_string
    assert "ssl" not in config and "crt" not in config and "mode http" not in config


def test_the_configuration_is_checked_by_haproxy(broker: Host) -> None:
    assert broker.run(f"sudo haproxy -c -f {CONFIG}").rc == 0
    assert "stick on req.rdp_cookie(mstshash),lower" in broker.file(CONFIG).content_string


def test_check_mode_on_a_converged_host_reports_no_change() -> None:
    assert converge_check() == {"brk1": 0}


def test_check_mode_on_a_fresh_host_fails_no_task_and_changes_nothing() -> None:
    fresh = get_host("client1")
    proc = run_playbook("check_fresh.yml", "--check")
    counters = recap(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert counters["client1"]["failed"] == 0 and counters["client1"]["changed"] > 0, counters
    assert not fresh.package("haproxy").is_installed


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"rdp_broker_drain": ["desk3"]}, "rdp_broker_drain names desk3"),
        ({"rdp_broker_desktop_group": "no_such_group"}, "'no_such_group' (rdp_broker_desktop_group) has no hosts"),
        ({"rdp_broker_address_var": "no_such_var"}, "'no_such_var' (rdp_broker_address_var) of desk1, desk2"),
        ({"rdp_broker_stick_expire": "12 hours"}, "rdp_broker_stick_expire (12 hours)"),
        ({"rdp_broker_peers_port": 3389}, "peers port (3389)"),
        ({"rdp_broker_firewall_enabled": True, "rdp_broker_firewall_from_zones": ["moon"]}, "got moon"),
        ({"rdp_broker_port": "rdp"}, "rdp_broker_port"),
        # passes the preflight, refused by `haproxy -c` (validate): the live file stays as it is
        ({"rdp_broker_bind_address": "10.231.33.300"}, "failed to validate"),
    ],
)
def test_bad_input_stops_the_play_before_the_broker_changes(broker: Host, bad: dict[str, Any], named: str) -> None:
    state = "sha256sum /etc/haproxy/haproxy.cfg; systemctl show -p MainPID haproxy; pgrep -c -u haproxy haproxy"
    before = broker.check_output(state)
    assert broker.run(f"sudo haproxy -c -f {CONFIG}").rc == 0  # positive control: the live config is good
    proc = run_playbook("converge.yml", extra_vars=bad)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert named in output, output[-3000:]
    assert recap(proc.stdout)["brk1"]["changed"] == 0
    assert broker.check_output(state) == before
