"""Group commit for SQLite: concurrent tool calls share one durable COMMIT, each keeping its own atomicity.

SQLite takes one writer at a time, and with ``synchronous=FULL`` every COMMIT
waits for an ``fsync`` (about 3 ms on the benchmark machine). One commit per
tool call therefore caps a store at a few hundred writes a second, and under
load every writer queues behind the fsyncs of all writers before it.

Here the writers of one process run one after another (in arrival order, on
``lock``) inside a shared transaction ("the group"), each in its own
SAVEPOINT: a call that fails is rolled back to its savepoint alone. When no
other writer is waiting (or the group is 32 calls or 20 ms old) the last
writer COMMITs the group with a single fsync, and only then does any member
return: a call is acknowledged only once its changes are on disk, as before.
If that COMMIT fails, every member gets the error and nothing of theirs is
stored. Without concurrent writers a group has one member, which is plain
one-transaction-per-call.

Readers are unaffected: they use their own pooled connections and only ever
see committed groups. PostgreSQL does its own group commit and does not use
this.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

MAX_MEMBERS = 32
MAX_AGE_SECONDS = 0.02


class _Group:
    """One shared write transaction and the calls inside it."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.opened = time.monotonic()
        self.members = 0
        self.done = anyio.Event()
        self.error: BaseException | None = None
        self.aborted = False  # its first call failed and rolled the whole (otherwise empty) group back


class GroupCommitter:
    """The write side of one process's SQLite store."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.lock = anyio.Lock(fast_acquire=True)  # no extra trip round the event loop when free
        self.group: _Group | None = None
        self.conn: AsyncConnection | None = None  # the writer connection, kept between groups
        self.commits = 0
        self.writes = 0
        self.max_members = MAX_MEMBERS
        self.max_age_seconds = MAX_AGE_SECONDS

    @asynccontextmanager
    async def transaction(self, workspace_id: str | None) -> AsyncIterator[AsyncSession]:
        """One call's write: a savepoint in the current group, acknowledged once the group is durable."""
        await self.lock.acquire()
        holding = True
        try:
            group = self.group
            first = group is None
            if group is None:
                conn = self.conn or await self.engine.connect()
                self.conn = conn
                try:
                    await conn.begin()  # BEGIN IMMEDIATE (engine hook): waits for other processes' writers
                except BaseException:
                    await self._drop_connection()
                    raise
                group = self.group = _Group(conn)
            # The first call of a group needs no savepoint: if it fails, the group (holding nothing
            # else) is rolled back whole. Later calls get one, so their failure spares the others.
            session = AsyncSession(
                bind=group.conn,
                join_transaction_mode="rollback_only" if first else "create_savepoint",
                expire_on_commit=False,
            )
            session.info["workspace_id"] = workspace_id
            failed = False
            try:
                async with session.begin():  # SAVEPOINT ... RELEASE, or ROLLBACK TO on error
                    yield session
            except BaseException:
                failed = True
                group.aborted = first
                raise
            finally:
                with anyio.CancelScope(shield=True):
                    await session.close()
                    if not failed:
                        group.members += 1
                        self.writes += 1
                    if group.aborted:
                        self.group = None  # the next call starts a new group
                        await _quietly_rollback(group.conn)  # ends the (already rolled back) transaction
                        group.done.set()
                    elif self._should_commit(group):
                        await self._commit(group)  # still holding the lock: no new group before it ends
                    elif not failed:
                        self.lock.release()
                        holding = False
                        await group.done.wait()
            if group.error is not None:
                raise OperationalError("COMMIT", None, group.error) from group.error
        finally:
            if holding:
                self.lock.release()

    def _should_commit(self, group: _Group) -> bool:
        if group.members == 0:
            return self.lock.statistics().tasks_waiting == 0  # nothing to save; close an empty group
        return (
            self.lock.statistics().tasks_waiting == 0
            or group.members >= self.max_members
            or time.monotonic() - group.opened >= self.max_age_seconds
        )

    async def _commit(self, group: _Group) -> None:
        """COMMIT the group (one fsync), tell its members, return the connection."""
        self.group = None
        try:
            if group.members:
                await group.conn.commit()
                self.commits += 1
            else:
                await group.conn.rollback()
        except (DBAPIError, OSError) as exc:
            group.error = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
            await _quietly_rollback(group.conn)
            await self._drop_connection()
        finally:
            group.done.set()

    async def _drop_connection(self) -> None:
        """Forget the writer connection after a failure (a fresh one is opened for the next group)."""
        conn, self.conn = self.conn, None
        if conn is not None:
            with anyio.CancelScope(shield=True):
                try:
                    await conn.invalidate()
                finally:
                    await conn.close()

    async def close(self) -> None:
        """Return the writer connection (the store is closing)."""
        await self._drop_connection()


async def _quietly_rollback(conn: AsyncConnection) -> None:
    with contextlib.suppress(Exception):  # the connection is dropped next; the first error is what counts
        await conn.rollback()
