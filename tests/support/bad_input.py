"""Every bad-input case of a scenario in one ansible-playbook run, each case judged on its own.

A bad-input test proves that a role refuses a wrong value before it touches a host. Run one
`ansible-playbook converge.yml -e <bad vars>` per case and most of the time goes into starting
Ansible, gathering facts and opening connections, again and again. `batch_playbook()` writes one
play instead: the hosts, `vars_files` and `vars` of the converge play(s), then for each case a
block that includes the plays' roles (and tasks) in order with the case's variables as the
include's `vars:` and a `rescue:` that marks the case as stopped, then a task that reads the
watched files of every host again. Nothing of one case leaks into the next:

- include `vars:` are include params, the second highest precedence after extra vars: above
  play vars, inventory vars, role vars, `include_vars` and `set_fact`, and every role or task file
  the included role includes in turn (site_pki's `issue`, telework_users' `validate`) sees them;
- a role's argument_specs validation is the first task of `include_role`, as of `roles:`;
- a block with `rescue:` leaves the host in the play, so the next case runs (a host that failed
  one play of a multi-play playbook would sit out every later play: hence one play);
- plays of the converge playbook that target other hosts are guarded with their own pattern
  (`inventory_hostname in query('inventory_hostnames', pattern)`), so every host runs what it
  runs in the converge playbook, in the same order.

The run prints JSON (the ansible.posix.json stdout callback); `outcomes()` attributes every task
result to its case by the marker tasks `bad-input case N | ...` and returns, per case, whether
it stopped on every host it ran on, the failure message, the tasks that reported a change and
the watched outputs that differ from before the case. `assert_refused()` states the verdict.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.strategy import playbook_env, playbook_strategy

PREFIX = "bad-input case"
MARKER = re.compile(
    rf"^{PREFIX} (?P<case>\d+) \| (?P<what>start|ran through|stopped|watch)(?P<controller> on the controller)?$"
)
INITIAL_WATCH = re.compile(r"^bad-input \| watch before the first case(?P<controller> on the controller)?$")
# Key of the watched output read on the controller (not on a host of the inventory).
CONTROLLER = "controller"
# Play keywords the generated play carries over; any other keyword of a converge play is refused
# (pre_tasks, serial, ... would change what a case runs). Handlers are carried over: a refused
# case notifies none, and a case that runs through may notify them as the converge play would.
PLAY_KEYS = frozenset({"name", "hosts", "gather_facts", "vars_files", "vars", "roles", "tasks", "handlers"})


@dataclass(frozen=True)
class Case:
    """One bad input: the variables, the text the failure must contain, the hosts it runs on."""

    variables: Mapping[str, Any]
    named: str
    hosts: tuple[str, ...] | None = None  # None: every host of the play (as without --limit)

    def label(self, index: int) -> str:
        where = f" on {', '.join(self.hosts)}" if self.hosts else ""
        return f"case {index} {json.dumps(self.variables, ensure_ascii=False, default=str)}{where}"


@dataclass
class CaseResult:
    """What one case did, host by host."""

    label: str
    ran_on: list[str] = field(default_factory=list)
    ran_through: list[str] = field(default_factory=list)
    stopped: dict[str, str] = field(default_factory=dict)  # host -> "failed task: message"
    changed: list[str] = field(default_factory=list)  # "host: task" that reported a change
    drift: list[str] = field(default_factory=list)  # watched outputs that changed during the case
    log: str = ""  # the tail of ansible-playbook's stderr, for the failure message


def _play_list(playbook: Path, plays: Sequence[str] | None) -> list[dict[str, Any]]:
    doc = yaml.safe_load(playbook.read_text())
    if not isinstance(doc, list) or not doc:
        raise ValueError(f"{playbook}: not a playbook (a list of plays)")
    chosen = [p for p in doc if plays is None or p.get("name") in plays]
    missing = set(plays or ()) - {p.get("name") for p in chosen}
    if missing:
        raise ValueError(f"{playbook}: no play named {sorted(missing)}")
    for play in chosen:
        if "import_playbook" in play or "hosts" not in play:
            raise ValueError(f"{playbook}: play {play.get('name')!r} is not a play with hosts")
        unknown = set(play) - PLAY_KEYS
        if unknown:
            raise ValueError(f"{playbook}: play {play.get('name')!r} uses {sorted(unknown)}, which a batch cannot copy")
    return chosen


def _role_name(entry: Any) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and set(entry) <= {"role", "name"}:
        return str(entry.get("role") or entry.get("name"))
    raise ValueError(f"role entry {entry!r}: only a name (role: x) can be copied into a batch")


def _watch_tasks(label: str, watch: Mapping[str, str]) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    if set(watch) - {CONTROLLER}:
        tasks.append(
            {
                "name": label,
                "ansible.builtin.shell": "{{ __bad_input_watch[inventory_hostname] }}",
                "when": "inventory_hostname in __bad_input_watch",
                "changed_when": False,
                "check_mode": False,
            }
        )
    if CONTROLLER in watch:
        tasks.append(
            {
                "name": f"{label} on the controller",
                "ansible.builtin.debug": {"msg": "{{ lookup('ansible.builtin.pipe', __bad_input_watch_controller) }}"},
                "run_once": True,
            }
        )
    return tasks


def batch_playbook(
    playbook: Path,
    cases: Sequence[Case],
    workdir: Path,
    *,
    plays: Sequence[str] | None = None,
    watch: Mapping[str, str] | None = None,
) -> Path:
    """Write the one-play batch of `cases` for the plays of `playbook` into workdir; return its path.

    watch maps a host name (or CONTROLLER) to a shell command whose output every case must leave
    as it was (e.g. `sha256sum` of the files the role writes).
    """
    chosen = _play_list(playbook, plays)
    watch = dict(watch or {})
    patterns = list(dict.fromkeys(str(p["hosts"]) for p in chosen))
    hosts = ":".join(patterns)
    variables: dict[str, Any] = {}
    vars_files: list[str] = []
    for play in chosen:
        for key, value in (play.get("vars") or {}).items():
            if key in variables and variables[key] != value:
                raise ValueError(f"{playbook}: plays disagree on {key!r}: a batch has one set of play vars")
            variables[key] = value
        for name in play.get("vars_files") or []:
            path = name if Path(name).is_absolute() or "{{" in name else str(playbook.parent / name)
            if path not in vars_files:
                vars_files.append(path)
    variables["__bad_input_watch"] = {h: c for h, c in watch.items() if h != CONTROLLER}
    if CONTROLLER in watch:
        variables["__bad_input_watch_controller"] = watch[CONTROLLER]

    # What one case runs, play by play: each play's roles, then its tasks (from a file of their own).
    steps: list[tuple[str, dict[str, Any], str]] = []  # (name, include task body, host pattern)
    for p, play in enumerate(chosen):
        for entry in play.get("roles") or []:
            role = _role_name(entry)
            steps.append((f"role {role}", {"ansible.builtin.include_role": {"name": role}}, str(play["hosts"])))
        if play.get("tasks"):
            tasks_file = workdir / f"play{p}-tasks.yml"
            tasks_file.write_text(yaml.safe_dump(play["tasks"], sort_keys=False, allow_unicode=True))
            steps.append(
                (
                    f"tasks of play {play.get('name', p)!r}",
                    {"ansible.builtin.include_tasks": {"file": str(tasks_file)}},
                    str(play["hosts"]),
                )
            )

    tasks: list[dict[str, Any]] = _watch_tasks("bad-input | watch before the first case", watch)
    for i, case in enumerate(cases):
        prefix = f"{PREFIX} {i}"
        block = []
        for name, body, pattern in steps:
            task: dict[str, Any] = {"name": f"{prefix} | {name}", **body, "vars": dict(case.variables)}
            if pattern not in (hosts, "all"):  # the play's own hosts only
                task["when"] = f"inventory_hostname in query('ansible.builtin.inventory_hostnames', {pattern!r})"
            block.append(task)
        block.append({"name": f"{prefix} | ran through", "ansible.builtin.debug": {"msg": prefix}})
        where = f"inventory_hostname in {list(case.hosts)!r}" if case.hosts else "true"
        tasks.append({"name": f"{prefix} | start", "ansible.builtin.debug": {"msg": prefix}, "when": where})
        tasks.append(
            {
                "name": prefix,
                "when": where,
                "block": block,
                "rescue": [{"name": f"{prefix} | stopped", "ansible.builtin.debug": {"msg": prefix}}],
            }
        )
        # On every watched host, not only the case's: nothing anywhere may change.
        tasks += _watch_tasks(f"{prefix} | watch", watch)

    play_out: dict[str, Any] = {
        "name": f"Bad input for {playbook.name}, one case after another",
        "hosts": hosts,
        "gather_facts": any(p.get("gather_facts", True) for p in chosen),
        "vars": variables,
        "tasks": tasks,
    }
    if vars_files:
        play_out["vars_files"] = vars_files
    handlers = [h for play in chosen for h in play.get("handlers") or []]
    if handlers:
        play_out["handlers"] = handlers
    strategy = playbook_strategy()
    if strategy.endswith("free"):  # results are attributed in task order: keep the hosts in step
        play_out["strategy"] = strategy.removesuffix("free") + "linear"
    out = workdir / f"bad-input-{playbook.stem}.yml"
    out.write_text(yaml.safe_dump([play_out], sort_keys=False, allow_unicode=True))
    return out


def _message(result: Mapping[str, Any]) -> str:
    """The failure text of a task result: msg, argument errors, and each failed item's msg."""
    parts = [str(result.get("msg", ""))]
    parts += [str(e) for e in result.get("argument_errors") or []]
    for item in result.get("results") or []:
        if isinstance(item, Mapping) and item.get("failed"):
            parts.append(str(item.get("msg", "")))
            parts += [str(e) for e in item.get("argument_errors") or []]
    return "\n".join(p for p in parts if p)


def _watched(result: Mapping[str, Any]) -> str:
    return str(result["stdout"]) if "stdout" in result else str(result.get("msg", ""))


def parse_json_output(stdout: str) -> dict[str, Any]:
    """The document the json callback printed (anything printed before it is skipped)."""
    start = stdout.find("{\n")
    if start < 0:
        raise ValueError(f"no JSON document in the output:\n{stdout[-3000:]}")
    doc, _ = json.JSONDecoder().raw_decode(stdout[start:])
    return dict(doc)


def outcomes(doc: Mapping[str, Any], cases: Sequence[Case]) -> list[CaseResult]:
    """One CaseResult per case, from the JSON of a batch run."""
    results = [CaseResult(label=case.label(i)) for i, case in enumerate(cases)]
    current: dict[str, int] = {}  # host -> the case it is in
    last_failed: dict[tuple[int, str], tuple[str, Mapping[str, Any]]] = {}
    seen: dict[str, str] = {}  # watched key -> output before the case now running
    for play in doc.get("plays", []):
        for entry in play.get("tasks", []):
            name = entry["task"]["name"]
            marker = MARKER.match(name)
            initial = INITIAL_WATCH.match(name)
            for host, result in entry.get("hosts", {}).items():
                skipped = bool(result.get("skipped"))
                if initial:
                    if not skipped:
                        seen[CONTROLLER if initial["controller"] else host] = _watched(result)
                    continue
                if marker:
                    i, what = int(marker["case"]), marker["what"]
                    outcome = results[i]
                    if what == "start":
                        current[host] = i
                        if not skipped:
                            outcome.ran_on.append(host)
                    elif what == "ran through" and not skipped:
                        outcome.ran_through.append(host)
                    elif what == "stopped" and not skipped:
                        task, failure = last_failed.get((i, host), ("(no failed task found)", {}))
                        outcome.stopped[host] = f"{task}: {_message(failure)}"
                    elif what == "watch" and not skipped:
                        key = CONTROLLER if marker["controller"] else host
                        now = _watched(result)
                        if key in seen and seen[key] != now:
                            outcome.drift.append(f"{key}: before the case\n{seen[key]}\nafter it\n{now}")
                        seen[key] = now
                    continue
                if host not in current or skipped:
                    continue
                i = current[host]
                if result.get("failed") or result.get("unreachable"):
                    last_failed[(i, host)] = (name, result)
                if result.get("changed"):
                    results[i].changed.append(f"{host}: {name}")
    return results


def run_batch(
    playbook: Path,
    cases: Sequence[Case],
    workdir: Path,
    *,
    inventory: str,
    plays: Sequence[str] | None = None,
    watch: Mapping[str, str] | None = None,
    ansible_playbook: str = "ansible-playbook",
) -> list[CaseResult]:
    """Write the batch, run it once against inventory, return one CaseResult per case."""
    path = batch_playbook(playbook, cases, workdir, plays=plays, watch=watch)
    env = playbook_env(
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)  # profile_tasks and the like would print into the JSON
    argv = [ansible_playbook, "-i", inventory, str(path)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800, check=False)
    (workdir / "result.json").write_text(proc.stdout)  # for a look after a failure
    try:
        doc = parse_json_output(proc.stdout)
    except ValueError as exc:
        raise AssertionError(
            f"the bad-input batch {path} printed no result (rc {proc.returncode}):\n{exc}\n{proc.stderr[-3000:]}"
        ) from exc
    found = outcomes(doc, cases)
    log = f"ansible-playbook {path} exited {proc.returncode}\n{proc.stderr[-2000:]}"
    if proc.returncode != 0:
        log += "\nfailed outside the cases' rescue:\n" + "\n".join(failures(doc))
    for outcome in found:
        outcome.log = log
    return found


def failures(doc: Mapping[str, Any]) -> list[str]:
    """Every failed or unreachable result of the run, as "host: task: message"."""
    found = []
    for play in doc.get("plays", []):
        for entry in play.get("tasks", []):
            for host, result in entry.get("hosts", {}).items():
                if result.get("failed") or result.get("unreachable"):
                    found.append(f"{host}: {entry['task']['name']}: {_message(result)}")
    return found


def assert_refused(outcome: CaseResult, named: str) -> None:
    """The case stopped on every host it ran on, its failure names `named`, and nothing changed."""
    assert outcome.ran_on, f"{outcome.label}: the case ran on no host\n{outcome.log}"
    assert not outcome.ran_through and set(outcome.stopped) == set(outcome.ran_on), (
        f"{outcome.label}: the play ran through on {outcome.ran_through or sorted(set(outcome.ran_on) - set(outcome.stopped))}:"
        f" the bad input was not refused\n{outcome.log}"
    )
    unnamed = {h: m for h, m in outcome.stopped.items() if named not in m}
    assert not unnamed, f"{outcome.label}: the play stopped, but its failure does not name {named!r}: {unnamed}"
    assert not outcome.changed, f"{outcome.label}: tasks changed a host before the play stopped: {outcome.changed}"
    assert not outcome.drift, f"{outcome.label}: watched files changed: {outcome.drift}"
