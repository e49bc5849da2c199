"""The scenario's hosts and the commands the log tests share (hosts: tests.support.hosts)."""

from __future__ import annotations

import time
import uuid

from testinfra.host import Host

SERVER_ADDRESS = "10.231.34.10"
SERVER_NAME = "log1"
CLIENT_NAME = "client1"
PORT = 6514
STORE = "/var/log/remote"
TLS_DIR = "/etc/rsyslog-tls"


def run_id(prefix: str) -> str:
    """A marker no earlier run of the tests has written."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def with_marker(marker: str, command: str) -> str:
    """`command` with the marker in $M, assembled in the shell from two halves.

    Commands run through sudo, and sudo logs each command line (auth.log, forwarded like every
    other message): a marker written literally in a command would be stored by that log line.
    """
    half = len(marker) // 2
    return f"M1='{marker[:half]}'; M2='{marker[half:]}'; M=\"$M1$M2\"; {command}"


def stored_lines(server: Host, sender: str, marker: str) -> list[str]:
    """Lines of the server's store for `sender` that contain `marker`."""
    out = server.run(with_marker(marker, f'cat {STORE}/{sender}/*.log 2>/dev/null | grep -F -- "$M" || true')).stdout
    return [line for line in out.splitlines() if line.strip()]


def wait_for_lines(server: Host, sender: str, marker: str, count: int, timeout: float) -> list[str]:
    """Poll (on the server, so each poll is cheap) until `count` lines with `marker` are stored."""
    script = (
        f"end=$(( $(date +%s) + {int(timeout)} )); "
        f"while [ $(date +%s) -lt $end ]; do "
        f'n=$(cat {STORE}/{sender}/*.log 2>/dev/null | grep -cF -- "$M"); '
        f'[ "$n" -ge {count} ] && break; sleep 1; done'
    )
    server.run(with_marker(marker, script))
    time.sleep(2)  # anything arriving twice would come right behind the last one
    return stored_lines(server, sender, marker)
