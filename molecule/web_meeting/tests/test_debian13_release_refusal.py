"""Debian 13 has no janus package: the role must refuse the host, say why, and change nothing.

converge.yml already asserts the refusal's message (the converge step fails without it); these
tests check the host afterwards, and that the refusal comes before the first change.
"""

from __future__ import annotations

import pytest
from conftest import run_playbook
from testinfra.host import Host

from tests.support.hosts import get_host


@pytest.fixture(scope="module")
def server() -> Host:
    return get_host("meet1")


def test_the_role_refuses_debian_13_naming_the_release_and_what_to_do() -> None:
    proc = run_playbook("converge.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Debian 13 has no janus package" in proc.stdout, proc.stdout[-3000:]
    assert "Run the meeting host on Debian 12" in proc.stdout, proc.stdout[-3000:]
    assert "changed=0" in proc.stdout, proc.stdout[-3000:]


def test_nothing_of_the_role_is_on_the_refused_host(server: Host) -> None:
    # positive control: the host answers and dpkg works (a package the image has is seen)
    assert server.package("openssh-server").is_installed
    for package in ("janus", "coturn", "nginx", "sasl2-bin"):
        assert not server.package(package).is_installed, package
    assert not server.file("/etc/telework-meeting").exists
    assert not server.user("tw-meeting").exists
