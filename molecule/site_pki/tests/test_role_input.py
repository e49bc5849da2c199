"""Check mode changes nothing on a converged site; bad input stops the play before anything changes."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import converge_check, run_playbook
from pki_files import HOST, INSTALLED, PKI, snapshot

testinfra_hosts = [f"ansible://{HOST}"]


def test_check_mode_on_a_converged_site_reports_no_change() -> None:
    assert converge_check() == {HOST: 0}


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"site_pki_key_algorithm": "dsa-1024"}, "site_pki_key_algorithm"),
        ({"site_pki_leaf_days": "two years"}, "site_pki_leaf_days"),
        ({"site_pki_renew_days": 800}, "site_pki_renew_days"),
        ({"site_pki_ca_cert_path": "/nonexistent/ca.pem"}, "site_pki_ca_key_path"),
        ({"site_pki_dir": "relative/pki"}, "site_pki_dir"),
        ({"pki_test_sans": ["www.example.org"]}, "subject_alt_names"),
    ],
)
def test_bad_input_stops_the_play_before_anything_changes(host, bad: dict[str, Any], named: str) -> None:
    before_host = host.check_output(f"sha256sum {INSTALLED}/*")
    before_pki = snapshot(PKI)
    proc = run_playbook("converge.yml", extra_vars=bad)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert named in output, output[-3000:]
    assert "changed=0" in output, output[-3000:]
    assert host.check_output(f"sha256sum {INSTALLED}/*") == before_host
    assert snapshot(PKI) == before_pki


@pytest.mark.parametrize(
    ("request_", "named"),
    [
        ({"name": "a/b", "common_name": "x", "usage": "client"}, "site_pki_request"),
        ({"name": "ok", "common_name": "x", "usage": "everything"}, "usage"),
        ({"name": "ok", "common_name": "x"}, "usage"),
    ],
)
def test_bad_certificate_requests_are_refused(host, request_: dict[str, Any], named: str) -> None:
    before_pki = snapshot(PKI)
    proc = run_playbook("issue.yml", extra_vars={"pki_request": request_})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert named in output, output[-3000:]
    assert snapshot(PKI) == before_pki
