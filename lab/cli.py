"""Command line of the lab engine: `python -m lab up|down|status|ssh|exec|image`.

python -m lab up                      boot the site of inventories/lab (default)
python -m lab up -i inventories/lab   the same, explicitly
python -m lab up --spec lab.json      boot a lab described as JSON (used by Molecule)
python -m lab status                  table of every lab, host, zone and address
python -m lab ssh rdp1                SSH into a host as the admin user
python -m lab exec rdp1 -- ss -tlnp   run a command inside a host without SSH
python -m lab down                    remove the site lab; --all removes every lab
python -m lab image build trixie      build (or reuse) a base image
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

from lab import image, preflight
from lab.engine import Engine
from lab.errors import LabError
from lab.inventory import load_inventory, spec_from_inventory
from lab.report import as_json, render
from lab.settings import Settings, load
from lab.spec import LabSpec, normalise_release, parse_spec
from lab.ssh_keys import ssh_argv
from lab.state import HostState, all_states, machine_lock

DEFAULT_INVENTORY = Path(__file__).resolve().parent.parent / "inventories" / "lab"


def _log(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def _spec(args: argparse.Namespace, settings: Settings) -> LabSpec:
    if getattr(args, "spec", None):
        try:
            doc = json.loads(Path(args.spec).read_text())
        except (OSError, ValueError) as exc:
            raise LabError(f"cannot read spec {args.spec}: {exc}") from exc
        return parse_spec(doc, settings)
    return parse_spec(spec_from_inventory(load_inventory(Path(args.inventory))), settings)


def _find_host(settings: Settings, host: str, lab: str | None) -> HostState:
    matches = [
        hs for st in all_states(settings) if lab in (None, st.name) for hs in st.hosts.values() if hs.name == host
    ]
    if not matches:
        raise LabError(f"no running lab host named {host}", "see `python -m lab status`")
    if len(matches) > 1:
        raise LabError(f"several labs have a host named {host}", "say which one with --lab NAME")
    return matches[0]


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    spec = _spec(args, settings)
    state = Engine(settings, _log).up(spec, timeout=args.timeout)
    print(as_json([state]) if args.json else render(state))
    return 0


def cmd_down(args: argparse.Namespace, settings: Settings) -> int:
    engine = Engine(settings, _log)
    if args.all:
        engine.down_all()
    else:
        name = args.lab or _spec(args, settings).name
        engine.down(name)
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    states = [s for s in Engine(settings, _log).status() if args.lab in (None, s.name)]
    if args.json:
        print(as_json(states))
    elif not states:
        print("no lab is up")
    else:
        print("\n\n".join(render(s) for s in states))
    return 0


def cmd_ssh(args: argparse.Namespace, settings: Settings) -> NoReturn:
    hs = _find_host(settings, args.host, args.lab)
    argv = ssh_argv(settings, hs.control_address)
    if sys.stdin.isatty():
        argv.insert(1, "-t")
    os.execvp(argv[0], argv + args.command)


def cmd_exec(args: argparse.Namespace, settings: Settings) -> NoReturn:
    hs = _find_host(settings, args.host, args.lab)
    if not args.command:
        raise LabError("nothing to run", "give a command after --, e.g. `python -m lab exec rdp1 -- ss -tlnp`")
    argv = ["nsenter", "-t", str(hs.leader_pid), "-a", *args.command]
    os.execvp(argv[0], argv)


def cmd_image(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "build":
        engine = Engine(settings, _log)
        with machine_lock(settings):
            engine.prepare_machine()
        for r in args.releases or ["trixie", "bookworm"]:  # each image under its own lock
            path = image.ensure_image(normalise_release(r, "release"), settings, _log)
            print(path)
    elif args.action == "list":
        for p in image.list_images(settings):
            current = " (current)" if p.name == image.image_id(p.name.split("-")[0], settings) else ""
            print(f"{p.name}{current}")
    elif args.action == "prune":
        with machine_lock(settings):
            in_use = {hs.image for st in all_states(settings) for hs in st.hosts.values()}
            for name in image.prune_images(settings, in_use):
                print(f"removed {name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lab", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)

    def source(sp: argparse.ArgumentParser) -> None:
        g = sp.add_mutually_exclusive_group()
        g.add_argument("-i", "--inventory", default=str(DEFAULT_INVENTORY), help="lab inventory (default: %(default)s)")
        g.add_argument("--spec", help="lab spec as JSON instead of an inventory")

    up = sub.add_parser("up", help="create or update a lab and wait until every host answers SSH")
    source(up)
    up.add_argument("--json", action="store_true", help="print the lab state as JSON")
    up.add_argument("--timeout", type=float, default=120, help="seconds a host may take to become ready")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop a lab's hosts and remove everything it made")
    source(down)
    down.add_argument("--lab", help="lab name instead of reading the inventory")
    down.add_argument("--all", action="store_true", help="every lab on this machine")
    down.set_defaults(func=cmd_down)

    st = sub.add_parser("status", help="hosts, zones, addresses and what runs there")
    st.add_argument("--lab")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)

    ssh = sub.add_parser("ssh", help="SSH into a lab host as the admin user")
    ssh.add_argument("host")
    ssh.add_argument("--lab")
    ssh.add_argument("command", nargs="*", help="command to run (put it after --)")
    ssh.set_defaults(func=cmd_ssh)

    ex = sub.add_parser("exec", help="run a command inside a lab host without SSH (nsenter)")
    ex.add_argument("host")
    ex.add_argument("--lab")
    ex.add_argument("command", nargs="*", help="command to run (put it after --)")
    ex.set_defaults(func=cmd_exec)

    im = sub.add_parser("image", help="build, list or prune base images")
    im.add_argument("action", choices=["build", "list", "prune"])
    im.add_argument("releases", nargs="*", help="trixie/debian13, bookworm/debian12")
    im.set_defaults(func=cmd_image)
    return p


# Commands that change the machine or enter a host run the machine checks first, once.
PREFLIGHT_COMMANDS = {"up", "down", "exec"}
PREFLIGHT_IMAGE_ACTIONS = {"build", "prune"}


def needs_preflight(args: argparse.Namespace) -> bool:
    if args.cmd == "image":
        return args.action in PREFLIGHT_IMAGE_ACTIONS
    return args.cmd in PREFLIGHT_COMMANDS


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse the command line; everything after `--` is the command for ssh/exec, untouched."""
    rest: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, rest = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    if hasattr(args, "command"):
        args.command = list(args.command) + rest
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(list(sys.argv[1:] if argv is None else argv))
    try:
        if needs_preflight(args):
            preflight.check_machine()
        result: int = args.func(args, load())
        return result
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("lab: interrupted; run `python -m lab down` to clean up a half-made lab", file=sys.stderr)
        return 130
