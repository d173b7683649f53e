"""Small helpers for driving tools through the MCP client the way an assistant does."""

from __future__ import annotations

from typing import Any

from mcp import Client


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool that must succeed; returns its structured content."""
    result = await client.call_tool(tool, arguments or {})
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert not result.is_error, f"{tool} failed: {text}"
    assert result.structured_content is not None, f"{tool} returned no structured content"
    return result.structured_content


async def call_error(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail; returns the error text the model would read."""
    result = await client.call_tool(tool, arguments or {})
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error, f"{tool} unexpectedly succeeded: {text[:300]}"
    return text
