"""The session guard fails closed: no statement of a workspace's session reaches another workspace's rows.

The automatic filter (``with_loader_criteria``) only sees ORM statements run through
``session.execute``. These tests run every other way a statement can reach the
store (Core, ``text()``, plain SQL on the session's connection, inserts, flushes,
sessions opened without a scope) on both databases, read and write sessions (the
write path on SQLite is the group committer's shared connection), and check
that each one lacking the caller's workspace is refused before it runs, while
the forms that do name it (what the hot-path Core statements use) still work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import FixedClock
from lead_mcp.db import bulk
from lead_mcp.db.engine import Database, UnscopedStatement
from lead_mcp.db.tables import ContactRow, OAuthClient, Workspace
from lead_mcp.services import accounts

CONTACTS = cast(Table, ContactRow.__table__)
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@dataclass
class Two:
    db: Database
    a: str
    b: str
    b_contact_pk: int


def _contact(workspace_id: str, name: str) -> ContactRow:
    return ContactRow(
        workspace_id=workspace_id,
        full_name=name,
        emails=[],
        phones=[],
        tags=[],
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.fixture
async def two(database_url: str) -> AsyncIterator[Two]:
    """Two workspaces with one contact each."""
    db = Database(database_url)
    clock = FixedClock(NOW)
    async with db.transaction(all_workspaces=True) as session:
        a = (await accounts.create_workspace(session, clock, name="A")).id
        b = (await accounts.create_workspace(session, clock, name="B")).id
    pks = []
    for workspace_id, name in ((a, "Ann of A"), (b, "Bob of B")):
        async with db.transaction(workspace_id=workspace_id) as session:
            row = _contact(workspace_id, name)
            session.add(row)
            await session.flush()
            pks.append(row.pk)
    try:
        yield Two(db, a, b, pks[1])
    finally:
        await db.dispose()


async def _names(session: AsyncSession, statement: Any, params: dict[str, Any] | None = None) -> set[str]:
    return {row[0] for row in (await session.execute(statement, params)).all()}


@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
async def test_a_core_select_without_the_workspace_filter_is_refused_before_it_runs(
    two: Two, write: bool
) -> None:
    async with two.db.transaction(workspace_id=two.a, write=write) as session:
        for statement in (
            select(CONTACTS.c.full_name),
            select(func.count()).select_from(CONTACTS),
            select(CONTACTS.c.full_name).where(CONTACTS.c.full_name == "Bob of B"),
        ):
            with pytest.raises(UnscopedStatement, match="workspace_id = :ws"):
                await session.execute(statement)


@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
async def test_a_core_select_that_names_the_sessions_workspace_runs_and_sees_only_its_rows(
    two: Two, write: bool
) -> None:
    async with two.db.transaction(workspace_id=two.a, write=write) as session:
        bound = select(CONTACTS.c.full_name).where(CONTACTS.c.workspace_id == bindparam("ws"))
        assert await _names(session, bound, {"ws": two.a}) == {"Ann of A"}
        literal = select(CONTACTS.c.full_name).where(CONTACTS.c.workspace_id == two.a)
        assert await _names(session, literal) == {"Ann of A"}
        connection = await session.connection()  # the hot paths run on the session's connection
        assert {r[0] for r in (await connection.execute(bound, {"ws": two.a})).all()} == {"Ann of A"}


async def test_a_statement_naming_another_workspace_is_refused_however_it_is_run(two: Two) -> None:
    bound = select(CONTACTS.c.full_name).where(CONTACTS.c.workspace_id == bindparam("ws"))
    async with two.db.transaction(workspace_id=two.a) as session:
        with pytest.raises(UnscopedStatement, match="filters on workspace"):
            await session.execute(bound, {"ws": two.b})
        with pytest.raises(UnscopedStatement, match="filters on workspace"):
            await session.execute(select(ContactRow.full_name).where(ContactRow.workspace_id == two.b))
        connection = await session.connection()
        with pytest.raises(UnscopedStatement):
            await connection.execute(bound, {"ws": two.b})
        with pytest.raises(UnscopedStatement):
            await connection.execute(select(CONTACTS.c.full_name))


@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
async def test_core_updates_and_deletes_need_the_workspace_filter_too(two: Two, write: bool) -> None:
    async with two.db.transaction(workspace_id=two.a, write=write) as session:
        with pytest.raises(UnscopedStatement):
            await session.execute(update(CONTACTS).values(full_name="Hacked"))
        with pytest.raises(UnscopedStatement):
            await session.execute(delete(CONTACTS).where(CONTACTS.c.full_name == "Bob of B"))
    async with two.db.transaction(workspace_id=two.a, write=write) as session:
        await session.execute(
            update(CONTACTS).where(CONTACTS.c.workspace_id == two.a).values(full_name="Ann renamed")
        )
    async with two.db.transaction(all_workspaces=True, write=False) as session:
        assert await _names(session, select(ContactRow.full_name)) == {"Ann renamed", "Bob of B"}


async def test_text_sql_over_a_scoped_table_needs_a_workspace_parameter_of_the_session(two: Two) -> None:
    async with two.db.transaction(workspace_id=two.a, write=False) as session:
        with pytest.raises(UnscopedStatement):
            await session.execute(text("SELECT full_name FROM contacts"))
        filtered = text("SELECT full_name FROM contacts WHERE workspace_id = :w")
        with pytest.raises(UnscopedStatement):
            await session.execute(filtered, {"w": two.b})
        assert await _names(session, filtered, {"w": two.a}) == {"Ann of A"}
        # Statements that return no one's rows are left alone.
        assert (await session.execute(text("SELECT 1"))).scalar() == 1
        connection = await session.connection()
        with pytest.raises(UnscopedStatement):
            await connection.exec_driver_sql("SELECT full_name FROM contacts")


async def test_dropping_the_automatic_filter_still_requires_the_statement_to_name_the_workspace(
    two: Two,
) -> None:
    async with two.db.transaction(workspace_id=two.a, write=False) as session:
        unfiltered = select(ContactRow.full_name).execution_options(all_workspaces=True)
        with pytest.raises(UnscopedStatement, match="skipped the session's workspace filter"):
            await session.execute(unfiltered)
        own = unfiltered.where(ContactRow.workspace_id == two.a)
        assert await _names(session, own) == {"Ann of A"}
        # A deliberate look across workspaces says so, and is then the caller's responsibility.
        across = select(ContactRow.full_name).execution_options(across_workspaces=True)
        assert await _names(session, across) == {"Ann of A", "Bob of B"}
        # Plain ORM statements keep getting the automatic filter.
        assert await _names(session, select(ContactRow.full_name)) == {"Ann of A"}
        assert await session.get(ContactRow, two.b_contact_pk) is None


@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
async def test_inserts_and_flushes_may_only_write_the_sessions_workspace(two: Two, write: bool) -> None:
    async with two.db.transaction(workspace_id=two.a, write=write) as session:
        row = {"workspace_id": two.b, "id": "x" * 36, "full_name": "Planted", "emails": [], "phones": []}
        row |= {"tags": [], "created_at": NOW, "updated_at": NOW}
        with pytest.raises(UnscopedStatement, match="insert into contacts writes workspace"):
            await session.execute(insert(CONTACTS), [row])
        with pytest.raises(UnscopedStatement, match="insert into contacts"):
            await session.execute(insert(CONTACTS).values(**row))
    with pytest.raises(UnscopedStatement, match="written in a session of workspace"):
        async with two.db.transaction(workspace_id=two.a, write=write) as session:
            session.add(_contact(two.b, "Planted"))
    with pytest.raises(UnscopedStatement, match="written in a session of workspace"):
        async with two.db.transaction(workspace_id=two.a, write=write) as session:
            mine = (await session.execute(select(ContactRow))).scalar_one()
            mine.workspace_id = two.b
    async with two.db.transaction(all_workspaces=True, write=False) as session:
        rows = (await session.execute(select(ContactRow.full_name, ContactRow.workspace_id))).all()
        assert sorted(tuple(r) for r in rows) == [("Ann of A", two.a), ("Bob of B", two.b)]


async def test_a_session_must_say_which_workspace_or_that_it_means_all_of_them(two: Two) -> None:
    with pytest.raises(ValueError, match="exactly one of workspace_id"):
        async with two.db.transaction(workspace_id=None):
            pass
    with pytest.raises(ValueError, match="exactly one of workspace_id"):
        async with two.db.transaction(workspace_id=two.a, all_workspaces=True):
            pass
    async with two.db.transaction(all_workspaces=True, write=False) as session:
        assert await _names(session, select(CONTACTS.c.full_name)) == {"Ann of A", "Bob of B"}


async def test_a_session_opened_without_any_scope_cannot_touch_workspace_rows(two: Two) -> None:
    async with AsyncSession(two.db.engine) as session:
        with pytest.raises(UnscopedStatement, match="opened for no workspace"):
            await session.execute(select(ContactRow.full_name))
    async with AsyncSession(two.db.engine) as session:
        with pytest.raises(UnscopedStatement, match="opened for no workspace"):
            await session.execute(select(CONTACTS.c.full_name))
    async with AsyncSession(two.db.engine) as session:
        # Tables that belong to no workspace are not its business.
        workspaces = {r[0] for r in (await session.execute(select(Workspace.id))).all()}
        assert {two.a, two.b} <= workspaces
        assert (await session.execute(select(func.count()).select_from(OAuthClient))).scalar() == 0


@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
async def test_a_multi_row_driver_insert_must_write_the_sessions_workspace_in_every_row(
    two: Two, write: bool
) -> None:
    columns = ("workspace_id", "id", "full_name", "emails", "phones", "tags", "created_at", "updated_at")
    columns += ("source", "stage", "score", "search_text", "furthest_stage", "outbound_touches")

    def row(workspace_id: str, name: str) -> tuple[Any, ...]:
        return (
            workspace_id,
            name.ljust(36, "x"),
            name,
            [],
            [],
            [],
            NOW,
            NOW,
            "manual",
            "lead",
            0,
            "",
            "lead",
            0,
        )

    async with two.db.transaction(workspace_id=two.a, write=write) as session:
        connection = await session.connection()
        # A planted row anywhere in the page is refused before anything is written.
        for rows in (
            [row(two.b, "Planted")],
            [row(two.a, "Mine 1"), row(two.b, "Planted"), row(two.a, "Mine 2")],
        ):
            with pytest.raises(UnscopedStatement, match="insert into contacts writes workspace"):
                await bulk.insert_rows(connection, CONTACTS, columns, rows)
        # So is one that leaves workspace_id to the database, or hides a value in the SQL itself.
        with pytest.raises(UnscopedStatement, match="workspace_id"):
            await bulk.insert_rows(connection, CONTACTS, columns[1:], [row(two.a, "No workspace")[1:]])
        sql = bulk.insert_sql("contacts", columns, 1, connection.dialect.paramstyle, ())
        literal = sql.replace("?", f"'{two.b}'", 1) if "?" in sql else sql.replace("$1,", f"'{two.b}',", 1)
        with pytest.raises(UnscopedStatement, match="no `workspace_id = :ws`"):
            await connection.exec_driver_sql(literal, row(two.a, "Literal")[1:])
        # As text() rather than driver SQL it is a text statement on contacts, refused for want of a filter.
        with pytest.raises(UnscopedStatement, match="no `workspace_id = :ws`"):
            await session.execute(text(bulk.insert_sql("contacts", columns, 1, "qmark", ())))
        pks = await bulk.insert_rows(
            connection, CONTACTS, columns, [row(two.a, "Mine 1"), row(two.a, "Mine 2")], returning=("pk",)
        )
        assert len(pks) == 2
    async with two.db.transaction(all_workspaces=True, write=False) as session:
        rows = (await session.execute(select(ContactRow.full_name, ContactRow.workspace_id))).all()
        assert sorted(tuple(r) for r in rows) == [
            ("Ann of A", two.a),
            ("Bob of B", two.b),
            ("Mine 1", two.a),
            ("Mine 2", two.a),
        ]
