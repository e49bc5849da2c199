"""The text of a role's `defaults/main.yml`: its sections, and the comment above each variable.

The comment directly above a top-level variable is the variable's description from the specs,
wrapped to the line length; everything else (values, section headers `# --- title ---`, blank
lines, the file's header) is left as it is.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

from docgen.yaml_values import loads, same

KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(?:\s|$)")
SECTION = re.compile(r"^# -{3,}(?: (?P<title>.*?))?(?: -+)?\s*$")
WIDTH = 110


@dataclass(frozen=True)
class Section:
    title: str | None
    names: tuple[str, ...]


def sections(text: str) -> list[Section]:
    """The variables in file order, grouped under the section headers above them."""
    found: list[Section] = []
    title: str | None = None
    names: list[str] = []
    for line in text.splitlines():
        header = SECTION.match(line)
        if header:
            if names:
                found.append(Section(title, tuple(names)))
            title, names = (header.group("title") or None), []
            continue
        key = KEY.match(line)
        if key:
            names.append(key.group(1))
    if names:
        found.append(Section(title, tuple(names)))
    return found


def comment_lines(description: str) -> list[str]:
    lines = textwrap.wrap(description, width=WIDTH - 2, break_long_words=False, break_on_hyphens=False)
    return [f"# {line}" for line in lines]


def _is_variable_comment(line: str) -> bool:
    return line.startswith("#") and not SECTION.match(line)


def with_comments(text: str, descriptions: Mapping[str, str]) -> str:
    """The file with the comment block above each described variable replaced by its description."""
    out: list[str] = []
    for line in text.splitlines():
        key = KEY.match(line)
        if key and descriptions.get(key.group(1)):
            while out and _is_variable_comment(out[-1]):
                out.pop()
            out += comment_lines(descriptions[key.group(1)])
        out.append(line)
    result = "\n".join(out) + ("\n" if text.endswith("\n") else "")
    if not same(loads(result), loads(text)):
        raise ValueError("rewriting the comments changed a value (a comment line inside a value?)")
    return result
