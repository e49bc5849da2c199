"""TW-08: the log server speaks RELP over TLS >= 1.2 only, and only to clients of the site CA."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from conftest import run_playbook
from lab_hosts import (
    CLIENT_NAME,
    PORT,
    SERVER_ADDRESS,
    SERVER_NAME,
    TLS_DIR,
    run_id,
    stored_lines,
    wait_for_lines,
    with_marker,
)

from tests.support.hosts import get_host
from tests.support.network import Outcome, tcp_probe
from tests.support.plain_syslog import plain_send

pytestmark = pytest.mark.journal("rsyslog")

testinfra_hosts = [f"ansible://{SERVER_NAME}"]

ROGUE = "/tmp/tw08-rogue"
CONNECT = f"-connect {SERVER_ADDRESS}:{PORT} -CAfile {TLS_DIR}/ca.pem"
OWN_CERT = f"-cert {TLS_DIR}/client.pem -key {TLS_DIR}/client.key"
ROGUE_CERT = f"-cert {ROGUE}/client.pem -key {ROGUE}/client.key"


def handshake(options: str) -> tuple[int, str]:
    """openssl s_client from the client host; returns (rc, output)."""
    out = get_host(CLIENT_NAME).run(f"timeout 10 openssl s_client {options} < /dev/null 2>&1")
    return out.rc, out.stdout


@pytest.fixture(scope="module")
def rogue_ca() -> Iterator[None]:
    """A forged CA with the very name of the site CA, and a client certificate from it that carries
    the names the log server admits: only the signature can give it away."""
    client = get_host(CLIENT_NAME)
    script = f"""
set -e
rm -rf {ROGUE}; mkdir -p {ROGUE}; cd {ROGUE}
subject=$(openssl x509 -in {TLS_DIR}/ca.pem -noout -subject -nameopt compat | sed 's/^subject=//')
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -days 2 -subj "$subject" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key -out client.csr \
  -subj '/CN={CLIENT_NAME}' 2>/dev/null
names=$(openssl x509 -in {TLS_DIR}/client.pem -noout -ext subjectAltName | tail -1 | tr -d ' ')
printf 'subjectAltName=%s\\nextendedKeyUsage=clientAuth\\n' "$names" > ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext \
  -out client.pem 2>/dev/null
"""
    assert client.run(script).rc == 0
    forged = client.run(f"openssl x509 -in {ROGUE}/client.pem -noout -issuer -ext subjectAltName").stdout
    assert f"{CLIENT_NAME}.log-client." in forged
    yield
    client.run(f"rm -rf {ROGUE}")


def server_journal_since(host, since: str) -> str:
    return host.run(f"journalctl -u rsyslog --since '{since}' --no-pager").stdout


def now(host) -> str:
    return host.check_output("date '+%Y-%m-%d %H:%M:%S'")


def test_tw08_receiver_listens_on_the_relp_tls_port_only(host) -> None:
    listed = host.run("ss -H -lntu")
    assert listed.rc == 0, listed.stderr
    listening = listed.stdout
    # Positive control: the listing the test reads shows the RELP/TLS port, so an empty or failed
    # listing cannot pass for "nothing on 514".
    assert f":{PORT} " in listening, listening
    assert host.socket(f"tcp://0.0.0.0:{PORT}").is_listening
    assert ":514 " not in listening
    rsyslog_ports = host.run("ss -H -lntup | grep rsyslogd").stdout
    assert all(f":{PORT} " in line for line in rsyslog_ports.splitlines()), rsyslog_ports
    conf = host.run("cat /etc/rsyslog.conf /etc/rsyslog.d/*.conf").stdout
    for plain in ("imudp", "imtcp", "imptcp"):
        assert f'load="{plain}"' not in conf


def test_tw08_tls_1_2_handshakes_with_a_site_client_certificate() -> None:
    _, out = handshake(f"-tls1_2 {CONNECT} {OWN_CERT}")
    assert "New, TLSv1.2, Cipher is ECDHE" in out, out
    assert "Verify return code: 0 (ok)" in out
    assert "alert" not in out


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_tw08_tls_below_1_2_is_refused(host, version: str) -> None:
    since = now(host)
    # SECLEVEL=0 lets the client offer the old version, so the refusal is the server's.
    rc, out = handshake(f"{version} -cipher DEFAULT:@SECLEVEL=0 {CONNECT} {OWN_CERT}")
    assert rc != 0
    assert "Cipher is (NONE)" in out, out
    assert "unsupported version" in server_journal_since(host, since)


def test_tw08_client_without_a_certificate_is_refused(host) -> None:
    since = now(host)
    rc, _ = handshake(f"-tls1_2 {CONNECT}")
    assert rc != 0
    assert "peer did not provide a certificate" in server_journal_since(host, since)


def send_with_certificate(host, cert: str, key: str) -> tuple[list[str], str]:
    """Run a second rsyslog on the client that sends one message with `cert`; return what the
    server stored of it and the server's rsyslog journal meanwhile."""
    since = now(host)
    marker = run_id("tw08-rogue")
    client = get_host(CLIENT_NAME)
    conf = f"""
global(workDirectory="{ROGUE}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{ROGUE}/log.sock")
module(load="omrelp")
action(type="omrelp" target="{SERVER_ADDRESS}" port="{PORT}" tls="on"
       tls.caCert="{TLS_DIR}/ca.pem" tls.myCert="{cert}" tls.myPrivKey="{key}"
       tls.authMode="name" tls.permittedPeer=["{SERVER_NAME}"]
       action.resumeRetryCount="5" action.resumeInterval="1")
"""
    assert client.run(f"mkdir -p {ROGUE} && cat > {ROGUE}/rsyslog.conf <<'EOF'\n{conf}\nEOF").rc == 0
    started = client.run(f"rsyslogd -f {ROGUE}/rsyslog.conf -i {ROGUE}/rsyslog.pid")
    assert started.rc == 0, started.stderr
    try:
        send = f'sleep 1; logger -u {ROGUE}/log.sock -t tw08-test "$M"; rc=$?; sleep 8; exit $rc'
        sent = client.run(with_marker(marker, send))
        assert sent.rc == 0, f"the message never reached the second rsyslog: {sent.stderr}"
    finally:
        client.run(f"kill $(cat {ROGUE}/rsyslog.pid); sleep 1")
    return stored_lines(host, CLIENT_NAME, marker), server_journal_since(host, since)


def own_certificate_is_delivered(host) -> None:
    """Positive control: the second rsyslog with the client's own certificate gets its message stored."""
    stored, journal = send_with_certificate(host, f"{TLS_DIR}/client.pem", f"{TLS_DIR}/client.key")
    assert len(stored) == 1, f"with its own certificate the test sender delivered {stored}:\n{journal[-2000:]}"


def test_tw08_client_certificate_from_a_forged_ca_is_refused_and_logged(host, rogue_ca: None) -> None:
    own_certificate_is_delivered(host)
    stored, journal = send_with_certificate(host, f"{ROGUE}/client.pem", f"{ROGUE}/client.key")
    assert stored == []
    assert "authentication error 'certificate validation failed'" in journal, journal[-2000:]


def test_tw08_other_certificates_of_the_site_ca_are_refused(host, rogue_ca: None) -> None:
    # Signed by the site CA (as a VPN user's or a desktop's would be), but not a log-client name.
    proc = run_playbook("issue_other_cert.yml", extra_vars={"dest_dir": ROGUE})
    assert proc.returncode == 0, proc.stdout[-3000:]
    own_certificate_is_delivered(host)
    stored, journal = send_with_certificate(host, f"{ROGUE}/site-client.pem", f"{ROGUE}/site-client.key")
    assert stored == []
    assert "no permited name found" in journal, journal[-2000:]


def test_tw09_plain_syslog_is_neither_accepted_nor_stored(host) -> None:
    marker = run_id("tw09-plain")
    client = get_host(CLIENT_NAME)
    # Positive control: the same marker, forwarded the way the role sets up (RELP over TLS), is
    # stored, and found by the search that must find nothing of the plain sends below.
    forwarded = client.run(with_marker(marker, 'logger -t tw09-test "$M forwarded"'))
    assert forwarded.rc == 0, forwarded.stderr
    assert len(wait_for_lines(host, CLIENT_NAME, marker, 1, timeout=60)) == 1
    # No plain syslog port: 514 refuses on the address where the RELP port answers.
    assert tcp_probe(CLIENT_NAME, SERVER_ADDRESS, PORT) is Outcome.OPEN
    assert tcp_probe(CLIENT_NAME, SERVER_ADDRESS, 514) is Outcome.REFUSED
    # UDP goes out whatever listens (the sender cannot tell): it must at least have been sent.
    udp = client.run(with_marker(marker, f'logger -d -n {SERVER_ADDRESS} -P 514 -t tw09-test "$M udp514"'))
    assert udp.rc == 0, udp.stderr
    # Plain syslog and RELP without TLS to the RELP/TLS port: each connects and is sent, and the
    # server drops the connection at the TLS handshake.
    since = now(host)
    for kind in ("syslog", "relp"):
        sent = client.run(with_marker(marker, f'M="$M plain-{kind}"; ' + plain_send(SERVER_ADDRESS, PORT, kind)))
        assert sent.rc == 0, f"the plain {kind} send did not happen: {sent.stdout} {sent.stderr}"
    time.sleep(3)
    source = client.check_output("ip -4 -o addr show dev management").split()[3].split("/")[0]
    refused = [
        line
        for line in server_journal_since(host, since).splitlines()
        if "TLS handshake failed" in line and f"conn to clt {source}/" in line
    ]
    assert len(refused) >= 2, f"the server did not see both plain sends from {source}"
    stored = stored_lines(host, CLIENT_NAME, marker)
    assert [line for line in stored if "forwarded" not in line] == [], stored
    assert host.run(with_marker(marker, 'grep -rF -- "$M" /var/log/ | grep -v forwarded || true')).stdout == ""


def test_tw08_server_certificate_names_the_server_and_key_is_private(host) -> None:
    key = host.file(f"{TLS_DIR}/server.key")
    assert key.user == "root"
    assert key.mode == 0o600
    cert = host.run(f"openssl x509 -in {TLS_DIR}/server.pem -noout -ext extendedKeyUsage,subjectAltName")
    assert "TLS Web Server Authentication" in cert.stdout
    assert f"DNS:{SERVER_NAME}" in cert.stdout
    assert f"IP Address:{SERVER_ADDRESS}" in cert.stdout
