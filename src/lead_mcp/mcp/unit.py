"""The glue every tool uses: one transaction for the call, the caller's scope, and errors a model can read."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError  # no pooled connection free in time
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.errors import LeadError
from lead_mcp.mcp.access import scope_for
from lead_mcp.mcp.state import AppState
from lead_mcp.services.scope import Scope

if TYPE_CHECKING:
    from lead_mcp.mcp.server import LeadServer

log = logging.getLogger(__name__)

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
IDEMPOTENT_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
DESTRUCTIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)


def lead_server(server: MCPServer[Any]) -> LeadServer:
    """The server as a LeadServer, for its static resources and completion sources."""
    from lead_mcp.mcp.server import LeadServer

    assert isinstance(server, LeadServer)
    return server


def app_state(ctx: Context[Any, Any]) -> AppState:
    """The server's lifespan state."""
    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState)
    return state


def resolve_scope(ctx: Context[Any, Any]) -> Scope:
    """The caller's workspace and scopes: the signed-in seat's over HTTP with auth, else the local one."""
    state = app_state(ctx)
    scope = scope_for(
        settings=state.settings,
        clock=state.clock,
        local_workspace_id=state.local_workspace_id,
        require_token=state.require_token,
    )
    return dataclasses.replace(scope, secret=state.request_state_key)


@asynccontextmanager
async def unit(ctx: Context[Any, Any], *, write: bool) -> AsyncIterator[tuple[AsyncSession, Scope]]:
    """One transaction for one tool call: committed on success, rolled back on any error.

    A ``LeadError`` becomes a ToolError (an ``isError`` result with its message);
    a database that is busy or down becomes a message that says to retry.
    """
    state = app_state(ctx)
    try:
        scope = resolve_scope(ctx)
        async with state.db.transaction(workspace_id=scope.workspace_id, write=write) as session:
            yield session, scope
    except (LeadError, DBAPIError, PoolTimeoutError) as exc:
        raise tool_error(exc) from exc


def tool_error(exc: LeadError | DBAPIError | PoolTimeoutError) -> ToolError:
    """The one line a client gets for a domain or database error (the database's words go to the log)."""
    if isinstance(exc, LeadError):
        return ToolError(str(exc))
    _log_database_error(exc)
    if isinstance(exc, (OperationalError, PoolTimeoutError)):
        return ToolError(
            "The store is busy or unreachable right now; nothing was saved. "
            "Try the same call again in a moment."
        )
    return ToolError(
        "The store refused this change (a constraint failed); nothing was saved. "
        "Check the ids you passed, or call the tool again."
    )


def _log_database_error(exc: Exception) -> None:
    """The database's own words stay in the server log (one line, no SQL), the client gets ours."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0][:200] if str(orig).strip() else ""
    log.warning("tool call failed in the database: %s: %s", type(orig).__name__, first)


@asynccontextmanager
async def scoped(ctx: Context[Any, Any]) -> AsyncIterator[tuple[AppState, Scope]]:
    """The caller's scope without a transaction, for tools that open their own short ones.

    A long-running tool (OCR, a folder of cards) must not hold a write transaction while it
    works: it calls ``state.db.transaction(workspace_id=scope.workspace_id, ...)`` per step.
    Errors are turned into tool errors exactly as in :func:`unit`.
    """
    state = app_state(ctx)
    try:
        yield state, resolve_scope(ctx)
    except (LeadError, DBAPIError, PoolTimeoutError) as exc:
        raise tool_error(exc) from exc
