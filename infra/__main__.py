"""Entry point of the Pulumi program (`main: infra/` in Pulumi.yaml).

Reads and validates the stack's configuration before any resource is declared, then composes
the components. Everything else lives in `infra.program.build`.
"""

import sys
from pathlib import Path

# The CLI runs this file with infra/ as the working directory; the package is imported from
# the repository root so that `infra.*` names are the same here, in tests and in mypy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.config import load_config, load_tunnel_secrets
from infra.program import build

config = load_config()
build(config, load_tunnel_secrets(config))
