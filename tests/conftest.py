"""Shared fixtures: a fresh real store per test (SQLite file or PostgreSQL database), settings, clients.

Store tests run twice, on SQLite and on the real PostgreSQL at 127.0.0.1:5432
(``LEAD_MCP_TEST_PG_URL`` overrides it). Each test gets its own database,
copied from a template migrated once per worker, and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.db import migrate
from lead_mcp.mcp.server import build_server
from mcp import Client

PG_ADMIN_DSN = os.environ.get("LEAD_MCP_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PG_URL_BASE = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
# Copies of the steering repo's shared fixtures (shared/fixtures/cards, shared/schemas), kept in the
# repo so a clean clone tests without a sibling folder.
FIXTURES = Path(__file__).resolve().parent / "data"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests run on anyio (the SDK's own async layer) over asyncio (anyio_mode = auto)."""
    return "asyncio"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


async def _pg_execute(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per worker; tests copy it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per worker; tests clone it."""
    name = f"lead_tmpl_{_worker()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    asyncio.run(migrate.upgrade(f"{PG_URL_BASE}/{name}"))
    yield name
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def fresh_sqlite_url(template: Path, folder: Path) -> str:
    """A copy of the migrated template in ``folder``."""
    target = folder / f"lead-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A fresh, migrated store: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield fresh_sqlite_url(sqlite_template, tmp_path)
        return
    template = request.getfixturevalue("pg_template")
    name = f"lead_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield f"{PG_URL_BASE}/{name}"
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh SQLite store only (for tests about SQLite itself)."""
    return fresh_sqlite_url(sqlite_template, tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    """Simulated time: 2026-03-10 15:00 UTC (16:00 in Berlin), moved by tests as they need."""
    return FixedClock(datetime(2026, 3, 10, 15, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test server: the fresh store, Berlin time, a private scan folder."""
    scan_root = tmp_path / "scans"
    scan_root.mkdir(exist_ok=True)
    return Settings(
        database_url=database_url,
        timezone="Europe/Berlin",
        default_region="US",
        scan_roots=[scan_root],
        public_base_url="http://127.0.0.1:8765",
    )


@pytest.fixture
async def client(settings: Settings, clock: FixedClock) -> AsyncIterator[Client]:
    """An MCP client connected in memory to a server on the fresh store, in simulated time."""
    async with Client(build_server(settings, clock=clock), raise_exceptions=True) as connected:
        yield connected
