"""The engine, its SQLite pragmas, and the one-transaction-per-operation scope.

SQLite settings, chosen for a CRM that must not lose an acknowledged lead:
WAL (readers never block the writer), ``synchronous=FULL`` (a commit is on disk
before it is acknowledged, even across power loss), ``busy_timeout`` (writers
queue instead of failing), foreign keys on. Write transactions start with
``BEGIN IMMEDIATE`` so two writers never deadlock on a lock upgrade, which is
what turns into "database is locked" under load.

Every session carries its workspace in ``session.info``; a listener adds
``workspace_id = :ws`` to every ORM select, update and delete of a
workspace-scoped table, so isolation lives in this one place rather than in a
``WHERE`` each query must remember.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.pool import NullPool

from lead_mcp.db import aggregates as _aggregates  # noqa: F401  (registers the pipeline counters' listeners)
from lead_mcp.db.group_commit import GroupCommitter
from lead_mcp.db.sqlite_inline import inline_url
from lead_mcp.db.tables import WorkspaceScoped

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "lead_mcp_write"


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine with the settings above; creates the SQLite file's folder."""
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            inline_url(url),
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            # Every transaction scope ends in COMMIT or ROLLBACK itself; the pool's extra
            # "reset" rollback on check-in cost more than the statements of a small read.
            pool_reset_on_return=None,
        )
        _install_sqlite_hooks(engine)
    else:
        engine = create_async_engine(
            url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
        )
    return engine


def create_engine_unpooled(url: str) -> AsyncEngine:
    """An engine without a pool (migrations, one-shot CLI commands)."""
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:  # the first `db upgrade` on a new machine creates the data folder too
            path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(inline_url(url), poolclass=NullPool)
    if url.startswith("sqlite"):
        _install_sqlite_hooks(engine)
    return engine


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN into our own hands (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA temp_store=MEMORY",
            "PRAGMA cache_size=-65536",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        # Straight to the driver: exec_driver_sql's execution context cost more than the BEGIN itself.
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        finally:
            cursor.close()


@event.listens_for(Session, "do_orm_execute")
def _scope_to_workspace(state: ORMExecuteState) -> None:
    workspace_id = state.session.info.get("workspace_id")
    if workspace_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("all_workspaces", False):
        return
    state.statement = state.statement.options(_workspace_criteria(workspace_id))


@functools.lru_cache(maxsize=1024)
def _workspace_criteria(workspace_id: str) -> Any:
    """The workspace filter, built once per workspace: analysing its lambda cost ~0.2 ms per statement."""
    return with_loader_criteria(
        WorkspaceScoped,
        lambda cls: cls.workspace_id == workspace_id,
        include_aliases=True,
    )


class Database:
    """The store of one process: an engine and transaction scopes over it."""

    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        self.is_sqlite = url.startswith("sqlite")
        self._write_sessions = async_sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        self._read_sessions = async_sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: False}), expire_on_commit=False
        )
        # SQLite has one writer at a time. Inside a process, writers queue in arrival order and share
        # durable commits (see group_commit.py) instead of meeting in SQLite's busy handler, which
        # polls with sleeps of up to 100 ms and lets a late writer overtake an early one. Across
        # processes the busy timeout still applies.
        self.writer = (
            GroupCommitter(self.engine.execution_options(**{WRITE_OPTION: True})) if self.is_sqlite else None
        )

    @asynccontextmanager
    async def transaction(
        self, *, workspace_id: str | None, write: bool = True
    ) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        if write and self.writer is not None:
            async with self.writer.transaction(workspace_id) as session:
                yield session
            return
        maker = self._write_sessions if write else self._read_sessions
        async with maker() as session:
            session.info["workspace_id"] = workspace_id
            async with session.begin():
                yield session

    async def ping(self) -> None:
        """Round-trip to the database (health checks)."""
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self.writer is not None:
            await self.writer.close()
        await self.engine.dispose()
