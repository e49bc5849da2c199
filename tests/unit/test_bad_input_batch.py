"""The bad-input batch (tests/support/bad_input.py): the play it writes, and how it judges each case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.bad_input import CONTROLLER, Case, CaseResult, assert_refused, batch_playbook, outcomes

ROOT = Path(__file__).resolve().parents[2]
MOLECULE = ROOT / "molecule"


def written(path: Path) -> dict[str, Any]:
    plays = yaml.safe_load(path.read_text())
    assert isinstance(plays, list) and len(plays) == 1, "a batch is one play"
    play: dict[str, Any] = plays[0]
    return play


def case_block(play: dict[str, Any], index: int) -> dict[str, Any]:
    [block] = [t for t in play["tasks"] if t.get("name") == f"bad-input case {index}"]
    return block


def test_each_case_includes_the_roles_of_every_play_in_order_with_its_variables(tmp_path: Path) -> None:
    cases = [Case({"log_server_port": 70000}, "log_server_port", hosts=("log1",)), Case({"x": 1}, "x")]
    play = written(batch_playbook(MOLECULE / "log_server" / "converge.yml", cases, tmp_path, watch={"log1": "true"}))
    assert play["hosts"] == "log_server:all"
    first = case_block(play, 0)
    includes = [t for t in first["block"] if "ansible.builtin.include_role" in t]
    assert [t["ansible.builtin.include_role"]["name"] for t in includes] == ["log_server", "log_forwarding"]
    assert all(t["vars"] == {"log_server_port": 70000} for t in includes)
    # Each host runs what its converge plays run: the log_server play's pattern guards its role.
    assert "log_server" in includes[0]["when"] and "when" not in includes[1]
    assert first["when"] == "inventory_hostname in ['log1']"
    assert first["rescue"][0]["name"] == "bad-input case 0 | stopped"
    assert case_block(play, 1)["when"] == "true"
    names = [t["name"] for t in play["tasks"]]
    assert names.index("bad-input case 0 | watch") < names.index("bad-input case 1 | start")


def test_play_vars_vars_files_and_tasks_of_the_converge_plays_are_carried_over(tmp_path: Path) -> None:
    play = written(batch_playbook(MOLECULE / "site_pki" / "converge.yml", [Case({"a": 1}, "a")], tmp_path))
    assert play["gather_facts"] is False
    assert play["vars"]["pki_test_dir"] == "/etc/site-pki-test"
    tasks = [t for t in case_block(play, 0)["block"] if "ansible.builtin.include_tasks" in t]
    assert len(tasks) == 1 and tasks[0]["vars"] == {"a": 1}
    included = yaml.safe_load(Path(tasks[0]["ansible.builtin.include_tasks"]["file"]).read_text())
    assert included[0]["name"] == "Issue the host's certificate and install it"
    # The play's handlers come along (a case that ran through may notify them, as converge would).
    assert [h["name"] for h in play["handlers"]] == ["Record the serial of the installed certificate"]

    play = written(batch_playbook(MOLECULE / "remote_desktop" / "converge.yml", [Case({"a": 1}, "a")], tmp_path))
    assert [Path(f) for f in play["vars_files"]] == [MOLECULE / "remote_desktop" / "vars" / "main.yml"]


def test_plays_can_be_picked_by_name(tmp_path: Path) -> None:
    path = batch_playbook(
        MOLECULE / "vpn_gateway" / "converge.yml", [Case({}, "")], tmp_path, plays=["Converge the VPN gateway"]
    )
    play = written(path)
    assert play["hosts"] == "vpn_gateway"
    with pytest.raises(ValueError, match="no play named"):
        batch_playbook(MOLECULE / "vpn_gateway" / "converge.yml", [], tmp_path, plays=["Nope"])


def test_a_play_the_batch_cannot_copy_is_refused(tmp_path: Path) -> None:
    book = tmp_path / "book.yml"
    book.write_text(yaml.safe_dump([{"name": "p", "hosts": "all", "pre_tasks": [], "roles": ["r"]}]))
    with pytest.raises(ValueError, match="pre_tasks"):
        batch_playbook(book, [], tmp_path)


def result(**fields: Any) -> dict[str, Any]:
    return {"changed": False, **fields}


def task(name: str, **hosts: dict[str, Any]) -> dict[str, Any]:
    return {"task": {"name": name}, "hosts": hosts}


def run_of(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {"plays": [{"tasks": list(tasks)}]}


CASES = [Case({"port": 0}, "port"), Case({"port": 1}, "port"), Case({"zone": "moon"}, "zone", hosts=("h1",))]


def test_every_result_is_judged_in_its_own_case() -> None:
    doc = run_of(
        task("bad-input | watch before the first case", h1=result(stdout="A"), h2=result(stdout="B")),
        task("bad-input | watch before the first case on the controller", h1=result(msg="P")),
        # case 0: refused by the argument spec on both hosts
        task("bad-input case 0 | start", h1=result(), h2=result()),
        task(
            "Validating arguments against arg spec 'main'",
            h1=result(failed=True, msg="Validation of arguments failed", argument_errors=["port must be 1-65535"]),
            h2=result(failed=True, msg="Validation of arguments failed", argument_errors=["port must be 1-65535"]),
        ),
        task("bad-input case 0 | stopped", h1=result(), h2=result()),
        task("bad-input case 0 | watch", h1=result(stdout="A"), h2=result(stdout="B")),
        task("bad-input case 0 | watch on the controller", h1=result(msg="P")),
        # case 1: runs through on h2 and changes a file there
        task("bad-input case 1 | start", h1=result(), h2=result()),
        task("Check the port", h1=result(failed=True, msg="port 1 is reserved"), h2=result()),
        task("Write the config", h2=result(changed=True)),
        task("bad-input case 1 | stopped", h1=result()),
        task("bad-input case 1 | ran through", h2=result()),
        task("bad-input case 1 | watch", h1=result(stdout="A"), h2=result(stdout="B2")),
        task("bad-input case 1 | watch on the controller", h1=result(msg="P")),
        # case 2: only on h1, stopped by a loop item, but a probe changed something first
        task("bad-input case 2 | start", h1=result(), h2=result(skipped=True)),
        task("Probe", h1=result(changed=True), h2=result(skipped=True)),
        task(
            "Check the zones",
            h1=result(failed=True, msg="One or more items failed", results=[{"failed": True, "msg": "zone moon?"}]),
        ),
        task("bad-input case 2 | stopped", h1=result(), h2=result(skipped=True)),
        task("bad-input case 2 | watch", h1=result(stdout="A"), h2=result(stdout="B2")),
        task("bad-input case 2 | watch on the controller", h1=result(msg="P2")),
    )
    refused, ran_through, changed = outcomes(doc, CASES)
    assert_refused(refused, "port")
    assert refused.stopped["h1"].startswith("Validating arguments against arg spec 'main': ")

    assert ran_through.ran_through == ["h2"] and set(ran_through.stopped) == {"h1"}
    assert ran_through.changed == ["h2: Write the config"]
    assert len(ran_through.drift) == 1 and ran_through.drift[0].startswith("h2:")
    with pytest.raises(AssertionError, match="ran through on \\['h2'\\]"):
        assert_refused(ran_through, "port")

    assert changed.ran_on == ["h1"] and "zone moon?" in changed.stopped["h1"]
    assert changed.changed == ["h1: Probe"]
    assert [d.split(":")[0] for d in changed.drift] == [CONTROLLER]
    with pytest.raises(AssertionError, match="tasks changed a host"):
        assert_refused(changed, "zone")


def test_a_case_that_fails_for_another_reason_or_never_runs_is_not_a_pass() -> None:
    doc = run_of(
        task("bad-input case 0 | start", h1=result()),
        task("Load the data", h1=result(failed=True, msg="vars file missing")),
        task("bad-input case 0 | stopped", h1=result()),
    )
    wrong, never, _ = outcomes(doc, CASES)
    with pytest.raises(AssertionError, match="does not name 'port'"):
        assert_refused(wrong, "port")
    with pytest.raises(AssertionError, match="ran on no host"):
        assert_refused(never, "port")
    assert isinstance(never, CaseResult) and never.label.startswith("case 1 ")
