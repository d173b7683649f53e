"""Report tool: the pipeline in numbers."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from lead_mcp.domain import PipelineReport
from lead_mcp.mcp.unit import READ_ONLY, unit
from lead_mcp.services import reports

Bound = Annotated[
    str | None,
    Field(
        description="ISO date (a whole local day) or date-time, e.g. 2026-03-01 or "
        "2026-03-01T09:00:00+01:00.",
        max_length=40,
    ),
]


def register(server: MCPServer[Any]) -> None:
    """Add the report tool to a server."""

    @server.tool(annotations=READ_ONLY)
    async def pipeline_report(
        ctx: Context[Any, Any], since: Bound = None, until: Bound = None
    ) -> PipelineReport:
        """Pipeline numbers for the contacts created in a period (default: all time).

        Counts by stage and by source; speed-to-lead (minutes from a lead's creation to your first
        outbound touch: median, 90th percentile, share under 5 minutes and under 1 hour);
        second-touch rate; conversion by source and along the funnel; top referrers with the
        leads of theirs that became customers; and the follow-ups overdue right now. `until` as a
        date includes that whole day. Every figure is defined in the output schema.
        """
        async with unit(ctx, write=False) as (session, scope):
            return await reports.pipeline_report(session, scope, since=since, until=until)
