"""A no-op MCP server on the same SDK: the floor that protocol-overhead ratios are measured against.

Its one tool takes the same arguments as a small ``add_contact`` call and
returns a small structured result, doing no work. ``python -m benchmarks.noop_server``
serves it over stdio.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel


class Echo(BaseModel):
    """What the no-op tool returns."""

    full_name: str
    email: str
    company: str | None


def build_noop_server() -> MCPServer:
    """A server with one tool that does nothing."""
    server = MCPServer("noop", log_level="WARNING")

    @server.tool()
    async def noop(full_name: str, email: str, company: str | None = None) -> Echo:
        """Return the arguments unchanged."""
        return Echo(full_name=full_name, email=email, company=company)

    return server


if __name__ == "__main__":
    import asyncio

    asyncio.run(build_noop_server().run_stdio_async())
