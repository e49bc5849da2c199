"""Where the scenario's PKI lives on the controller, and readers for its files."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509

PKI = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "pki"
HOST = "pki1"
NAME = f"{HOST}-test"
INSTALLED = "/etc/site-pki-test"


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def ca() -> x509.Certificate:
    return cert(PKI / "ca" / "ca.pem")


def leaf() -> x509.Certificate:
    return cert(PKI / "issued" / NAME / "cert.pem")


def archived_serials() -> set[int]:
    return {cert(p).serial_number for p in (PKI / "archive" / NAME).glob("*.pem")}


def snapshot(root: Path) -> dict[str, float]:
    """Every file under root with its modification time (to prove nothing changed)."""
    return {str(p.relative_to(root)): p.stat().st_mtime for p in sorted(root.rglob("*"))}
