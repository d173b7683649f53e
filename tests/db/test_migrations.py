"""Migrations: empty to head, down and up again, and no drift between the models and the migrated schema."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from lead_mcp.db import migrate
from lead_mcp.db.engine import create_engine_unpooled
from lead_mcp.db.search import include_in_autogenerate
from lead_mcp.db.tables import Base
from tests.conftest import PG_URL_BASE, _pg_execute


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (never migrated)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"lead_m_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    yield f"{PG_URL_BASE}/{name}"
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _diff(url: str) -> list[object]:
    engine = create_engine_unpooled(url)

    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_in_autogenerate, "compare_type": True}
        )
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[str]:
    engine = create_engine_unpooled(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_from_empty_to_head_matches_the_models(empty_url: str) -> None:
    assert await migrate.current_revision(empty_url) is None
    await migrate.upgrade(empty_url)
    assert await migrate.current_revision(empty_url) == migrate.head_revision()
    assert await _diff(empty_url) == []


async def test_downgrade_to_base_and_upgrade_again_round_trips(empty_url: str) -> None:
    await migrate.upgrade(empty_url)
    await migrate.downgrade(empty_url, "base")
    assert await migrate.current_revision(empty_url) is None
    assert await _tables(empty_url) <= {"alembic_version"}
    await migrate.upgrade(empty_url)
    assert await migrate.current_revision(empty_url) == migrate.head_revision()
    assert await _diff(empty_url) == []


async def test_upgrade_twice_is_a_no_op(empty_url: str) -> None:
    await migrate.upgrade(empty_url)
    await migrate.upgrade(empty_url)
    assert await migrate.current_revision(empty_url) == migrate.head_revision()


async def test_refold_migration_recomputes_old_search_text_and_name_keys(empty_url: str) -> None:
    """14_hard_refold_keys: a contact stored with the old folding is found and merged like a new one."""
    from sqlalchemy import text

    from lead_mcp.services import normalize

    await migrate.upgrade(empty_url, "13_recount_imports")
    engine = create_engine_unpooled(empty_url)
    long_name, long_company = "Ana " + "x" * 290, "y" * 300
    try:
        async with engine.begin() as conn:
            conn = await conn.execution_options(across_workspaces=True)
            await conn.execute(
                text(
                    "INSERT INTO workspaces (id, name, created_at) VALUES ('w1', 'W', '2026-03-10 15:00:00')"
                )
            )
            for pk, (cid, name, company, old_text, old_key) in enumerate(
                [
                    ("c1", "Søren Kierkegaard", "K", "søren kierkegaard k", "kierkegaard søren|k"),
                    ("c2", long_name, long_company, "stale", f"{long_name.lower()}|{long_company}"[:400]),
                ],
                start=1,
            ):
                await conn.execute(
                    text(
                        "INSERT INTO contacts (pk, id, workspace_id, full_name, company, emails, phones, "
                        "tags, stage, source, score, created_at, updated_at, search_text) VALUES ("
                        ":pk, :id, 'w1', :name, :company, '[]', '[]', '[]', 'lead', 'manual', 0, "
                        "'2026-03-10 15:00:00', '2026-03-10 15:00:00', :text)"
                    ),
                    {"pk": pk, "id": cid, "name": name, "company": company, "text": old_text},
                )
                await conn.execute(
                    text(
                        "INSERT INTO contact_keys (workspace_id, kind, value, contact_id) "
                        "VALUES ('w1', 'name', :value, :id)"
                    ),
                    {"value": old_key, "id": cid},
                )
        await migrate.upgrade(empty_url)
        async with engine.connect() as conn:
            conn = await conn.execution_options(across_workspaces=True)
            stored = dict((await conn.execute(text("SELECT id, search_text FROM contacts"))).all())
            keys = dict((await conn.execute(text("SELECT contact_id, value FROM contact_keys"))).all())
    finally:
        await engine.dispose()
    assert stored["c1"] == "soren kierkegaard k"
    assert keys == {
        "c1": normalize.name_key("Søren Kierkegaard", "K"),
        "c2": normalize.name_key(long_name, long_company),
    }
    assert keys["c1"] == "kierkegaard soren|k" and len(keys["c2"]) == normalize.MAX_KEY_LENGTH
