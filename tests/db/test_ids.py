"""Ids made in bulk are UUIDs like the ones made alone: canonical text, unguessable, time-ordered."""

from __future__ import annotations

import time
import uuid

from lead_mcp.db.tables import new_id, new_ids


def test_ids_made_in_bulk_are_distinct_canonical_uuid7_text_of_this_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    ids = new_ids(20_000)
    after = time.time_ns() // 1_000_000
    assert len(ids) == len(set(ids)) == 20_000
    values = []
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text  # lower-case, hyphenated: the form stored and compared
        assert before <= parsed.int >> 80 <= after  # the Unix time in milliseconds leads
        values.append(parsed.int)
    # Every bit below the time but the six fixed ones varies: 74 random bits, none stuck by masking.
    random_bits = ((1 << 80) - 1) & ~((0xF << 76) | (0x3 << 62))
    varying = 0
    for value in values:
        varying |= (value ^ values[0]) & ((1 << 80) - 1)
    assert varying == random_bits
    assert new_ids(0) == []
    single = uuid.UUID(new_id())
    assert single.version == 4 and str(single) == str(single).lower()
