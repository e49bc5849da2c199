"""VPN gateway: a real OpenVPN client on a home PC connects with certificate + one-time code and
reaches only RDP in the desktop zone (TW-04..09, TW-11). Tests run in file order: the revocation
test near the end applies changed staff lists with `--tags staff`, and the check-mode test after
it proves that the gateway is left converged."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import bad_input_batch, converge_check, recap, run_playbook
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.bad_input import Case, CaseResult, assert_refused
from tests.support.certificates import client_certificate, other_ca
from tests.support.hosts import get_host
from tests.support.listeners import Listeners
from tests.support.network import Outcome, assert_blocked, reaches, tcp_probe, temporary_route
from tests.support.nftables import rule_counter
from tests.support.vpn_client import READY, SERVER_UNIT, Session, VpnSite, with_certificate

pytestmark = pytest.mark.journal(SERVER_UNIT)

CONF = "/etc/openvpn/server/telework.conf"
GATEWAY, CLIENT, DESK, OFFICE = "vpngw1", "homepc1", "desk1", "office1"
GATEWAY_HOME, DESK_ADDR, OFFICE_ADDR, GATEWAY_TUNNEL = "10.231.48.10", "10.231.33.10", "10.231.35.10", "10.231.40.1"
PROFILES = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "vpn-profiles"
VPN = VpnSite(client=CLIENT, gateway=GATEWAY, profiles=PROFILES, site_name="molecule")


@pytest.fixture(scope="module")
def probes() -> Iterator[None]:
    """Listeners behind every port the tests probe in the desktop and office zones."""
    listeners = Listeners()
    for name, port in ((DESK, 3389), (DESK, 8080), (OFFICE, 445), (OFFICE, 3389)):
        listeners.ensure(name, port)
    yield
    listeners.close()


@pytest.fixture(scope="module")
def alice(probes: None) -> Iterator[Session]:
    session = VPN.start("alice", VPN.profile("alice.ito"), "alice.ito", VPN.fresh_code("alice.ito"))
    yield session
    session.stop()


# --- a real client: certificate + code, RDP only ---------------------------------------------


def test_tw04_tw08_staff_pc_connects_with_certificate_and_code_and_reaches_rdp(alice: Session) -> None:
    assert reaches(CLIENT, DESK_ADDR, 3389)
    log = alice.log()
    assert re.search(r"Data Channel: cipher '(AES-256-GCM|CHACHA20-POLY1305)'", log), log


def test_tw11_tunnel_reaches_nothing_but_rdp_in_the_desktop_zone(alice: Session) -> None:
    host = get_host(CLIENT)
    # Only the desktop zone is routed into the tunnel; no default route (no redirect-gateway).
    routes = host.check_output("ip -4 route show dev tun0")
    assert "10.231.33.0/24" in routes
    assert "default" not in host.check_output("ip -4 route show")
    assert reaches(CLIENT, DESK_ADDR, 3389)
    # Even with a route of its own, the office zone, other desktop ports and the gateway stay shut;
    # each of them answers the gateway itself (wired into both zones, its own traffic unfiltered).
    with temporary_route(CLIENT, "10.231.35.0/24", dev="tun0"):
        assert_blocked(CLIENT, OFFICE_ADDR, 445, answers_from=GATEWAY)
        assert_blocked(CLIENT, OFFICE_ADDR, 3389, answers_from=GATEWAY)
    assert_blocked(CLIENT, DESK_ADDR, 8080, answers_from=GATEWAY)
    assert_blocked(CLIENT, DESK_ADDR, 22, answers_from=GATEWAY)
    assert_blocked(CLIENT, GATEWAY_TUNNEL, 22, answers_from=GATEWAY)
    assert reaches(CLIENT, DESK_ADDR, 3389)


def test_tw09_connect_and_disconnect_are_logged_to_syslog(alice: Session) -> None:
    tunnel = alice.tunnel_address()
    assert reaches(CLIENT, DESK_ADDR, 3389)
    alice.stop()
    # The server closes the client's instance a few seconds after the client's exit notice.
    deadline = time.monotonic() + 30
    out = ""
    while time.monotonic() < deadline:
        out = get_host(GATEWAY).run("sudo journalctl -t vpn-session -o verbose --no-pager").stdout
        if "event=disconnect user=alice.ito" in out:
            break
        time.sleep(1)
    connect = re.search(
        rf"MESSAGE=event=connect user=alice\.ito cn=alice\.ito real_address=10\.231\.48\.100:\d+ "
        rf"tunnel_address={re.escape(tunnel)} start=\S+Z",
        out,
    )
    disconnect = re.search(
        rf"MESSAGE=event=disconnect user=alice\.ito cn=alice\.ito real_address=10\.231\.48\.100:\d+ "
        rf"tunnel_address={re.escape(tunnel)} start=\S+Z end=\S+Z duration=\d+s bytes_received=(\d+) bytes_sent=(\d+)",
        out,
    )
    assert connect and disconnect, out[-3000:]
    assert int(disconnect.group(1)) > 0 and int(disconnect.group(2)) > 0
    assert "SYSLOG_FACILITY=10" in out  # authpriv: kept by rsyslog and forwarded with the rest


# --- the second factor, the certificate and the lockout --------------------------------------


def test_tw04_wrong_code_is_refused() -> None:
    since = time.time()
    out = VPN.attempt("wrong", VPN.profile("alice.ito"), "alice.ito", VPN.wrong_code("alice.ito"))
    assert READY not in out
    assert "AUTH_FAILED" in out
    assert "PLUGIN_AUTH_USER_PASS_VERIFY status=1" in VPN.server_log(since)


def test_tw04_user_name_must_be_the_certificate_name() -> None:
    # Alice's certificate with Bob's user name and Bob's valid code.
    since = time.time()
    out = VPN.attempt("swap", VPN.profile("alice.ito"), "bob.sato", VPN.fresh_code("bob.sato"))
    assert READY not in out
    assert "reason=username-not-certificate user=bob.sato cn=alice.ito" in VPN.server_log(since)


def test_tw05_certificate_of_another_ca_is_refused() -> None:
    cert, key = client_certificate("alice.ito", *other_ca())
    since = time.time()
    forged = with_certificate(VPN.profile("alice.ito"), cert, key)
    out = VPN.attempt("otherca", forged, "alice.ito", VPN.fresh_code("alice.ito"))
    assert READY not in out
    assert "VERIFY ERROR" in VPN.server_log(since)


def test_tw05_expired_certificate_of_our_ca_is_refused() -> None:
    ca_key = serialization.load_pem_private_key((PROFILES / "pki/ca/ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate((PROFILES / "pki/ca/ca.pem").read_bytes())
    cert, key = client_certificate("alice.ito", ca_key, ca_cert.subject, (-30, -1))
    since = time.time()
    expired = with_certificate(VPN.profile("alice.ito"), cert, key)
    out = VPN.attempt("expired", expired, "alice.ito", VPN.fresh_code("alice.ito"))
    assert READY not in out
    assert re.search(r"VERIFY ERROR.*certificate has expired", VPN.server_log(since))


def test_tw08_client_without_an_aead_cipher_is_refused() -> None:
    since = time.time()
    code = VPN.fresh_code("alice.ito")
    out = VPN.attempt("cbc", VPN.profile("alice.ito"), "alice.ito", code, "--data-ciphers", "AES-256-CBC")
    assert READY not in out
    assert re.search(r"(?i)no common cipher|cipher.*not (allowed|supported)", VPN.server_log(since) + out)


def test_tw06_repeated_wrong_codes_lock_the_user_out() -> None:
    gw = get_host(GATEWAY)
    faillock = "sudo faillock --dir /var/lib/vpn_gateway/telework/faillock --user bob.sato"
    gw.run(f"{faillock} --reset")
    try:
        for i in range(3):
            out = VPN.attempt(f"lock{i}", VPN.profile("bob.sato"), "bob.sato", VPN.wrong_code("bob.sato"))
            assert "AUTH_FAILED" in out
        # The right code no longer helps: the account is locked.
        out = VPN.attempt("locked", VPN.profile("bob.sato"), "bob.sato", VPN.fresh_code("bob.sato"))
        assert READY not in out and "AUTH_FAILED" in out
        assert len(re.findall(r"\sV\s*$", gw.check_output(faillock), re.M)) >= 3
        # An operator's reset lets the user in again with a code: the lockout was the cause.
        gw.run(f"{faillock} --reset")
        session = VPN.start("unlocked", VPN.profile("bob.sato"), "bob.sato", VPN.fresh_code("bob.sato"))
        session.stop()
    finally:
        gw.run(f"{faillock} --reset")


def test_tw07_idle_tunnel_is_closed_by_the_gateway_after_the_inactivity_timeout() -> None:
    # A device certificate of Carol's (TW-05) makes the tunnel; then nothing is sent. The client
    # ignores the pushed `inactive` (as a modified client could), so the gateway must close it.
    session = VPN.start(
        "idle",
        VPN.profile("carol.abe", "laptop"),
        "carol.abe",
        VPN.fresh_code("carol.abe"),
        "--pull-filter",
        "ignore",
        "inactive",
    )
    since = time.time()
    try:
        assert "PUSH_REPLY,inactive 30" in session.log()  # well-behaved clients close themselves too
        inactive = re.compile(r"carol\.abe/\S+ Inactivity timeout \(--inactive\)")
        deadline = time.monotonic() + 60
        log = ""
        while time.monotonic() < deadline:
            # both lines: the connection log and the server's reason are read from two journal
            # streams, and one may be fetched a moment before the other shows up
            log = VPN.server_log(since)
            if "event=disconnect user=carol.abe" in log and inactive.search(log):
                break
            time.sleep(2)
        assert inactive.search(log), log[-2000:]
        assert "event=disconnect user=carol.abe" in log
        assert time.time() - since >= 25
    finally:
        session.stop()


# --- the home zone, the server's settings, the profiles --------------------------------------


def test_tw11_home_zone_reaches_neither_the_gateways_ssh_nor_the_desktop_zone_directly(probes: None) -> None:
    gateway = get_host(GATEWAY)
    # sshd listens on every address of the gateway (the home one too) and answers on the desktop
    # side; from the home zone, the probe reaches the gateway and its "only the VPN port" rule
    # drops it (the gateway's own traffic to its home address is filtered too, so no host of the
    # scenario can show port 22 answering there: the counter shows the probe met the rule).
    assert gateway.socket("tcp://0.0.0.0:22").is_listening
    assert reaches(DESK, "10.231.33.1", 22), "the gateway's sshd must answer where it is allowed"
    refused = rule_counter(GATEWAY, "vpn_gateway", "input", "only the VPN port from outside")
    assert tcp_probe(CLIENT, GATEWAY_HOME, 22) is Outcome.TIMEOUT
    assert rule_counter(GATEWAY, "vpn_gateway", "input", "only the VPN port from outside") > refused
    # Routed straight at the desktop zone through the gateway (no tunnel: alice's ended in the
    # TW-09 test, and temporary_route refuses to replace a tunnel's route), with a way back from
    # the desktop host (so only the gateway's rules stand in between): dropped there.
    dropped = rule_counter(GATEWAY, "vpn_gateway", "forward", "not an allowed flow")
    with (
        temporary_route(CLIENT, "10.231.33.0/24", via=GATEWAY_HOME, towards=DESK_ADDR),
        temporary_route(DESK, "10.231.48.0/24", via="10.231.33.1", towards="10.231.48.100"),
    ):
        assert_blocked(CLIENT, DESK_ADDR, 3389, answers_from=GATEWAY)
    assert rule_counter(GATEWAY, "vpn_gateway", "forward", "not an allowed flow") > dropped
    assert gateway.sysctl("net.ipv4.ip_forward") == 1  # it does forward: the rules refuse


def test_tw08_server_accepts_only_tls12_and_aead_without_fallback() -> None:
    conf = get_host(GATEWAY).file(CONF).content_string
    lines = {line.split()[0]: line for line in conf.splitlines() if line and not line.startswith("#")}
    assert lines["tls-version-min"] == "tls-version-min 1.2"
    assert lines["data-ciphers"] == "data-ciphers AES-256-GCM:CHACHA20-POLY1305"
    assert "data-ciphers-fallback" not in lines and "cipher" not in lines
    assert lines["verify-client-cert"] == "verify-client-cert require"
    assert lines["remote-cert-tls"] == "remote-cert-tls client"
    assert {"tls-crypt", "crl-verify", "ccd-exclusive", "inactive", "reneg-sec"} <= set(lines)
    assert "client-to-client" not in lines and "redirect-gateway" not in conf and "duplicate-cn" not in lines


def test_tw05_one_profile_per_active_user_and_device_only_operator_readable() -> None:
    assert PROFILES.stat().st_mode & 0o777 == 0o700
    profiles = sorted(p.name for p in (PROFILES / "users").rglob("*.ovpn"))
    assert profiles == [
        "molecule-alice.ito.ovpn",
        "molecule-bob.sato.ovpn",
        "molecule-carol.abe-laptop.ovpn",
        "molecule-carol.abe-tablet.ovpn",
    ]
    for p in (PROFILES / "users").rglob("*"):
        assert p.stat().st_mode & 0o077 == 0, p
    text = VPN.profile("carol.abe", "tablet")
    for block in ("ca", "cert", "key", "tls-crypt"):
        assert f"<{block}>" in text and f"</{block}>" in text
    certs = [
        x509.load_pem_x509_certificate(
            re.search(r"<cert>\n(.*?)</cert>", VPN.profile("carol.abe", d), re.S).group(1).encode()
        )
        for d in ("laptop", "tablet")
    ]
    assert {c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value for c in certs} == {"carol.abe"}
    assert certs[0].serial_number != certs[1].serial_number


def test_tw04_enrolment_has_secret_uri_and_qr_code() -> None:
    d = PROFILES / "users" / "alice.ito"
    text = (d / "totp.txt").read_text()
    b32 = VPN.secret("alice.ito")
    assert re.fullmatch(r"[A-Z2-7]{32}", b32)
    assert "otpauth://totp/" in text and f"secret={b32}" in text and "digits=6" in text
    assert (d / "totp-qr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("playbook", "controller_dirs"),
    [("fresh_check.yml", ["vpn-profiles-fresh"]), ("site_pki_gateway.yml", ["vpn-profiles-site-pki", "pki-site"])],
    ids=["builtin-ca", "site-ca"],
)
def test_check_mode_on_a_fresh_host_fails_nothing_and_writes_nothing(playbook: str, controller_dirs: list[str]) -> None:
    proc = run_playbook(playbook, "--check")
    counters = recap(proc.stdout)
    assert proc.returncode == 0 and counters.get("vpngw2", {}).get("failed") == 0, proc.stdout[-3000:]
    assert counters["vpngw2"]["changed"] > 0  # positive control: the run would install the gateway
    assert [d for d in controller_dirs if (PROFILES.parent / d).exists()] == []
    assert not get_host("vpngw2").file("/etc/openvpn/server/telework.conf").exists
    assert not get_host("vpngw2").file("/etc/openvpn/server/telework").exists


# --- the site CA (vpn_gateway_pki_provider: site_pki) on the second gateway --------------------

SITE_PKI = PROFILES.parent / "pki-site"
SITE_PROFILES = PROFILES.parent / "vpn-profiles-site-pki"


def test_tw08_with_the_site_ca_the_server_certificate_is_installed_and_a_staff_pc_connects() -> None:
    """After the check-mode test above: converge vpngw2 on the site CA, then connect to it."""
    proc = run_playbook("site_pki_gateway.yml")
    assert proc.returncode == 0, proc.stdout[-4000:]
    gw = get_host("vpngw2")
    etc = "/etc/openvpn/server/telework"
    issued = SITE_PKI / "issued" / "vpns-vpngw2"
    # The files are the site CA's, with the modes the role always gave them.
    assert gw.file(f"{etc}/server.pem").content_string == (issued / "cert.pem").read_text()
    assert gw.file(f"{etc}/ca.pem").content_string == (SITE_PKI / "ca" / "ca.pem").read_text()
    expected = {"": 0o755, "/server.pem": 0o644, "/ca.pem": 0o644, "/server.key": 0o600}
    for name, mode in expected.items():
        f = gw.file(etc + name)
        assert (f.user, f.group, f.mode) == ("root", "root", mode), name
    server = x509.load_pem_x509_certificate((issued / "cert.pem").read_bytes())
    server.verify_directly_issued_by(x509.load_pem_x509_certificate((SITE_PKI / "ca" / "ca.pem").read_bytes()))
    # A staff PC with its profile of this gateway gets in (the client checks the server's certificate).
    text = (SITE_PROFILES / "users" / "alice.ito" / "molecule-alice.ito.ovpn").read_text()
    b32 = (SITE_PROFILES / "secrets" / "totp" / "alice.ito.b32").read_text().strip()
    VPN.start("site-ca", text, "alice.ito", VPN.fresh_code("alice.ito", b32)).stop()
    # A second run changes nothing.
    again = run_playbook("site_pki_gateway.yml")
    assert again.returncode == 0 and recap(again.stdout)["vpngw2"]["changed"] == 0, again.stdout[-4000:]


BAD_INPUT: list[tuple[dict[str, object], str]] = [
    ({"vpn_gateway_port": 70000}, "vpn_gateway_port"),
    ({"vpn_gateway_proto": "sctp"}, "vpn_gateway_proto"),
    ({"vpn_gateway_data_ciphers": ["AES-256-GCM", "AES-256-CBC"]}, "vpn_gateway_data_ciphers"),
    ({"vpn_gateway_tls_version_min": "1.1"}, "vpn_gateway_tls_version_min"),
    ({"vpn_gateway_inactive_seconds": "soon"}, "vpn_gateway_inactive_seconds"),
    ({"vpn_gateway_allowed_zones": ["internet"]}, "vpn_gateway_allowed_zones"),
    (
        {"vpn_gateway_flows": [{"name": "x", "to_zones": ["office"], "proto": "tcp", "ports": [0]}]},
        "vpn_gateway_flows",
    ),
    ({"telework_users": [{"id": "Bad Name", "state": "active", "groups": []}]}, "vpn_gateway_users"),
    ({"telework_users": [{"id": "x.y", "state": "gone", "groups": []}]}, "vpn_gateway_users"),
]


@pytest.fixture(scope="module")
def bad_input() -> list[CaseResult]:
    """Every case in one run of the gateway's converge play (the other play installs client tools)."""
    cases = [Case(extra, message) for extra, message in BAD_INPUT]
    return bad_input_batch(
        "converge.yml", cases, plays=["Converge the VPN gateway"], watch={GATEWAY: f"sha256sum {CONF}"}
    )


@pytest.mark.parametrize(("extra", "message"), BAD_INPUT)
def test_bad_input_stops_the_play_before_anything_changes(
    bad_input: list[CaseResult], extra: dict[str, object], message: str
) -> None:
    assert_refused(bad_input[BAD_INPUT.index((extra, message))], message)


# --- revocation: disabled, removed, dropped device (near the end: it applies other staff lists) -


def _users(*extra: dict[str, object], carol_devices: list[str]) -> list[dict[str, object]]:
    base: list[dict[str, object]] = [
        {"id": "alice.ito", "groups": ["telework"], "state": "active"},
        {"id": "bob.sato", "groups": ["telework"], "state": "active"},
        {"id": "carol.abe", "groups": ["telework"], "state": "active", "devices": carol_devices},
        {"id": "dan.mori", "groups": [], "state": "active"},
        {"id": "eve.kato", "groups": ["telework"], "state": "disabled"},
    ]
    return base + list(extra)


def _staff_run(users: list[dict[str, object]] | None) -> None:
    """The operator's fast path (README: `--tags staff`) on the gateway, with another staff list
    (None: the scenario's own). The staff-tagged tasks are all that reads the list."""
    extra = None if users is None else {"telework_users": users}
    proc = run_playbook("converge.yml", "--tags", "staff", "--limit", GATEWAY, extra_vars=extra)
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_tw05_disabled_removed_and_dropped_device_certificates_are_revoked_and_refused() -> None:
    frank = {"id": "frank.ueno", "groups": ["telework"], "state": "active"}
    gina = {"id": "gina.oda", "groups": ["telework"], "state": "active"}
    alice_secret = VPN.secret("alice.ito")
    _staff_run(_users(frank, gina, carol_devices=["laptop", "tablet"]))
    saved = {
        "frank": (VPN.profile("frank.ueno"), VPN.secret("frank.ueno")),
        "gina": (VPN.profile("gina.oda"), VPN.secret("gina.oda")),
        "tablet": (VPN.profile("carol.abe", "tablet"), VPN.secret("carol.abe")),
    }
    # Frank is connected (and busy) when he is disabled; Gina is removed from the list, Carol's tablet dropped.
    live = VPN.start("frank-live", saved["frank"][0], "frank.ueno", VPN.fresh_code("frank.ueno", saved["frank"][1]))
    get_host(CLIENT).run(f"sudo systemd-run --unit vpntest-busy --collect ping -i 2 -W 1 {DESK_ADDR}")
    since = time.time()
    try:
        _staff_run(_users({**frank, "state": "disabled"}, carol_devices=["laptop"]))
        # His open session ends at once (management socket), not at the next renegotiation.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "event=disconnect user=frank.ueno" not in VPN.server_log(since):
            time.sleep(1)
        assert "event=disconnect user=frank.ueno" in VPN.server_log(since), VPN.server_log(since)[-2000:]
    finally:
        get_host(CLIENT).run("sudo systemctl stop vpntest-busy")
        live.stop()
    gw = get_host(GATEWAY)
    crl = gw.check_output("openssl crl -in /etc/openvpn/server/telework/crl.pem -noout -text")
    assert crl.count("Serial Number:") >= 3
    assert not (PROFILES / "users" / "frank.ueno").exists() and not (PROFILES / "users" / "gina.oda").exists()
    assert not gw.file("/etc/openvpn/server/telework/ccd/frank.ueno").exists
    assert not gw.user("frank.ueno").exists
    assert "frank.ueno" not in gw.check_output("sudo cat /var/lib/vpn_gateway/telework/users.oath")
    assert VPN.secret("alice.ito") == alice_secret  # secrets are kept, never regenerated
    user_of = {"frank": "frank.ueno", "gina": "gina.oda", "tablet": "carol.abe"}
    for name, (text, b32) in saved.items():
        since = time.time()
        out = VPN.attempt(f"revoked-{name}", text, user_of[name], VPN.fresh_code(user_of[name], b32))
        assert READY not in out, name
        # Refused at the certificate, by the CRL: for Carol (still active, her account, code and
        # client-config file are there) nothing else could refuse it.
        log = VPN.server_log(since)
        assert re.search(r"VERIFY ERROR.*certificate revoked", log), (name, log[-2000:])
    # Carol's laptop still works.
    VPN.start("laptop", VPN.profile("carol.abe", "laptop"), "carol.abe", VPN.fresh_code("carol.abe")).stop()
    # Back to the scenario's list: the tablet gets a new certificate and profile.
    _staff_run(None)
    assert (PROFILES / "users" / "carol.abe" / "molecule-carol.abe-tablet.ovpn").exists()


# --- last: the staff runs above left the site converged ---------------------------------------


def test_check_mode_reports_no_change_on_a_converged_site() -> None:
    assert set(converge_check().values()) == {0}
