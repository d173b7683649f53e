"""db/bulk's quicker bind processing gives exactly what the column type's own processor gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from lead_mcp.db import bulk
from lead_mcp.db.tables import ContactChange, ContactRow
from lead_mcp.domain import Source

JSON_VALUES: list[Any] = [
    [],
    ["ana@example.com"],
    ["José", 'say "hi"', "back\\slash", "tab\there", "line\nbreak", "😀", "中文"],
    [Source.IMPORT, "plain"],  # a str subclass
    [1, "a"],
    ["a", None],
    [["nested"]],
    {"key": "value"},
    None,
]


def test_json_lists_are_written_as_the_column_types_processor_writes_them() -> None:
    compared = 0
    for dialect in (sqlite.dialect(), postgresql.asyncpg.dialect()):
        column_type = ContactRow.__table__.c.emails.type
        reference = column_type._cached_bind_processor(dialect)
        process = bulk._processor(column_type, dialect)
        if reference is None:  # the driver takes the value itself
            assert process is None
            continue
        assert process is not None
        for value in JSON_VALUES:
            assert process(value) == reference(value), value
        compared += 1
    assert compared  # SQLite's JSON columns at least are serialized by SQLAlchemy, so compared


def test_a_column_of_one_object_or_of_many_is_processed_like_each_value_alone() -> None:
    dialect = sqlite.dialect()
    now = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)
    for column, values in (
        (ContactRow.__table__.c.created_at, [now] * 5),
        (ContactRow.__table__.c.deleted_at, [None] * 3),
        (ContactRow.__table__.c.created_at, [now, now, datetime(2026, 1, 1, tzinfo=UTC), now]),
        (ContactRow.__table__.c.tags, [["a"], ["a"], [], ["b", "c"]]),
        (ContactChange.__table__.c.detail, [{"fields": ["x"]}] * 2 + [None]),
    ):
        process = bulk._processor(column.type, dialect)
        assert process is not None
        assert bulk._processed(process, values) == [process(v) for v in values]
