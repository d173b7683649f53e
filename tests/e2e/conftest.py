"""End-to-end fixtures: stores for servers shared by a module's tests, and PostgreSQL-only stores."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PG_URL_BASE, _pg_execute, fresh_sqlite_url


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[str]:
    """A fresh migrated store shared by one module's tests (each test seeds its own seats)."""
    if request.param == "sqlite":
        yield fresh_sqlite_url(sqlite_template, tmp_path_factory.mktemp("e2e"))
        return
    template = request.getfixturevalue("pg_template")
    name = f"lead_e2e_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield f"{PG_URL_BASE}/{name}"
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_database_url(pg_template: str) -> Iterator[str]:
    """A fresh migrated PostgreSQL store (tests about several processes on one PostgreSQL)."""
    name = f"lead_pg_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield f"{PG_URL_BASE}/{name}"
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_pg_database_url() -> Iterator[str]:
    """An empty PostgreSQL database (never migrated)."""
    name = f"lead_empty_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    yield f"{PG_URL_BASE}/{name}"
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
