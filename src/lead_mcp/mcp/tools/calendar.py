"""The private calendar feed tool: reminders of due follow-ups in the user's own calendar."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from lead_mcp.domain import CalendarFeedResult
from lead_mcp.mcp.unit import WRITE, unit
from lead_mcp.services import calendar


def register(server: MCPServer[Any]) -> None:
    """Add the calendar tool to a server."""

    @server.tool(annotations=WRITE)
    async def calendar_feed_url(
        ctx: Context[Any, Any],
        rotate: Annotated[
            bool, Field(description="Make a new secret URL; the old one stops working at once.")
        ] = False,
        revoke: Annotated[bool, Field(description="Turn the feed off; its URL stops working.")] = False,
    ) -> CalendarFeedResult:
        """A private calendar (.ics) URL of due follow-ups to subscribe to in Google, Apple or Outlook.

        The first call makes the feed and returns its secret URL, once; later calls report that the feed
        exists (pass rotate=true for a new URL if the user lost it or it leaked). Give the user the URL and
        the subscribe steps in `note`.
        """
        async with unit(ctx, write=True) as (session, scope):
            return await calendar.calendar_feed_url(session, scope, rotate=rotate, revoke=revoke)
