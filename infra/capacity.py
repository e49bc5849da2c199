"""How many vCPUs a stack runs at its peak: what the account's On-Demand quota must allow.

EC2 counts running On-Demand instances of the standard families (A, C, D, H, I, M, R, T, Z)
against one vCPU quota per region ("Running On-Demand Standard instances", L-1216C47A). A new
account's quota is far below what the production stack needs, and the desktop group simply
fails to launch hosts beyond it; infra/README.md gives the figures this module computes.
"""

from __future__ import annotations

from infra import instance_types
from infra.config import BROKER_COUNT, TeleworkConfig
from infra.desktops import DesktopSizing


def peak_vcpus(cfg: TeleworkConfig) -> int:
    """vCPUs of every instance at working hours, plus the extra desktop hosts of a refresh."""
    desk = cfg.desktops
    sizing = DesktopSizing(desk.desktop_hosts, desk.off_hours_hosts, desk.work_start_hour, desk.work_end_hour)
    access = cfg.remote_access
    return (
        sizing.max_hosts * instance_types.vcpus(desk.desktop_instance_type)
        + BROKER_COUNT * instance_types.vcpus(desk.broker_instance_type)
        + instance_types.vcpus(cfg.logging.log_server_instance_type)
        + instance_types.vcpus(cfg.packages.package_proxy_instance_type)
        + access.vpn_gateway_count * instance_types.vcpus(access.vpn_gateway_instance_type)
    )
