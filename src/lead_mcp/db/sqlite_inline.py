"""SQLite for the async engine without a thread hop per statement.

aiosqlite runs every call (open a cursor, execute, fetch, close) on a worker
thread and wakes the event loop for each answer: four thread hops per
statement, about sixteen per tool call. Under load each hop costs a queue
put, a GIL hand-off and an event-loop turn, and a write transaction holds
SQLite's single write lock across all of those turns. Measured under the
HTTP load benchmark this was most of lead-mcp's CPU per call and the cause of
its latency tail.

SQLite statements on a local file take microseconds, so this driver runs them
inline on the event loop's thread (as the benchmark's raw-``sqlite3`` floor
does) and hops to a worker thread only where SQLite may wait:

- ``COMMIT`` (the ``fsync`` that makes a lead durable, and WAL checkpoints);
- ``BEGIN IMMEDIATE`` when another *process* holds the write lock: it is first
  tried with a zero busy timeout inline, and only if the database is busy is
  it retried on a worker thread with the full busy timeout, so the event loop
  never sleeps in SQLite's busy handler. (Writers inside one process queue on
  ``Database``'s lock and never meet here.)

It presents the same async DBAPI surface SQLAlchemy's aiosqlite dialect
drives, so the engine, pool, ORM and Alembic are unchanged; URLs keep the
``sqlite+aiosqlite://`` spelling and ``db/engine.py`` selects this dialect.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, cast

import aiosqlite
import anyio
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

DRIVER = "lead_inline"


class InlineCursor:
    """An async-looking cursor whose statements run at once on the calling thread."""

    def __init__(self, owner: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._owner = owner
        self._cursor = cursor

    @property
    def description(self) -> Any:
        """Column descriptions of the last query."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """Rowid of the last inserted row."""
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        """Rows fetchmany returns by default."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        """Run one statement (``BEGIN IMMEDIATE`` may move to a worker thread, see the module doc)."""
        if sql.startswith("BEGIN"):
            self._owner.note_begin()
            if sql.startswith("BEGIN IMMEDIATE"):
                await self._owner.begin_immediate(self._cursor, sql)
                return self
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any] | dict[str, Any]]) -> InlineCursor:
        """Run one statement for many parameter sets."""
        self._cursor.executemany(sql, rows)
        return self

    async def fetchone(self) -> Any:
        """The next row."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next rows."""
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        """All remaining rows."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Release the cursor."""
        self._cursor.close()


class InlineConnection:
    """The async connection surface SQLAlchemy expects from aiosqlite, over a plain ``sqlite3`` connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection = conn  # SQLAlchemy's aiosqlite adapter checks this before commit/rollback
        self._busy_ms: int | None = None
        self._changes_at_begin = 0

    @property
    def isolation_level(self) -> str | None:
        """sqlite3's transaction handling mode (None: we issue BEGIN ourselves)."""
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value  # type: ignore[assignment]  # sqlite3 checks the value

    def cursor(self) -> InlineCursor:
        """A new cursor (SQLAlchemy enters it with ``async with``)."""
        return InlineCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        """Run one statement on a new cursor."""
        cursor = self.cursor()
        return await cursor.execute(sql, parameters)

    def note_begin(self) -> None:
        """Remember the change counter, so a commit knows whether it has anything to make durable."""
        self._changes_at_begin = self._conn.total_changes

    async def begin_immediate(self, cursor: sqlite3.Cursor, sql: str) -> None:
        """Take the write lock: inline when free, else wait for it on a worker thread."""
        if self._busy_ms is None:
            self._busy_ms = int(self._conn.execute("PRAGMA busy_timeout").fetchone()[0])
        self._conn.execute("PRAGMA busy_timeout=0")
        try:
            cursor.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            self._conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        await anyio.to_thread.run_sync(cursor.execute, sql)

    async def commit(self) -> None:
        """Commit; one that wrote goes to a worker thread, so its fsync does not stall the loop."""
        if not self._conn.in_transaction:
            return
        if self._conn.total_changes == self._changes_at_begin:
            self._conn.commit()  # nothing written: no fsync to wait for
            return
        await anyio.to_thread.run_sync(self._conn.commit)

    async def rollback(self) -> None:
        """Roll back (no disk wait, so inline)."""
        self._conn.rollback()

    async def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register a SQL function."""
        self._conn.create_function(*args, **kwargs)


class InlineAdaptedConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter, minus its thread-queue tricks."""

    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return cast(str | None, self._connection.isolation_level)

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value

    async def _terminate_graceful_close(self) -> None:
        await self._connection.close()

    def _terminate_force_close(self) -> None:
        self._connection.stop()


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module: sqlite3's exceptions and types, our connections."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *args: Any, **kwargs: Any) -> InlineAdaptedConnection:
        kwargs.pop("async_creator_fn", None)
        kwargs["check_same_thread"] = False  # COMMIT and a contended BEGIN run on worker threads
        raw = sqlite3.connect(*args, **kwargs)
        return InlineAdaptedConnection(self, cast(Any, InlineConnection(raw)))


class SQLiteDialect_inline(SQLiteDialect_aiosqlite):
    """``sqlite+lead_inline://``: the aiosqlite dialect over :class:`InlineConnection`."""

    driver = DRIVER
    supports_statement_cache = True
    supports_server_side_cursors = False
    has_terminate = True

    @classmethod
    def import_dbapi(cls) -> InlineDBAPI:
        return InlineDBAPI()

    def do_terminate(self, dbapi_connection: Any) -> None:
        dbapi_connection.terminate()


def inline_url(url: str) -> str:
    """The same SQLite URL served by this driver (``sqlite+aiosqlite://`` -> ``sqlite+lead_inline://``)."""
    if url.startswith("sqlite+aiosqlite://"):
        return f"sqlite+{DRIVER}://" + url.removeprefix("sqlite+aiosqlite://")
    return url


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialect_inline")

__all__ = ["DRIVER", "SQLiteDialect_inline", "inline_url"]
