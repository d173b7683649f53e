"""Identity tools: whoami."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer

from lead_mcp.domain import WhoAmI
from lead_mcp.mcp.access import current_principal
from lead_mcp.mcp.unit import READ_ONLY, app_state, unit
from lead_mcp.services import identity


def register(server: MCPServer[Any]) -> None:
    """Add the identity tools to a server."""

    @server.tool(annotations=READ_ONLY)
    async def whoami(ctx: Context[Any, Any]) -> WhoAmI:
        """Who this connection acts as: the user, their workspace, their role and the granted scopes.

        Every other tool reads and writes this workspace only. Scopes: leads:read lets the read
        tools run; leads:write is needed for tools that change data. Use it to tell the user whose
        CRM this is, or why a change was refused.
        """
        async with unit(ctx, write=False) as (session, scope):
            principal = current_principal()
            auth = (
                "local" if principal is None else ("oauth" if principal.kind == "access" else principal.kind)
            )
            return await identity.whoami(
                session, scope, auth=auth, read_only_mode=app_state(ctx).settings.read_only
            )
