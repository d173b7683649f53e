"""Real `lead-mcp serve` processes on free loopback ports, seeded stores, MCP clients with a bearer token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
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

READY_MARKER = "Uvicorn running on"
START_TIMEOUT = 90


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A running `lead-mcp serve`."""

    url: str  # where to reach it (http://127.0.0.1:PORT)
    public_base_url: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def mcp_url(self) -> str:
        """The MCP endpoint as reached by the test (under the public prefix, if any)."""
        prefix = self.public_base_url.split("://", 1)[1].partition("/")[2]
        return f"{self.url}/{prefix + '/' if prefix else ''}mcp"


def start(
    database_url: str,
    *,
    auth: str = "builtin",
    port: int | None = None,
    public_base_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> tuple[Served, threading.Event]:
    """Launch `lead-mcp serve` on a free port; the event is set once uvicorn listens (or the process died)."""
    port = port or free_port()
    base = public_base_url or f"http://127.0.0.1:{port}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LEAD_MCP_DATABASE_URL": database_url,
        "LEAD_MCP_AUTH": auth,
        "LEAD_MCP_PUBLIC_BASE_URL": base,
        "LEAD_MCP_TIMEZONE": "Europe/Berlin",
        "LEAD_MCP_LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "lead_mcp", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(url=f"http://127.0.0.1:{port}", public_base_url=base, process=process)
    ready = threading.Event()

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            served.log.append(line)
            if READY_MARKER in line:
                ready.set()
        ready.set()  # the process ended: let the waiter see it

    served.reader = threading.Thread(target=drain, daemon=True)
    served.reader.start()
    return served, ready


def wait_ready(served: Served, ready: threading.Event) -> None:
    """Block until the server listens; raise with its log if it died or never came up."""
    if not ready.wait(START_TIMEOUT) or served.process.poll() is not None:
        raise RuntimeError("lead-mcp serve did not start:\n" + "".join(served.log[-40:]))


def stop(served: Served) -> None:
    """Stop a server (SIGTERM, then SIGKILL if it hangs)."""
    served.process.terminate()
    try:
        served.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()
    if served.reader is not None:
        served.reader.join(timeout=5)


@contextmanager
def serve(database_url: str, **options: Any) -> Iterator[Served]:
    """A running `lead-mcp serve` for the block; ready when uvicorn says it listens."""
    served, ready = start(database_url, **options)
    try:
        wait_ready(served, ready)
        yield served
    finally:
        stop(served)


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
        async with db.transaction(workspace_id=None) as session:
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
