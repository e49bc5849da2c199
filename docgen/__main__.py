"""Entry point: `python -m docgen [--check]`."""

from docgen.cli import main

raise SystemExit(main())
