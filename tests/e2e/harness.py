"""Real `lead-mcp serve` processes on free loopback ports, seeded stores, MCP clients with a bearer token."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from mcp.client.streamable_http import streamable_http_client

from lead_mcp.clock import SystemClock
from lead_mcp.config import Settings
from lead_mcp.db.engine import Database
from lead_mcp.domain import ALL_SCOPES, ContactCreate, Role
from lead_mcp.services import accounts, contacts, tokens
from lead_mcp.services.scope import Scope
from mcp import Client
from tests.e2e import servers
from tests.e2e.servers import Served, free_port, stop, wait_ready

__all__ = ["Served", "free_port", "stop", "wait_ready"]


@contextmanager
def serve(database_url: str, *, auth: str = "builtin", **settings: Any) -> Iterator[Served]:
    """A running `lead-mcp serve` with auth (builtin unless told otherwise) for the block."""
    extra = settings.pop("extra_env", None) or {}
    options = {k.removeprefix("LEAD_MCP_").lower(): v for k, v in extra.items()}
    with servers.serve(database_url, auth=auth, **options, **settings) as served:
        yield served


def start(database_url: str, *, auth: str = "builtin", **settings: Any) -> tuple[Served, threading.Event]:
    """Launch a server with auth without waiting for it (see ``wait_ready``)."""
    extra = settings.pop("extra_env", None) or {}
    options = {k.removeprefix("LEAD_MCP_").lower(): v for k, v in extra.items()}
    return servers.start(database_url, auth=auth, **options, **settings)


@asynccontextmanager
async def bearer_client(mcp_url: str, token: str) -> AsyncIterator[Client]:
    """An SDK client over streamable HTTP sending ``Authorization: Bearer <token>``."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with http, Client(streamable_http_client(mcp_url, http_client=http)) as client:
        yield client


@dataclass
class SeatFixture:
    """A seeded seat and a personal access token for it."""

    workspace_id: str
    user_id: str
    email: str
    token: str


async def seed_seat(
    database_url: str,
    *,
    workspace: str | None,
    email: str,
    password: str | None = None,
    role: Role = Role.OWNER,
    scopes: tuple[str, ...] = ALL_SCOPES,
) -> SeatFixture:
    """A workspace (new, unless an id is given), a seat in it, and a personal token."""
    db = Database(database_url, pool_size=1, max_overflow=0)
    clock = SystemClock()
    try:
        async with db.transaction(all_workspaces=True) as session:
            workspace_id = (
                workspace or (await accounts.create_workspace(session, clock, name=f"WS {email}")).id
            )
            seat = await accounts.add_user(
                session, clock, workspace_id=workspace_id, email=email, role=role, password=password
            )
            token, _ = await tokens.create_personal_token(
                session, clock, user_id=seat.id, scopes=scopes, name="test"
            )
    finally:
        await db.dispose()
    return SeatFixture(workspace_id=workspace_id, user_id=seat.id, email=seat.email, token=token)


async def seed_contacts(
    database_url: str, settings: Settings, seat: SeatFixture, people: list[dict[str, Any]]
) -> list[str]:
    """Contacts added as this seat (through the service, as add_contact would); returns their ids."""
    db = Database(database_url, pool_size=1, max_overflow=0)
    scope = Scope(
        workspace_id=seat.workspace_id, settings=settings, clock=SystemClock(), user_id=seat.user_id
    )
    ids = []
    try:
        async with db.transaction(workspace_id=seat.workspace_id) as session:
            for person in people:
                result = await contacts.add_contact(session, scope, data=ContactCreate(**person))
                ids.append(result.contact.id)
    finally:
        await db.dispose()
    return ids
