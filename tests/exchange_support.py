"""Fixtures and helpers shared by the exchange tests (imported by those modules, not a conftest).

``state`` opens the real store of the parametrized ``settings`` (SQLite and PostgreSQL), ``scope`` is
its local workspace, ``transactions`` the per-batch transaction factory the tools pass to services.
``ical_parse`` runs the independent vCard parser (ical.js under Node, installed from
tests/js/package-lock.json by ``scripts/system-deps.sh --test``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.mcp.state import AppState
from lead_mcp.services.scope import Scope

JS_DIR = Path(__file__).resolve().parent / "js"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
async def state(settings: Settings, clock: FixedClock) -> AsyncIterator[AppState]:
    """The store of this test (already migrated), opened as the server opens it."""
    opened = await AppState.open(settings, clock=clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def scope(state: AppState) -> Scope:
    """The local workspace, in simulated time."""
    return Scope(workspace_id=state.local_workspace_id, settings=state.settings, clock=state.clock)


@pytest.fixture
def transactions(state: AppState, scope: Scope) -> Any:
    """Opens one transaction in the test's workspace (what the tools hand to batch services)."""

    def open_transaction(*, write: bool) -> AbstractAsyncContextManager[AsyncSession]:
        return state.db.transaction(workspace_id=scope.workspace_id, write=write)

    return open_transaction


def ical_parse(text: str) -> list[dict[str, Any]]:
    """What ical.js (an independent parser, not ours) reads from vCard text: one dict per card."""
    node = shutil.which("node")
    assert node, "Node.js is needed for the independent vCard parser: run scripts/system-deps.sh --test"
    assert (JS_DIR / "node_modules" / "ical.js").is_dir(), (
        "ical.js is not installed: run scripts/system-deps.sh --test (npm ci --prefix tests/js)"
    )
    done = subprocess.run(
        [node, str(JS_DIR / "parse_vcard.mjs")], input=text.encode("utf-8"), capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    cards: list[dict[str, Any]] = json.loads(done.stdout)
    return cards


def props(card: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Every property of a parsed card with this (lower-case) name."""
    return [p for p in card["properties"] if p["name"] == name]


def value(card: dict[str, Any], name: str) -> Any:
    """The single value of a property that must occur once."""
    found = props(card, name)
    assert len(found) == 1, f"{name}: {found}"
    values = found[0]["values"]
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


@pytest.fixture
def second_database_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Any:
    """Another fresh, migrated store of the same kind as ``database_url`` (a 'fresh database')."""
    from tests.conftest import PG_URL_BASE, _pg_execute, fresh_sqlite_url

    if database_url.startswith("sqlite"):
        yield fresh_sqlite_url(request.getfixturevalue("sqlite_template"), tmp_path)
        return
    import asyncio
    import uuid

    template = request.getfixturevalue("pg_template")
    name = f"lead_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield f"{PG_URL_BASE}/{name}"
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
