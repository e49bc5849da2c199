"""What `ansible/galaxy.yml` says the collection is: its name, version and dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

REPOSITORY = Path(__file__).resolve().parent.parent
# ansible/ is the collection root: galaxy.yml, meta/runtime.yml, roles/, plugins/, playbooks/.
COLLECTION_ROOT = REPOSITORY / "ansible"


@dataclass(frozen=True)
class Collection:
    namespace: str
    name: str
    version: str
    dependencies: dict[str, str]

    @property
    def fqcn(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def tarball(self) -> str:
        """The file name `ansible-galaxy collection build` gives the archive."""
        return f"{self.namespace}-{self.name}-{self.version}.tar.gz"

    def playbook(self, name: str) -> str:
        """The FQCN of one of the collection's playbooks (`ansible-playbook telework.platform.site`)."""
        return f"{self.fqcn}.{name}"


def load(root: Path = COLLECTION_ROOT) -> Collection:
    raw: dict[str, Any] = yaml.safe_load((root / "galaxy.yml").read_text(encoding="utf-8"))
    return Collection(
        namespace=str(raw["namespace"]),
        name=str(raw["name"]),
        version=str(raw["version"]),
        dependencies={str(k): str(v) for k, v in (raw.get("dependencies") or {}).items()},
    )
