"""The glue every tool uses: one transaction for the call, the caller's scope, and errors a model can read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError  # no pooled connection free in time
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.errors import LeadError
from lead_mcp.mcp.state import AppState
from lead_mcp.services.scope import Scope

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


def app_state(ctx: Context[Any, Any]) -> AppState:
    """The server's lifespan state."""
    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState)
    return state


def resolve_scope(ctx: Context[Any, Any]) -> Scope:
    """The caller's workspace: the local one unless an authenticated user maps to another."""
    state = app_state(ctx)
    resolver = state.extras.get("scope_resolver")
    if resolver is not None:
        scope: Scope = resolver(ctx, state)
        return scope
    return Scope(workspace_id=state.local_workspace_id, settings=state.settings, clock=state.clock)


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
    except LeadError as exc:
        raise ToolError(str(exc)) from exc
    except (OperationalError, PoolTimeoutError) as exc:
        raise ToolError(
            "The store is busy or unreachable right now; nothing was saved. "
            "Try the same call again in a moment."
        ) from exc
    except DBAPIError as exc:
        raise ToolError(
            "The store refused this change (a constraint failed); nothing was saved. "
            "Check the ids you passed, or call the tool again."
        ) from exc
