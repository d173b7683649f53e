"""Group commit on SQLite: calls share one durable COMMIT, each stays atomic, acknowledged once on disk."""

from __future__ import annotations

import anyio
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lead_mcp.db.engine import Database


async def _rows(url: str, sql: str) -> list[tuple]:
    """Read through a separate engine: what is committed, not what one session sees."""
    other = Database(url)
    try:
        async with other.transaction(all_workspaces=True, write=False) as session:
            return [tuple(r) for r in (await session.execute(text(sql))).all()]
    finally:
        await other.dispose()


async def _setup(db: Database) -> None:
    async with db.transaction(all_workspaces=True) as session:
        await session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))


async def test_concurrent_writers_share_commits_and_every_acknowledged_write_is_committed(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    await _setup(db)
    assert db.writer is not None
    writes_before, commits_before = db.writer.writes, db.writer.commits
    acknowledged: list[int] = []

    async def write(i: int) -> None:
        async with db.transaction(all_workspaces=True) as session:
            await session.execute(text("INSERT INTO notes (id, body) VALUES (:i, 'x')"), {"i": i})
        # Acknowledged: from here on another connection must see it.
        assert (await _rows(sqlite_url, f"SELECT id FROM notes WHERE id = {i}")) == [(i,)]
        acknowledged.append(i)

    try:
        async with anyio.create_task_group() as group:
            for i in range(60):
                group.start_soon(write, i)
        assert db.writer.writes - writes_before == 60
        assert db.writer.commits - commits_before < 60  # writers that arrived together shared a COMMIT
    finally:
        await db.dispose()
    assert sorted(acknowledged) == list(range(60))


async def test_a_failing_call_in_a_group_rolls_back_alone(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await _setup(db)
    outcomes: dict[int, str] = {}

    async def write(i: int) -> None:
        try:
            async with db.transaction(all_workspaces=True) as session:
                await session.execute(text("INSERT INTO notes (id, body) VALUES (:i, 'x')"), {"i": i})
                if i % 3 == 0:  # every third call fails after writing: the first of a group among them
                    raise RuntimeError("tool failed half way")
            outcomes[i] = "ok"
        except RuntimeError:
            outcomes[i] = "failed"

    try:
        async with anyio.create_task_group() as group:
            for i in range(30):
                group.start_soon(write, i)
    finally:
        await db.dispose()
    stored = {row[0] for row in await _rows(sqlite_url, "SELECT id FROM notes")}
    assert stored == {i for i, outcome in outcomes.items() if outcome == "ok"}
    assert stored == {i for i in range(30) if i % 3}


async def test_when_the_group_commit_fails_every_member_is_told_and_nothing_is_stored(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    async with db.transaction(all_workspaces=True) as session:
        await session.execute(text("CREATE TABLE parents (id INTEGER PRIMARY KEY)"))
        await session.execute(
            text(
                "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER "
                "REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    errors: list[BaseException] = []
    gate = anyio.Event()
    assert db.writer is not None
    db.writer.max_age_seconds = 60.0  # the group stays open while the first writer waits on the gate

    async def write(i: int) -> None:
        try:
            async with db.transaction(all_workspaces=True) as session:
                # A deferred foreign key is only checked at COMMIT: one bad row fails the whole group.
                parent = 999 if i == 0 else None
                await session.execute(
                    text("INSERT INTO children (id, parent_id) VALUES (:i, :p)"), {"i": i, "p": parent}
                )
                if i == 0:
                    await gate.wait()  # hold the group open until the others have queued behind
        except DBAPIError as exc:
            errors.append(exc)

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(write, 0)
            await anyio.wait_all_tasks_blocked()
            for i in range(1, 6):
                group.start_soon(write, i)
            await anyio.wait_all_tasks_blocked()
            gate.set()
    finally:
        await db.dispose()
    assert len(errors) == 6
    assert await _rows(sqlite_url, "SELECT id FROM children") == []


@pytest.mark.parametrize("first_fails", [True, False])
async def test_the_writer_keeps_working_after_failures(sqlite_url: str, first_fails: bool) -> None:
    db = Database(sqlite_url)
    await _setup(db)
    try:
        if first_fails:
            with pytest.raises(RuntimeError):
                async with db.transaction(all_workspaces=True) as session:
                    await session.execute(text("INSERT INTO notes (id, body) VALUES (1, 'x')"))
                    raise RuntimeError("boom")
        async with db.transaction(all_workspaces=True) as session:
            await session.execute(text("INSERT INTO notes (id, body) VALUES (2, 'y')"))
    finally:
        await db.dispose()
    assert await _rows(sqlite_url, "SELECT id, body FROM notes") == [(2, "y")]
