"""`python -m collection_release` (`make collection`): build, install into a fresh directory, check.

Builds the archive into artifacts/collection/ (the file an execution environment or a ward
installs), installs it into a new temporary directory and syntax-checks the installed
`telework.platform.site` against each shipped on-premises inventory, with nothing of the
repository on Ansible's paths. Exits non-zero, naming the step, when any of it fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from collection_release.build import ReleaseError, build, install, syntax_check
from collection_release.metadata import REPOSITORY, load

INVENTORIES = ("lab", "example")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m collection_release", description=__doc__)
    parser.add_argument("--output", type=Path, default=REPOSITORY / "artifacts" / "collection")
    args = parser.parse_args(argv)
    meta = load()
    try:
        with tempfile.TemporaryDirectory(prefix="collection-") as tmp:
            scratch = Path(tmp)
            archive = build(args.output, scratch / "build")
            print(f"collection: built {archive}")
            installed = install(archive, scratch / "fresh", scratch / "install")
            print(f"collection: installed {meta.fqcn} {meta.version} into a fresh directory: {installed}")
            for name in INVENTORIES:
                inventory = REPOSITORY / "inventories" / name
                syntax_check(meta.playbook("site"), inventory, scratch / "fresh", scratch / name)
                print(f"collection: {meta.playbook('site')} passes --syntax-check on inventories/{name}")
    except ReleaseError as error:
        print(f"collection: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
