"""Unencrypted log messages sent to a log server's RELP/TLS port, as a misconfigured client would.

`plain_send(addr, port, kind)` is a shell command that connects from the host it runs on, sends
the message in $M (set by the caller, so that the marker never appears literally in a logged
command line) and prints what happened as one JSON line: `{"sent": N, "answer": "hex"}`. It exits
non-zero when it could not connect or send, so a send that never happened cannot pass for a
message the server refused. Kinds:

- `syslog`: one RFC 5424 line, newline-framed (plain syslog over TCP).
- `relp`: a RELP session (`open` offer, then a `syslog` frame) without TLS: the protocol the port
  speaks, minus the encryption.
"""

from __future__ import annotations

import shlex

_SENDER = r"""
import json, os, socket, sys
addr, port, kind, host = sys.argv[1], int(sys.argv[2]), sys.argv[3], socket.gethostname()
msg = f"<13>1 - {host} tw-plain - - - {os.environ['M']}".encode()
if kind == "syslog":
    data = msg + b"\n"
else:
    offer = b"relp_version=0\nrelp_software=tw-plain-test\ncommands=syslog"
    data = b"1 open %d %s\n" % (len(offer), offer) + b"2 syslog %d %s\n" % (len(msg), msg)
with socket.create_connection((addr, port), timeout=5) as s:
    s.sendall(data)
    s.settimeout(3)
    try:
        answer = s.recv(200)
    except (TimeoutError, ConnectionResetError):
        answer = b""
print(json.dumps({"sent": len(data), "answer": answer.hex()}))
"""


def plain_send(addr: str, port: int, kind: str) -> str:
    """The shell command that sends $M unencrypted to addr:port as `kind` (syslog or relp)."""
    assert kind in ("syslog", "relp"), kind
    return f'M="$M" python3 -c {shlex.quote(_SENDER)} {addr} {port} {kind}'
