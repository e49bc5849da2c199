"""Counters of nftables rules: evidence that a probe's packets met the rule that drops them."""

from __future__ import annotations

import json

from tests.support.hosts import get_host


def rule_counter(name: str, table: str, chain: str, comment: str) -> int:
    """Packets counted so far by the rule of host `name` that carries `comment` (exactly one)."""
    out = get_host(name).check_output(f"sudo nft -j list chain inet {table} {chain}")
    rules = [item["rule"] for item in json.loads(out)["nftables"] if "rule" in item]
    counters = [
        e["counter"]["packets"] for r in rules if r.get("comment") == comment for e in r["expr"] if "counter" in e
    ]
    assert len(counters) == 1, f"{name}: {len(counters)} counted rules '{comment}' in {table} {chain}"
    return int(counters[0])
