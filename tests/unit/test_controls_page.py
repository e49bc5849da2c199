"""docs/controls.md is generated from the code and the tests, and every control has both.

A control of the catalogue (docs/ARCHITECTURE.md) with no task, Pulumi or policy code naming it,
or with no test whose name carries its ID, fails here; so does a checked-in page that `make docs`
would change, and a `-k twNN` command that would select other tests than the page lists.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from docgen.control_sources import CLASS_TOKEN, TIERS, catalogue, tier_test_files
from docgen.controls_page import PAGE, records, render, unknown_ids
from docgen.outputs import ROOT

CONTROLS = {r.control.id: r for r in records(ROOT)}
PYTEST_TIERS = [t for t in TIERS if t.key != "role"]


def test_catalogue_lists_the_fourteen_controls_in_order() -> None:
    assert [c.id for c in catalogue(ROOT)] == [f"TW-{n:02d}" for n in range(1, 15)]


@pytest.mark.parametrize("control", sorted(CONTROLS))
def test_control_has_an_implementation(control: str) -> None:
    record = CONTROLS[control]
    assert record.implemented, f"{control} ({record.control.title}): no task name, tag or infra/policy code names it"


@pytest.mark.parametrize("control", sorted(CONTROLS))
def test_control_has_a_test(control: str) -> None:
    record = CONTROLS[control]
    assert record.proofs, f"{control} ({record.control.title}): no test name carries {control.replace('-', '').lower()}"


def test_code_and_tests_name_only_controls_of_the_catalogue() -> None:
    assert unknown_ids(ROOT) == set()


def test_controls_page_is_current() -> None:
    assert (ROOT / PAGE).read_text() == render(ROOT), f"{PAGE} is stale: run `make docs`"


def test_no_test_directory_module_or_class_name_carries_a_control_id() -> None:
    """`pytest -k tw11` also matches directory, module and class names: keep the IDs in function names."""
    carriers = []
    for tier in PYTEST_TIERS:
        for path in tier_test_files(ROOT, tier):
            rel = path.relative_to(ROOT)
            if any(CLASS_TOKEN.search(part) for part in rel.with_suffix("").parts):
                carriers.append(str(rel))
            carriers += [
                f"{rel}::{c}" for c in re.findall(r"^class (\w+)", path.read_text(), re.M) if CLASS_TOKEN.search(c)
            ]
    assert carriers == []


def test_k_selects_exactly_the_tests_the_page_lists() -> None:
    """Collect with `-k tw01 or ... or tw14` (parameters aside): the same tests as the page's pytest tiers."""
    keywords = " or ".join(f"tw{n:02d}" for n in range(1, 15))
    paths = [t.paths[0] for t in PYTEST_TIERS]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *paths, "-k", keywords],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    collected = {re.sub(r"\[.*\]$", "", line) for line in out.stdout.splitlines() if "::" in line}
    listed = {p.node_id for r in CONTROLS.values() for p in r.proofs if p.tier != "role"}
    assert collected == listed


def test_a_control_without_code_or_tests_is_listed_and_flagged(tmp_path: Path) -> None:
    """The checks can fail: a catalogue with a control nothing implements or tests."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ARCHITECTURE.md").write_text(
        "| ID | control | typical implementation |\n|---|---|---|\n| TW-01 | one | x |\n| TW-02 | two | y |\n"
    )
    tasks = tmp_path / "ansible" / "roles" / "demo" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "main.yml").write_text("- name: TW-01 | Do the one thing\n  ansible.builtin.debug: {msg: one}\n")
    tests = tmp_path / "tests" / "unit"
    tests.mkdir(parents=True)
    (tests / "test_demo.py").write_text("def test_tw01_the_one_thing_is_done():\n    assert True\n")
    found = {r.control.id: r for r in records(tmp_path)}
    assert found["TW-01"].implemented and found["TW-01"].proofs
    assert not found["TW-02"].implemented and not found["TW-02"].proofs
    page = render(tmp_path)
    assert "## TW-02 two" in page and "**nothing found**" in page and "**no test found**" in page
