"""EC2 instance types the stack may ask for: known x86-64 families, their sizes and vCPUs.

The program boots the Debian amd64 image, so only x86-64 families are listed (no Graviton).
A type outside this table (a typo such as `m7i.huge`, or a size the family does not have)
is refused by the config check before anything is declared; AWS would refuse it only at
`pulumi up`. Add a family here when the ward needs one.
"""

from __future__ import annotations

# vCPUs of the usual sizes (the same in every family listed below except the burstable t3).
_VCPUS = {
    "large": 2,
    "xlarge": 4,
    "2xlarge": 8,
    "4xlarge": 16,
    "8xlarge": 32,
    "12xlarge": 48,
    "16xlarge": 64,
    "24xlarge": 96,
    "32xlarge": 128,
    "48xlarge": 192,
}
_SIXTH_GEN = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge")
_SEVENTH_GEN = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge")
_BURSTABLE = {"nano": 2, "micro": 2, "small": 2, "medium": 2, "large": 2, "xlarge": 4, "2xlarge": 8}

# family -> {size: vCPUs}
FAMILIES: dict[str, dict[str, int]] = {
    "t3": dict(_BURSTABLE),
    "t3a": dict(_BURSTABLE),
    **{family: {size: _VCPUS[size] for size in _SIXTH_GEN} for family in ("m6i", "c6i", "r6i")},
    **{family: {size: _VCPUS[size] for size in _SEVENTH_GEN} for family in ("m7i", "c7i", "r7i")},
}


def is_known(instance_type: str) -> bool:
    """True when `instance_type` is `family.size` of a family and size in the table."""
    family, _, size = instance_type.partition(".")
    return size in FAMILIES.get(family, {})


def vcpus(instance_type: str) -> int:
    """vCPUs of a known instance type (what the On-Demand vCPU quota counts)."""
    family, _, size = instance_type.partition(".")
    return FAMILIES[family][size]


def described() -> str:
    """The table in words, for error messages and the README."""
    families = ", ".join(sorted(FAMILIES))
    return f"an x86-64 EC2 instance type FAMILY.SIZE of a known family ({families}) and one of its sizes"
