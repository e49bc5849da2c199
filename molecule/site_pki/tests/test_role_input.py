"""Check mode changes nothing on a converged site; bad input stops the play before anything changes."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import bad_input_batch, converge_check
from pki_files import HOST, INSTALLED, PKI, snapshot

from tests.support.bad_input import CONTROLLER, Case, CaseResult, assert_refused

testinfra_hosts = [f"ansible://{HOST}"]


def test_check_mode_on_a_converged_site_reports_no_change() -> None:
    assert converge_check() == {HOST: 0}


# (variables, text the error must contain)
BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"site_pki_key_algorithm": "dsa-1024"}, "site_pki_key_algorithm"),
    ({"site_pki_leaf_days": "two years"}, "site_pki_leaf_days"),
    ({"site_pki_renew_days": 800}, "site_pki_renew_days"),
    ({"site_pki_ca_cert_path": "/nonexistent/ca.pem"}, "site_pki_ca_key_path"),
    ({"site_pki_dir": "relative/pki"}, "site_pki_dir"),
    ({"pki_test_sans": ["www.example.org"]}, "subject_alt_names"),
]
# (pki_request for issue.yml, text the error must contain)
BAD_REQUESTS: list[tuple[dict[str, Any], str]] = [
    ({"name": "a/b", "common_name": "x", "usage": "client"}, "site_pki_request"),
    ({"name": "ok", "common_name": "x", "usage": "everything"}, "usage"),
    ({"name": "ok", "common_name": "x"}, "usage"),
]
# The certificate installed on the host, and every file of the PKI on the controller with its time.
WATCH = {HOST: f"sha256sum {INSTALLED}/*", CONTROLLER: f"find {PKI} -printf '%P %T@\\n' | sort"}


@pytest.fixture(scope="module")
def bad_input() -> list[CaseResult]:
    """Every case in one run of both converge plays (the CA, then a certificate for the host)."""
    before = snapshot(PKI)
    outcomes = bad_input_batch("converge.yml", [Case(bad, named) for bad, named in BAD_INPUT], watch=WATCH)
    assert snapshot(PKI) == before
    return outcomes


@pytest.fixture(scope="module")
def bad_requests() -> list[CaseResult]:
    """Every request in one run of issue.yml."""
    before = snapshot(PKI)
    cases = [Case({"pki_request": request_}, named) for request_, named in BAD_REQUESTS]
    outcomes = bad_input_batch("issue.yml", cases, watch=WATCH)
    assert snapshot(PKI) == before
    return outcomes


@pytest.mark.parametrize(("bad", "named"), BAD_INPUT)
def test_bad_input_stops_the_play_before_anything_changes(
    host, bad_input: list[CaseResult], bad: dict[str, Any], named: str
) -> None:
    # (host: testinfra's fixture, so that the node ids name the host as before)
    assert_refused(bad_input[BAD_INPUT.index((bad, named))], named)


@pytest.mark.parametrize(("request_", "named"), BAD_REQUESTS)
def test_bad_certificate_requests_are_refused(
    host, bad_requests: list[CaseResult], request_: dict[str, Any], named: str
) -> None:
    assert_refused(bad_requests[BAD_REQUESTS.index((request_, named))], named)
