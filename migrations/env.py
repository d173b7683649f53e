"""Alembic environment: runs migrations over lead-mcp's async engine (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
from alembic import context
from sqlalchemy.engine import Connection

from lead_mcp.db.engine import create_engine_unpooled
from lead_mcp.db.search import include_in_autogenerate
from lead_mcp.db.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_in_autogenerate,
        compare_type=True,
        version_table_schema=config.attributes.get("schema"),
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine_unpooled(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    # Called from lead_mcp.db.migrate inside a running event loop: a sync connection is handed in.
    _run(given)
else:
    asyncio.run(_run_async(config.get_main_option("sqlalchemy.url") or ""))
