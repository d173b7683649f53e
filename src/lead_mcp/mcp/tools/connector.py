"""ChatGPT connector tools: read-only `search` and `fetch` over contacts (connectors and deep research)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from lead_mcp.domain import ConnectorDocument, ConnectorSearchResults
from lead_mcp.mcp.unit import READ_ONLY, unit
from lead_mcp.services import connector


def register(server: MCPServer[Any]) -> None:
    """Add `search` and `fetch` to a server."""

    @server.tool(annotations=READ_ONLY)
    async def search(
        ctx: Context[Any, Any],
        query: Annotated[
            str,
            Field(description="Plain words: a name, company, email, domain or phone number.", max_length=500),
        ],
    ) -> ConnectorSearchResults:
        """Search the user's contacts (leads) by name, company, title, email, domain, phone or notes.

        Returns up to 20 results with id, title and url; pass an id to fetch for the whole record.
        """
        async with unit(ctx, write=False) as (session, scope):
            return await connector.search(session, scope, query=query)

    @server.tool(annotations=READ_ONLY)
    async def fetch(
        ctx: Context[Any, Any],
        id: Annotated[str, Field(description="A contact id from search.", max_length=64)],
    ) -> ConnectorDocument:
        """Read one contact in full: fields, notes, recent touches and pending follow-ups, as text."""
        async with unit(ctx, write=False) as (session, scope):
            return await connector.fetch(session, scope, id=id)
