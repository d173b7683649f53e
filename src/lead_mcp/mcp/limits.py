"""Limits every tool call is held to before its own argument validation runs.

The HTTP transport already refuses bodies over 4 MiB (the SDK's limit, answered
with 413); stdio and in-process callers have no such gate, so the same budget is
applied here to the arguments themselves, with nesting depth and value counts
bounded too. Text that no store can hold (NUL, which PostgreSQL refuses, and
unpaired UTF-16 surrogates, which are not Unicode text) is refused naming the
argument, instead of failing deep in a database driver.
"""

from __future__ import annotations

import re
from typing import Any

MAX_ARGUMENT_CHARS = 4 * 1024 * 1024
MAX_ARGUMENT_DEPTH = 32
MAX_ARGUMENT_VALUES = 100_000

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def argument_problems(arguments: dict[str, Any]) -> list[str]:
    """Problems with a call's arguments as a whole, each starting with the argument's name."""
    problems: list[str] = []
    chars: dict[str, int] = {}
    for top, top_value in arguments.items():
        chars[top], found = _walk(str(top), top_value)
        problems.extend(found)
    total = sum(chars.values())
    if total > MAX_ARGUMENT_CHARS:
        largest = max(chars, key=lambda k: chars[k])
        problems.insert(
            0,
            f"{largest}: {chars[largest]:,} characters; a whole call may carry at most "
            f"{MAX_ARGUMENT_CHARS:,} (larger files go through a path under the scan roots or the upload page)",
        )
    return problems


def _walk(top: str, value: Any) -> tuple[int, list[str]]:
    """Characters in one argument and what is wrong with it (iterative: deep nesting cannot recurse)."""
    chars = 0
    values = 0
    stack: list[tuple[str, Any, int]] = [(top, value, 1)]
    while stack:
        path, item, depth = stack.pop()
        values += 1
        if values > MAX_ARGUMENT_VALUES:
            return chars, [f"{top}: more than {MAX_ARGUMENT_VALUES:,} values"]
        if depth > MAX_ARGUMENT_DEPTH:
            return chars, [f"{top}: nested more than {MAX_ARGUMENT_DEPTH} levels deep"]
        if isinstance(item, str):
            chars += len(item)
            found = _UNSTORABLE.search(item)
            if found:
                what = "a NUL character" if found.group() == "\x00" else "an unpaired surrogate"
                return chars, [f"{path}: contains {what} (at position {found.start()}), which text cannot hold"]
        elif isinstance(item, dict):
            for key, sub in item.items():
                chars += len(str(key))
                stack.append((f"{path}.{key}", sub, depth + 1))
        elif isinstance(item, (list, tuple)):
            for index, sub in enumerate(item):
                stack.append((f"{path}[{index}]", sub, depth + 1))
    return chars, []
