"""Helpers shared by the Molecule verifiers (molecule/*/tests) and the site tests (tests/lab).

Both trees run under the repository's pytest configuration (pyproject: `pythonpath = ["."]`), so
`from tests.support.network import reaches` works in either.

- `hosts`: a host reached the way Ansible reaches it (the Molecule scenario's inventory when
  Molecule runs the tests, the lab site's otherwise), and which hosts a test touched.
- `network`: TCP probes from a host that tell open, refused, no route and timeout apart and fail
  when the probe itself did not run; `reaches()`; `assert_blocked()`, which proves the
  destination answers from an allowed host before it proves the source is refused; temporary routes
  that assert they are in place.
- `listeners`: something listening on a port of a host (a probe server when no service does),
  asserted to be listening before any test relies on it; a listener on the machine itself.
- `vpn_client`: a real OpenVPN client on a staff PC, one-time codes, sessions, the gateway's log.
- `certificates`: client certificates a test forges (another CA, expired).
- `rdp`: which RDP connections a desktop host has from a given address (the session broker).
"""
