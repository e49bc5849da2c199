"""The Ansible AWS inventory groups hosts by the very tags the program puts on them.

The `amazon.aws.aws_ec2` plugin needs AWS, so its grouping options (`keyed_groups`,
`compose`) are run by Ansible's own `constructed` plugin over hosts whose variables are what
aws_ec2 would report for instances tagged by `infra.tagging.host_tags`.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.tagging import MAINTENANCE_DRAIN, TAG_MAINTENANCE, Role, Zone, host_tags

ROOT = Path(__file__).resolve().parents[3]
INVENTORY = ROOT / "inventories" / "aws" / "aws_ec2.yml"
GROUP_VARS = ROOT / "inventories" / "aws" / "group_vars" / "all.yml"
SITE = ROOT / "ansible" / "site.yml"
ROLES = ROOT / "ansible" / "roles"
# Groups of site.yml no AWS host joins, and why: the VPC's security groups route between zones.
NOT_ON_AWS = {
    "zone_router": "security groups stand in for the zone router",
    "office_pc": "office PCs sit on the desks of the ward office, reached over the closed network, never in the cloud",
}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_inventory_uses_aws_ec2_in_tokyo_for_telework_instances_only() -> None:
    inventory = _load(INVENTORY)
    assert inventory["plugin"] == "amazon.aws.aws_ec2"
    assert inventory["regions"] == ["ap-northeast-1"]
    assert inventory["filters"]["tag:telework:project"] == "telework"
    assert inventory["hostnames"] == ["instance-id"]


def test_hosts_are_reached_over_ssm_with_the_installed_connection_plugin() -> None:
    group_vars = _load(GROUP_VARS)
    assert group_vars["ansible_connection"] == "amazon.aws.aws_ssm"
    assert group_vars["ansible_aws_ssm_region"] == "ap-northeast-1"
    spec = importlib.util.find_spec("ansible_collections.amazon.aws")
    if spec is None or spec.submodule_search_locations is None:
        pytest.skip("the ansible package is not installed in this interpreter")
    collection = Path(next(iter(spec.submodule_search_locations)))
    plugin = collection / "plugins" / "connection" / "aws_ssm.py"
    assert "ansible_aws_ssm_bucket_name" in plugin.read_text(encoding="utf-8")


def site_role_groups() -> set[str]:
    """Groups that a play of site.yml applies the role of the same name to (`hosts: <role>`)."""
    groups = set()
    for play in yaml.safe_load(SITE.read_text(encoding="utf-8")):
        roles = {r["role"] if isinstance(r, dict) else r for r in play.get("roles", [])}
        if play["hosts"] in roles:
            groups.add(play["hosts"])
    return groups


def test_every_role_group_of_site_yml_is_a_host_role_of_the_program() -> None:
    groups = site_role_groups()
    # Positive control: the plays of the roles that exist today are found.
    assert {"log_server", "vpn_gateway", "remote_desktop", "zone_router"} <= groups, groups
    missing = groups - {r.value for r in Role} - set(NOT_ON_AWS)
    assert not missing, f"site.yml configures groups no AWS host is tagged with: {sorted(missing)}"


def test_every_host_role_with_an_ansible_role_is_configured_by_site_yml() -> None:
    with_a_role = {r.value for r in Role if (ROLES / r.value).is_dir()}
    assert with_a_role, "no host role of the program has an Ansible role yet"
    unconfigured = with_a_role - site_role_groups()
    assert not unconfigured, f"hosts tagged {sorted(unconfigured)} would get no play of site.yml"


@pytest.mark.skipif(
    shutil.which("ansible-inventory", path=str(Path(sys.executable).parent)) is None,
    reason="ansible-inventory is not installed next to this interpreter",
)
def run_ansible(command: str, *args: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """An Ansible command of the venv, away from the repository's ansible.cfg (Ansible's default plugins)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / command), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=workdir,
        env={
            "PATH": str(Path(sys.executable).parent),
            "HOME": str(workdir),
            "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
        },
    )


def test_tagged_instances_land_in_their_role_zone_and_stack_groups(
    tmp_path: Path,
) -> None:
    aws_ec2 = _load(INVENTORY)
    hosts: dict[str, Any] = {}
    for index, (role, zone) in enumerate(
        [
            (Role.REMOTE_DESKTOP, Zone.DESKTOP),
            (Role.LOG_SERVER, Zone.MANAGEMENT),
            (Role.VPN_GATEWAY, Zone.EDGE),
            (Role.FILE_SERVER, Zone.MANAGEMENT),
            (Role.CHAT_SERVER, Zone.MANAGEMENT),
        ]
    ):
        instance_id = f"i-0{index}"
        tags = dict(host_tags("prod", role.value, role, zone, "TW-11", "telework-ssm-bucket"))
        hosts[instance_id] = {"instance_id": instance_id, "tags": tags}
    (tmp_path / "10-hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    constructed = {
        "plugin": "ansible.builtin.constructed",
        "strict": True,
        "keyed_groups": aws_ec2["keyed_groups"],
        "groups": aws_ec2["groups"],
        "compose": aws_ec2["compose"],
    }
    (tmp_path / "20-constructed.yml").write_text(yaml.safe_dump(constructed))
    result = run_ansible("ansible-inventory", "-i", str(tmp_path), "--list", workdir=tmp_path)
    listing = json.loads(result.stdout)
    for role in {Role.REMOTE_DESKTOP, Role.LOG_SERVER, Role.VPN_GATEWAY, Role.FILE_SERVER, Role.CHAT_SERVER}:
        assert len(listing[role.value]["hosts"]) == 1, role
    assert listing["remote_desktop"]["hosts"] == ["i-00"]
    assert listing["log_server"]["hosts"] == ["i-01"]
    assert sorted(listing["zone_management"]["hosts"]) == ["i-01", "i-03", "i-04"]
    assert len(listing["stack_prod"]["hosts"]) == 5
    hostvars = listing["_meta"]["hostvars"]["i-00"]
    assert hostvars["ansible_aws_ssm_bucket_name"] == "telework-ssm-bucket"
    assert hostvars["ansible_aws_ssm_instance_id"] == "i-00"


@pytest.mark.skipif(
    shutil.which("ansible", path=str(Path(sys.executable).parent)) is None,
    reason="ansible is not installed next to this interpreter",
)
def test_a_desktop_tagged_for_maintenance_is_drained_by_the_brokers(tmp_path: Path) -> None:
    """telework:maintenance=drain (the terminate hook's tag) puts a desktop in rdp_broker_drain."""
    aws_ec2 = _load(INVENTORY)
    hosts: dict[str, Any] = {}
    for instance_id, role, zone, extra in [
        ("i-0d1", Role.REMOTE_DESKTOP, Zone.DESKTOP, {}),
        ("i-0d2", Role.REMOTE_DESKTOP, Zone.DESKTOP, {TAG_MAINTENANCE: MAINTENANCE_DRAIN}),
        ("i-0b1", Role.RDP_BROKER, Zone.DESKTOP, {}),
    ]:
        tags = dict(host_tags("prod", role.value, role, zone, "TW-11", "telework-ssm-bucket")) | extra
        hosts[instance_id] = {"instance_id": instance_id, "tags": tags}
    (tmp_path / "10-hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    constructed = {"plugin": "ansible.builtin.constructed", "strict": True, "groups": aws_ec2["groups"]}
    constructed["keyed_groups"] = aws_ec2["keyed_groups"]
    (tmp_path / "20-constructed.yml").write_text(yaml.safe_dump(constructed))
    shutil.copytree(ROOT / "inventories" / "aws" / "group_vars", tmp_path / "group_vars")
    (tmp_path / "group_vars" / "all.yml").unlink()  # the SSM connection: the debug below runs on the controller
    result = run_ansible(
        "ansible",
        "i-0b1",
        "-i",
        str(tmp_path),
        "-m",
        "ansible.builtin.debug",
        "-a",
        "var=rdp_broker_drain",
        workdir=tmp_path,
    )
    assert '"rdp_broker_drain": [\n        "i-0d2"\n    ]' in result.stdout, result.stdout
