"""Ids made in bulk are the same kind of id as one made alone: random UUID4 text."""

from __future__ import annotations

import uuid

from lead_mcp.db.tables import new_id, new_ids


def test_ids_made_in_bulk_are_distinct_canonical_uuid4_text_like_new_id() -> None:
    ids = new_ids(20_000)
    assert len(ids) == len(set(ids)) == 20_000
    for text in [*ids, new_id()]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text  # lower-case, hyphenated: the form stored and compared
    # Every bit but the six fixed ones varies across the ids: none is stuck by the masking.
    values = [uuid.UUID(text).int for text in ids]
    fixed = (0xF << 76) | (0x3 << 62)
    varying = 0
    for value in values:
        varying |= value ^ values[0]
    assert varying == ((1 << 128) - 1) & ~fixed
    assert new_ids(0) == []
