"""The checks a single `telework:` value passes, each with the words that describe it.

A check is called with the full key and the raw value (a string as the Pulumi CLI stores it,
JSON for lists, or a plain Python value in tests) and returns the typed value or raises
`ConfigError`. Its `allowed` text is what the README key table and the error message say, so
the two cannot drift apart. Rules that compare two keys live with their area in `config.py`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from infra import instance_types

T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")

_HALF_WIDTH_INT = re.compile(r"-?[0-9]+")


class ConfigError(ValueError):
    """A configuration value is missing or not allowed. The message names the key."""

    def __init__(self, key: str, allowed: str, got: object) -> None:
        self.key = key
        super().__init__(f"{key} must be {allowed}, got {show(got)}")


def show(value: object) -> str:
    """A value as the user typed it: JSON, but Japanese and full-width characters as they are."""
    if value is None:
        return "nothing (the key is not set)"
    try:
        return json.dumps(value, ensure_ascii=False)
    except TypeError:
        return repr(value)


def _full_width_digits(text: str) -> bool:
    """Digits a Japanese input method produces (full-width, U+FF10 to U+FF19), not the ASCII ones."""
    return any(ch.isdecimal() and not ch.isascii() for ch in text)


def parse_int(key: str, value: object, allowed: str) -> int:
    """An integer from an int or a string of half-width digits."""
    if isinstance(value, bool):
        raise ConfigError(key, allowed, value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _HALF_WIDTH_INT.fullmatch(text):
            return int(text)
        if _full_width_digits(text):
            raise ConfigError(key, f"{allowed}, written with half-width digits (0-9, not full-width ones)", value)
    raise ConfigError(key, allowed, value)


def parse_list(key: str, value: object, allowed: str) -> list[object]:
    """A list from a list or a JSON string (how the CLI stores structured values)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise ConfigError(key, allowed, value) from err
    if not isinstance(value, (list, tuple)):
        raise ConfigError(key, allowed, value)
    return list(value)


def parse_network(key: str, value: object, allowed: str) -> ipaddress.IPv4Network:
    if not isinstance(value, str):
        raise ConfigError(key, allowed, value)
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ConfigError(key, allowed, value) from err


PRIVATE_V4 = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
)


def is_private(net: ipaddress.IPv4Network) -> bool:
    return any(net.subnet_of(p) for p in PRIVATE_V4)


class Check(Protocol[T_co]):
    """Turns one raw value into a typed one, or raises ConfigError naming the key."""

    @property
    def allowed(self) -> str: ...

    def __call__(self, key: str, value: object) -> T_co: ...


@dataclass(frozen=True)
class IntegerIn:
    low: int
    high: int

    @property
    def allowed(self) -> str:
        return f"an integer from {self.low} to {self.high}"

    def __call__(self, key: str, value: object) -> int:
        number = parse_int(key, value, self.allowed)
        if not self.low <= number <= self.high:
            raise ConfigError(key, self.allowed, number)
        return number


@dataclass(frozen=True)
class OneOf(Generic[T]):
    """One of a few values (integers or words)."""

    choices: tuple[T, ...]

    @property
    def allowed(self) -> str:
        words = [str(c) for c in self.choices]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]

    def __call__(self, key: str, value: object) -> T:
        candidate: object = value
        if self.choices and isinstance(self.choices[0], int) and not isinstance(value, int):
            try:
                candidate = parse_int(key, value, "one of " + self.allowed)
            except ConfigError as err:
                if "half-width" in str(err):
                    raise
                raise ConfigError(key, "one of " + self.allowed, value) from None
        for choice in self.choices:
            if candidate == choice and not isinstance(candidate, bool):
                return choice
        raise ConfigError(key, "one of " + self.allowed, candidate)


@dataclass(frozen=True)
class Matching:
    """A string that matches a pattern, described in words."""

    pattern: str
    words: str

    @property
    def allowed(self) -> str:
        return self.words

    def __call__(self, key: str, value: object) -> str:
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise ConfigError(key, self.allowed, value)
        return value


@dataclass(frozen=True)
class OptionalMatching:
    """Empty (None or "") or a string that matches a pattern."""

    pattern: str
    words: str

    @property
    def allowed(self) -> str:
        return f"empty or {self.words}"

    def __call__(self, key: str, value: object) -> str | None:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise ConfigError(key, self.allowed, value)
        return value


@dataclass(frozen=True)
class InstanceType:
    """An instance type of `infra.instance_types` (typos and unknown sizes refused)."""

    @property
    def allowed(self) -> str:
        return instance_types.described()

    def __call__(self, key: str, value: object) -> str:
        if not isinstance(value, str) or not instance_types.is_known(value):
            raise ConfigError(key, self.allowed, value)
        return value


@dataclass(frozen=True)
class PrivateCidr:
    """A private (RFC 1918) IPv4 network with a prefix length in a range."""

    shortest: int
    longest: int

    @property
    def allowed(self) -> str:
        return f"a private IPv4 CIDR (RFC 1918) from /{self.shortest} to /{self.longest}"

    def __call__(self, key: str, value: object) -> ipaddress.IPv4Network:
        net = parse_network(key, value, self.allowed)
        if not is_private(net) or not self.shortest <= net.prefixlen <= self.longest:
            raise ConfigError(key, self.allowed, value)
        return net


@dataclass(frozen=True)
class CidrPair:
    """Two IPv4 networks, one per availability zone (that they sit in the VPC is an area rule)."""

    @property
    def allowed(self) -> str:
        return "a list of 2 IPv4 CIDRs from /16 to /28 inside telework:vpc_cidr, one per availability zone"

    def __call__(self, key: str, value: object) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
        items = parse_list(key, value, self.allowed)
        if len(items) != 2:
            raise ConfigError(key, self.allowed, items)
        first, second = (parse_network(key, item, self.allowed) for item in items)
        for net in (first, second):
            if not 16 <= net.prefixlen <= 28:
                raise ConfigError(key, self.allowed, items)
        return first, second


@dataclass(frozen=True)
class RawList:
    """A list whose items an area rule checks (availability zones, customer gateways)."""

    words: str

    @property
    def allowed(self) -> str:
        return self.words

    def __call__(self, key: str, value: object) -> Sequence[object]:
        return tuple(parse_list(key, value, self.allowed))


@dataclass(frozen=True)
class OptionalList:
    """Not set (None or "") or a list whose items an area rule checks."""

    words: str

    @property
    def allowed(self) -> str:
        return f"empty or {self.words}"

    def __call__(self, key: str, value: object) -> Sequence[object] | None:
        if value in (None, ""):
            return None
        return tuple(parse_list(key, value, self.allowed))
