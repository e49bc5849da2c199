"""VPN gateway: a real OpenVPN client on a home PC connects with certificate + one-time code and
reaches only RDP in the desktop zone (TW-04..09, TW-11). Tests run in file order: the revocation
test at the end converges the gateway with changed staff lists."""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator

import pytest
from conftest import converge_check, recap, run_playbook
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from vpn_client import (
    CLIENT,
    DESK,
    DESK_ADDR,
    GATEWAY,
    GATEWAY_HOME,
    GATEWAY_TUNNEL,
    OFFICE,
    OFFICE_ADDR,
    PROFILES,
    READY,
    UNIT,
    Session,
    attempt,
    fresh_code,
    get,
    listen,
    profile,
    reaches,
    secret,
    server_log,
    start,
    wrong_code,
)

pytestmark = pytest.mark.journal(UNIT)

CONF = "/etc/openvpn/server/telework.conf"


@pytest.fixture(scope="module")
def probes() -> None:
    listen(DESK, 3389)
    listen(DESK, 8080)
    listen(OFFICE, 445)
    listen(OFFICE, 3389)


@pytest.fixture(scope="module")
def alice(probes: None) -> Iterator[Session]:
    session = start("alice", profile("alice.ito"), "alice.ito", fresh_code("alice.ito"))
    yield session
    session.stop()


# --- a real client: certificate + code, RDP only ---------------------------------------------


def test_tw04_tw08_staff_pc_connects_with_certificate_and_code_and_reaches_rdp(alice: Session) -> None:
    assert reaches(CLIENT, DESK_ADDR, 3389)
    log = alice.log()
    assert re.search(r"Data Channel: cipher '(AES-256-GCM|CHACHA20-POLY1305)'", log), log


def test_tw11_tunnel_reaches_nothing_but_rdp_in_the_desktop_zone(alice: Session) -> None:
    host = get(CLIENT)
    # Only the desktop zone is routed into the tunnel; no default route (no redirect-gateway).
    routes = host.check_output("ip -4 route show dev tun0")
    assert "10.231.33.0/24" in routes
    assert "default" not in host.check_output("ip -4 route show")
    # Even with a route of its own, the office zone, other desktop ports and the gateway stay shut.
    host.run("sudo ip route replace 10.231.35.0/24 dev tun0")
    try:
        assert not reaches(CLIENT, OFFICE_ADDR, 445)
        assert not reaches(CLIENT, OFFICE_ADDR, 3389)
    finally:
        host.run("sudo ip route del 10.231.35.0/24 dev tun0")
    assert not reaches(CLIENT, DESK_ADDR, 8080)
    assert not reaches(CLIENT, DESK_ADDR, 22)
    assert not reaches(CLIENT, GATEWAY_TUNNEL, 22)
    assert reaches(CLIENT, DESK_ADDR, 3389)


def test_tw09_connect_and_disconnect_are_logged_to_syslog(alice: Session) -> None:
    tunnel = alice.tunnel_address()
    assert reaches(CLIENT, DESK_ADDR, 3389)
    alice.stop()
    # The server closes the client's instance a few seconds after the client's exit notice.
    deadline = time.monotonic() + 30
    out = ""
    while time.monotonic() < deadline:
        out = get(GATEWAY).run("sudo journalctl -t vpn-session -o verbose --no-pager").stdout
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
    out = attempt("wrong", profile("alice.ito"), "alice.ito", wrong_code("alice.ito"))
    assert READY not in out
    assert "AUTH_FAILED" in out
    assert "PLUGIN_AUTH_USER_PASS_VERIFY status=1" in server_log(since)


def test_tw04_user_name_must_be_the_certificate_name() -> None:
    # Alice's certificate with Bob's user name and Bob's valid code.
    since = time.time()
    out = attempt("swap", profile("alice.ito"), "bob.sato", fresh_code("bob.sato"))
    assert READY not in out
    assert "reason=username-not-certificate user=bob.sato cn=alice.ito" in server_log(since)


def _own_cert(
    cn: str, ca_key: ec.EllipticCurvePrivateKey, ca_name: x509.Name, days: tuple[int, int]
) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=days[0]))
        .not_valid_after(now + datetime.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def _with_cert(text: str, cert: str, key: str) -> str:
    text = re.sub(r"<cert>.*?</cert>", lambda _: f"<cert>\n{cert}</cert>", text, flags=re.S)
    return re.sub(r"<key>.*?</key>", lambda _: f"<key>\n{key}</key>", text, flags=re.S)


def test_tw05_certificate_of_another_ca_is_refused() -> None:
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "someone else's CA")])
    cert, key = _own_cert("alice.ito", other_key, other_name, (-1, 30))
    since = time.time()
    out = attempt("otherca", _with_cert(profile("alice.ito"), cert, key), "alice.ito", fresh_code("alice.ito"))
    assert READY not in out
    assert "VERIFY ERROR" in server_log(since)


def test_tw05_expired_certificate_of_our_ca_is_refused() -> None:
    ca_key = serialization.load_pem_private_key((PROFILES / "pki/ca/ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate((PROFILES / "pki/ca/ca.pem").read_bytes())
    cert, key = _own_cert("alice.ito", ca_key, ca_cert.subject, (-30, -1))
    since = time.time()
    out = attempt("expired", _with_cert(profile("alice.ito"), cert, key), "alice.ito", fresh_code("alice.ito"))
    assert READY not in out
    assert re.search(r"VERIFY ERROR.*certificate has expired", server_log(since))


def test_tw08_client_without_an_aead_cipher_is_refused() -> None:
    since = time.time()
    out = attempt("cbc", profile("alice.ito"), "alice.ito", fresh_code("alice.ito"), "--data-ciphers", "AES-256-CBC")
    assert READY not in out
    assert re.search(r"(?i)no common cipher|cipher.*not (allowed|supported)", server_log(since) + out)


def test_tw06_repeated_wrong_codes_lock_the_user_out() -> None:
    gw = get(GATEWAY)
    faillock = "sudo faillock --dir /var/lib/vpn_gateway/telework/faillock --user bob.sato"
    gw.run(f"{faillock} --reset")
    try:
        for i in range(3):
            out = attempt(f"lock{i}", profile("bob.sato"), "bob.sato", wrong_code("bob.sato"))
            assert "AUTH_FAILED" in out
        # The right code no longer helps: the account is locked.
        out = attempt("locked", profile("bob.sato"), "bob.sato", fresh_code("bob.sato"))
        assert READY not in out and "AUTH_FAILED" in out
        assert len(re.findall(r"\sV\s*$", gw.check_output(faillock), re.M)) >= 3
        # An operator's reset lets the user in again with a code: the lockout was the cause.
        gw.run(f"{faillock} --reset")
        session = start("unlocked", profile("bob.sato"), "bob.sato", fresh_code("bob.sato"))
        session.stop()
    finally:
        gw.run(f"{faillock} --reset")


def test_tw07_idle_tunnel_is_closed_by_the_gateway_after_the_inactivity_timeout() -> None:
    # A device certificate of Carol's (TW-05) makes the tunnel; then nothing is sent. The client
    # ignores the pushed `inactive` (as a modified client could), so the gateway must close it.
    session = start(
        "idle",
        profile("carol.abe", "laptop"),
        "carol.abe",
        fresh_code("carol.abe"),
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
            log = server_log(since)
            if "event=disconnect user=carol.abe" in log and inactive.search(log):
                break
            time.sleep(2)
        assert inactive.search(log), log[-2000:]
        assert "event=disconnect user=carol.abe" in log
        assert time.time() - since >= 25
    finally:
        session.stop()


# --- the home zone, the server's settings, the profiles --------------------------------------


def test_tw11_home_zone_reaches_nothing_but_the_vpn_port(probes: None) -> None:
    host = get(CLIENT)
    assert not reaches(CLIENT, GATEWAY_HOME, 22)
    # Routed straight at the desktop zone through the gateway (no tunnel): dropped there.
    host.run(f"sudo ip route replace 10.231.33.0/24 via {GATEWAY_HOME}")
    try:
        assert not reaches(CLIENT, DESK_ADDR, 3389)
    finally:
        host.run(f"sudo ip route del 10.231.33.0/24 via {GATEWAY_HOME}")
    assert get(GATEWAY).sysctl("net.ipv4.ip_forward") == 1  # it does forward: the rules refuse


def test_tw08_server_accepts_only_tls12_and_aead_without_fallback() -> None:
    conf = get(GATEWAY).file(CONF).content_string
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
    text = profile("carol.abe", "tablet")
    for block in ("ca", "cert", "key", "tls-crypt"):
        assert f"<{block}>" in text and f"</{block}>" in text
    certs = [
        x509.load_pem_x509_certificate(
            re.search(r"<cert>\n(.*?)</cert>", profile("carol.abe", d), re.S).group(1).encode()
        )
        for d in ("laptop", "tablet")
    ]
    assert {c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value for c in certs} == {"carol.abe"}
    assert certs[0].serial_number != certs[1].serial_number


def test_tw04_enrolment_has_secret_uri_and_qr_code() -> None:
    d = PROFILES / "users" / "alice.ito"
    text = (d / "totp.txt").read_text()
    b32 = secret("alice.ito")
    assert re.fullmatch(r"[A-Z2-7]{32}", b32)
    assert "otpauth://totp/" in text and f"secret={b32}" in text and "digits=6" in text
    assert (d / "totp-qr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_check_mode_reports_no_change_on_a_converged_site() -> None:
    assert set(converge_check().values()) == {0}


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
    assert not get("vpngw2").file("/etc/openvpn/server/telework.conf").exists
    assert not get("vpngw2").file("/etc/openvpn/server/telework").exists


# --- the site CA (vpn_gateway_pki_provider: site_pki) on the second gateway --------------------

SITE_PKI = PROFILES.parent / "pki-site"
SITE_PROFILES = PROFILES.parent / "vpn-profiles-site-pki"


def test_tw08_with_the_site_ca_the_server_certificate_is_installed_and_a_staff_pc_connects() -> None:
    """After the check-mode test above: converge vpngw2 on the site CA, then connect to it."""
    proc = run_playbook("site_pki_gateway.yml")
    assert proc.returncode == 0, proc.stdout[-4000:]
    gw = get("vpngw2")
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
    start("site-ca", text, "alice.ito", fresh_code("alice.ito", b32)).stop()
    # A second run changes nothing.
    again = run_playbook("site_pki_gateway.yml")
    assert again.returncode == 0 and recap(again.stdout)["vpngw2"]["changed"] == 0, again.stdout[-4000:]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
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
    ],
)
def test_bad_input_stops_the_play_before_anything_changes(extra: dict[str, object], message: str) -> None:
    gw = get(GATEWAY)
    before = gw.file(CONF).sha256sum
    proc = run_playbook("converge.yml", extra_vars=extra)
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout[-3000:]
    assert gw.file(CONF).sha256sum == before
    assert all(c["changed"] == 0 for c in recap(proc.stdout).values()), proc.stdout[-2000:]


# --- revocation: disabled, removed, dropped device (last: it converges other staff lists) ----


def _users(*extra: dict[str, object], carol_devices: list[str]) -> list[dict[str, object]]:
    base: list[dict[str, object]] = [
        {"id": "alice.ito", "groups": ["telework"], "state": "active"},
        {"id": "bob.sato", "groups": ["telework"], "state": "active"},
        {"id": "carol.abe", "groups": ["telework"], "state": "active", "devices": carol_devices},
        {"id": "dan.mori", "groups": [], "state": "active"},
        {"id": "eve.kato", "groups": ["telework"], "state": "disabled"},
    ]
    return base + list(extra)


def _converge(users: list[dict[str, object]]) -> None:
    proc = run_playbook("converge.yml", extra_vars={"telework_users": users})
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_tw05_disabled_removed_and_dropped_device_certificates_are_revoked_and_refused() -> None:
    frank = {"id": "frank.ueno", "groups": ["telework"], "state": "active"}
    gina = {"id": "gina.oda", "groups": ["telework"], "state": "active"}
    alice_secret = secret("alice.ito")
    _converge(_users(frank, gina, carol_devices=["laptop", "tablet"]))
    saved = {
        "frank": (profile("frank.ueno"), secret("frank.ueno")),
        "gina": (profile("gina.oda"), secret("gina.oda")),
        "tablet": (profile("carol.abe", "tablet"), secret("carol.abe")),
    }
    # Frank is connected (and busy) when he is disabled; Gina is removed from the list, Carol's tablet dropped.
    live = start("frank-live", saved["frank"][0], "frank.ueno", fresh_code("frank.ueno", saved["frank"][1]))
    get(CLIENT).run(f"sudo systemd-run --unit vpntest-busy --collect ping -i 2 -W 1 {DESK_ADDR}")
    since = time.time()
    try:
        _converge(_users({**frank, "state": "disabled"}, carol_devices=["laptop"]))
        # His open session ends at once (management socket), not at the next renegotiation.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "event=disconnect user=frank.ueno" not in server_log(since):
            time.sleep(1)
        assert "event=disconnect user=frank.ueno" in server_log(since), server_log(since)[-2000:]
    finally:
        get(CLIENT).run("sudo systemctl stop vpntest-busy")
        live.stop()
    gw = get(GATEWAY)
    crl = gw.check_output("openssl crl -in /etc/openvpn/server/telework/crl.pem -noout -text")
    assert crl.count("Serial Number:") >= 3
    assert not (PROFILES / "users" / "frank.ueno").exists() and not (PROFILES / "users" / "gina.oda").exists()
    assert not gw.file("/etc/openvpn/server/telework/ccd/frank.ueno").exists
    assert not gw.user("frank.ueno").exists
    assert "frank.ueno" not in gw.check_output("sudo cat /var/lib/vpn_gateway/telework/users.oath")
    assert secret("alice.ito") == alice_secret  # secrets are kept, never regenerated
    user_of = {"frank": "frank.ueno", "gina": "gina.oda", "tablet": "carol.abe"}
    for name, (text, b32) in saved.items():
        since = time.time()
        out = attempt(f"revoked-{name}", text, user_of[name], fresh_code(user_of[name], b32))
        assert READY not in out, name
        # Carol is still active (her account, code and client-config file are there): the CRL refuses.
        if name == "tablet":
            assert re.search(r"VERIFY ERROR.*certificate revoked", server_log(since)), server_log(since)
    # Carol's laptop still works.
    start("laptop", profile("carol.abe", "laptop"), "carol.abe", fresh_code("carol.abe")).stop()
    # Back to the scenario's list: the tablet gets a new certificate and profile.
    _converge(_users(carol_devices=["laptop", "tablet"]))
    assert (PROFILES / "users" / "carol.abe" / "molecule-carol.abe-tablet.ovpn").exists()
