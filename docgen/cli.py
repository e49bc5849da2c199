"""`python -m docgen`: write the generated documentation; `--check`: only say what is stale."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from docgen.outputs import ROOT, generated, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docgen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; fail when a generated file is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this checkout)")
    args = parser.parse_args(argv)
    files, problems = generated(args.root)
    for problem in problems:
        print(f"docgen: {problem}", file=sys.stderr)
    out_of_date = stale(files)
    for path in out_of_date:
        rel = path.relative_to(args.root)
        if args.check:
            print(f"docgen: {rel} is stale: run `make docs`", file=sys.stderr)
        else:
            path.write_text(files[path], encoding="utf-8")
            print(f"docgen: wrote {rel}")
    if problems:
        return 1
    return 1 if args.check and out_of_date else 0
