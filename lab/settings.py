"""Where the lab keeps things on the machine, and the addresses it owns.

Every path can be moved with the TWLAB_HOME and TWLAB_RUN environment variables (tests use
this to keep their state apart from a running lab).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

CONTROL_NETWORK = ipaddress.IPv4Network("10.231.0.0/20")
CONTROL_GATEWAY = ipaddress.IPv4Address("10.231.0.1")
CONTROL_POOL = ipaddress.IPv4Network("10.231.8.0/21")


@dataclass(frozen=True)
class Settings:
    """Machine-wide locations and address plan of the lab."""

    home: Path
    run: Path
    # The control network: an isolated-port bridge on the machine. The machine holds the first
    # address (the controller's side and the package proxy); every lab host gets one address on
    # it. Isolated bridge ports cannot talk to each other, only to the machine.
    control_bridge: str = "twlab0"
    control_network: ipaddress.IPv4Network = CONTROL_NETWORK
    control_gateway: ipaddress.IPv4Address = CONTROL_GATEWAY
    # Addresses handed out to hosts that do not name one (Molecule instances).
    control_pool: ipaddress.IPv4Network = CONTROL_POOL
    proxy_port: int = 3142
    nft_table: str = "twlab"
    admin_user: str = "admin"

    @property
    def images(self) -> Path:
        return self.home / "images"

    @property
    def labs(self) -> Path:
        return self.home / "labs"

    @property
    def ssh_dir(self) -> Path:
        return self.home / "ssh"

    @property
    def ssh_key(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.ssh_dir / "known_hosts"

    @property
    def lock_file(self) -> Path:
        return self.home / "lock"

    @property
    def proxy_dir(self) -> Path:
        return self.run / "proxy"

    @property
    def proxy_cache(self) -> Path:
        return self.home / "apt-cache"

    @property
    def proxy_url(self) -> str:
        return f"http://{self.control_gateway}:{self.proxy_port}"


def load() -> Settings:
    """Settings for this process, honouring TWLAB_HOME and TWLAB_RUN."""
    return Settings(
        home=Path(os.environ.get("TWLAB_HOME", "/var/lib/twlab")),
        run=Path(os.environ.get("TWLAB_RUN", "/run/twlab")),
    )
