"""Results sized for a model's context.

Clients such as Claude Code refuse tool results over about 25,000 tokens, and
a model reads a short result better anyway. Lists stop early (with a cursor
for the rest) once their JSON passes :data:`RESULT_BUDGET_CHARS`, long texts
inside a record are clipped with a marker, and the full text stays one call
away (get_contact, fetch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

# Compact JSON characters per result: about 20k tokens at ~4 characters a token, leaving headroom
# for the indented text copy clients show next to the structured content.
RESULT_BUDGET_CHARS = 80_000
CLIP_MARK = " [...]"


def json_size(model: BaseModel) -> int:
    """Length of a model's compact JSON."""
    return len(model.model_dump_json())


def fitting(items: Sequence[BaseModel], budget: int = RESULT_BUDGET_CHARS) -> int:
    """How many leading items fit in the budget (always at least one, so a page is never empty)."""
    total = 0
    for count, item in enumerate(items):
        total += json_size(item) + 1
        if total > budget and count > 0:
            return count
    return len(items)


def clip(text: str | None, limit: int) -> str | None:
    """The text cut to ``limit`` characters, marked when cut."""
    if text is None or len(text) <= limit:
        return text
    return text[: max(limit - len(CLIP_MARK), 0)] + CLIP_MARK


def clip_value(value: Any, limit: int = 300, items: int = 20) -> Any:
    """A JSON value with long strings clipped and long lists shortened (history details)."""
    if isinstance(value, str):
        return clip(value, limit)
    if isinstance(value, list):
        shown = [clip_value(v, limit, items) for v in value[:items]]
        return [*shown, f"... {len(value) - items} more"] if len(value) > items else shown
    if isinstance(value, dict):
        return {k: clip_value(v, limit, items) for k, v in value.items()}
    return value
