"""Multi-row ``INSERT ... VALUES`` of prebuilt tuples, sent straight to the driver (bulk imports).

A Core ``insert`` given many parameter sets turns every set into a row through the
compiled statement's generic machinery (a dict per row, each bind looked up, its
processor applied): in an import that was the largest cost on the event loop. Here
rows are tuples in a fixed column order; each column's bind processor (JSON,
timestamps: the very functions the Core insert applies) runs on that column's
values, and a page of rows goes to the driver as one statement whose SQL is built
once per shape (table, columns, number of rows, parameter style).

The workspace guard (``db/engine.py``) checks these statements too: it recognises
exactly the shape written here, ``INSERT INTO <table> (<columns>) VALUES (<one
placeholder per column>), ... [RETURNING <columns>]``, and requires every row's
``workspace_id`` to be the session's workspace.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import sqltypes
from sqlalchemy.types import TypeEngine

# Both SQLite (SQLITE_MAX_VARIABLE_NUMBER, 32766 since 3.32) and PostgreSQL (32767) bound the
# parameters of one statement; a page stays well below either.
MAX_PARAMETERS = 30_000
PAGE_ROWS = 1000


@functools.lru_cache(maxsize=128)
def insert_sql(
    table: str, columns: tuple[str, ...], rows: int, paramstyle: str, returning: tuple[str, ...]
) -> str:
    """The SQL of a ``rows``-row insert in the driver's parameter style (qmark or numeric_dollar)."""
    width = len(columns)
    if paramstyle == "qmark":
        group = "(" + ", ".join("?" * width) + ")"
        values = ", ".join([group] * rows)
    elif paramstyle == "numeric_dollar":
        values = ", ".join(
            "(" + ", ".join(f"${row * width + i + 1}" for i in range(width)) + ")" for row in range(rows)
        )
    else:
        raise ValueError(f"multi-row inserts support qmark and numeric_dollar parameters, not {paramstyle}")
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"  # noqa: S608 - names from Table metadata
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    return sql


async def insert_rows(
    conn: AsyncConnection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (tuples of Python values in ``columns`` order) in pages; the RETURNING rows.

    Values go through each column type's bind processor for this dialect, as a Core insert
    would send them (so a JSON column's ``None`` is stored as JSON ``null`` there too). A
    processor is applied once to a run of the very same object (``now``, ``None``).
    """
    dialect = conn.dialect
    names = tuple(columns)
    processors = [_processor(table.c[name].type, dialect) for name in names]
    page = max(1, min(PAGE_ROWS, MAX_PARAMETERS // len(names)))
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), page):
        chunk = rows[start : start + page]
        if any(len(row) != len(names) for row in chunk):
            raise ValueError(f"every row of an insert into {table.name} needs {len(names)} values")
        by_column: list[Sequence[Any]] = list(zip(*chunk, strict=True))
        for index, process in enumerate(processors):
            if process is not None:
                by_column[index] = _processed(process, by_column[index])
        flat = tuple(itertools.chain.from_iterable(zip(*by_column, strict=True)))
        sql = insert_sql(table.name, names, len(chunk), dialect.paramstyle, tuple(returning))
        result = await conn.exec_driver_sql(sql, flat)
        if returning:
            out.extend(tuple(row) for row in result.all())
    return out


def _processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column's bind processor; for JSON with the default serializer, a quicker one for lists of text."""
    process = column_type._cached_bind_processor(dialect)
    if process is None or not isinstance(column_type.dialect_impl(dialect), sqltypes.JSON):
        return process
    if getattr(dialect, "_json_serializer", None) is not None:
        return process
    json_process = process

    def process_json(value: Any) -> Any:
        # json.dumps of a list of str (emails, phones, tags) is exactly this: default separators,
        # ASCII escapes; json.dumps's own per-call set-up cost four times as much. An item that is
        # not text makes encode_basestring_ascii raise, and json.dumps takes the list.
        if type(value) is list:
            try:
                return "[" + ", ".join(map(encode_basestring_ascii, value)) + "]"
            except TypeError:
                pass
        return json_process(value)

    return process_json


def _processed(process: Any, values: Sequence[Any]) -> list[Any]:
    """``process`` of each value; an object met again (``now``, ``None``, a shared detail) is processed once.

    Processors are pure and every value stays referenced by ``values`` meanwhile, so an object's
    ``id`` stands for it here.
    """
    if values and all(map(operator.is_, values, itertools.repeat(values[0]))):
        return [process(values[0])] * len(values)  # one object throughout (``now``, ``None``)
    done: dict[int, Any] = {}
    out: list[Any] = []
    for value in values:
        key = id(value)
        if key in done:
            out.append(done[key])
        else:
            out.append(done.setdefault(key, process(value)))
    return out


_UNSET = object()
