"""Alembic runner: migrate a store to head (the server does this at start), or anywhere else.

The migration scripts ship inside the wheel (``lead_mcp/migrations``); in a
source checkout they are the top-level ``migrations/`` folder.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from lead_mcp.db.engine import WRITE_OPTION, create_engine_unpooled
from lead_mcp.errors import SetupError

MIGRATION_LOCK_ID = 0x1EAD_3C9


def migrations_dir() -> Path:
    """Where the Alembic scripts are: inside the installed package, else the source tree."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "migrations", here.parent.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise SetupError("lead-mcp's migrations folder is missing; reinstall the package")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our scripts and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    """The newest revision shipped with this version."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def _run(url: str, action: str, target: str) -> None:
    cfg = alembic_config(url)
    # BEGIN IMMEDIATE on SQLite: processes starting together on a new file queue for the write lock
    # instead of failing with "database is locked" when a read transaction tries to turn into a write.
    engine = create_engine_unpooled(url).execution_options(**{WRITE_OPTION: True})

    def go(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # One replica migrates at a time; the others wait here, then find nothing to do.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        cfg.attributes["connection"] = connection
        getattr(command, action)(cfg, target)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(go)
    finally:
        await engine.dispose()


async def upgrade(url: str, target: str = "head") -> None:
    """Migrate the database at ``url`` up to ``target`` (default: head)."""
    await _run(url, "upgrade", target)


async def downgrade(url: str, target: str) -> None:
    """Migrate the database at ``url`` down to ``target`` (``base`` empties it)."""
    await _run(url, "downgrade", target)


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    engine = create_engine_unpooled(url)

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(read)
    finally:
        await engine.dispose()
