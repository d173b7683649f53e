"""Limits every tool call is held to before its own argument validation runs.

The HTTP transport already refuses bodies over 4 MiB (the SDK's limit, answered
with 413); stdio and in-process callers have no such gate, so the same budget is
applied here to the arguments themselves, with nesting depth and value counts
bounded too. NUL characters are removed from every string (the services clean
control characters from text anyway, and PostgreSQL cannot store NUL at all, so
it used to fail deep in the driver); unpaired UTF-16 surrogates, which are not
Unicode text, are refused naming the argument.
"""

from __future__ import annotations

import re
from typing import Any

MAX_ARGUMENT_CHARS = 4 * 1024 * 1024
MAX_ARGUMENT_DEPTH = 32
MAX_ARGUMENT_VALUES = 100_000

_SURROGATE = re.compile("[\ud800-\udfff]")


def without_nul(value: Any) -> Any:
    """The same arguments with NUL characters removed from every string (keys included)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def has_nul(value: Any) -> bool:
    """True when a NUL character hides anywhere in the arguments."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


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
            f"{MAX_ARGUMENT_CHARS:,} (larger files go through a path under the scan roots "
            "or the upload page)",
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
            found = _SURROGATE.search(item)
            if found:
                return chars, [
                    f"{path}: contains an unpaired surrogate (at position {found.start()}), which is not text"
                ]
        elif isinstance(item, dict):
            for key, sub in item.items():
                chars += len(str(key))
                stack.append((f"{path}.{key}", sub, depth + 1))
        elif isinstance(item, (list, tuple)):
            for index, sub in enumerate(item):
                stack.append((f"{path}[{index}]", sub, depth + 1))
    return chars, []
