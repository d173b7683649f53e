"""Qualification tool: stage, BANT and the lead score with its reasons."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from lead_mcp.domain import QualifyResult, Stage
from lead_mcp.mcp.tools.contacts import ContactId
from lead_mcp.mcp.unit import IDEMPOTENT_WRITE, unit
from lead_mcp.services import stages

CLEARS = " In the user's words; an empty string clears it."
Budget = Annotated[
    str | None, Field(description="Budget, e.g. 'about 20k EUR a year'." + CLEARS, max_length=300)
]
Authority = Annotated[
    str | None, Field(description="Who decides, e.g. 'she signs off herself'." + CLEARS, max_length=300)
]
Need = Annotated[
    str | None, Field(description="What they need, e.g. 'a CRM for 12 field reps'." + CLEARS, max_length=1000)
]
Timeline = Annotated[
    str | None,
    Field(description="When they want to decide or start, e.g. 'before Q3'." + CLEARS, max_length=300),
]


def register(server: MCPServer[Any]) -> None:
    """Add the qualification tool to a server."""

    @server.tool(annotations=IDEMPOTENT_WRITE)
    async def qualify_lead(
        ctx: Context[Any, Any],
        contact_id: ContactId,
        stage: Annotated[
            Stage | None,
            Field(
                description="Pipeline stage: cold, lead, mql (engaged), sql (sales-qualified), opportunity "
                "(meeting or proposal), customer, lost."
            ),
        ] = None,
        budget: Budget = None,
        authority: Authority = None,
        need: Need = None,
        timeline: Timeline = None,
    ) -> QualifyResult:
        """Qualify a lead: set its stage and BANT facts (budget, authority, need, timeline), get its score.

        Returns the contact with a fresh 0-100 score and every reason behind it (fit, behaviour,
        recency, BANT, stage), plus the BANT facts still missing: ask about those next. Stage
        changes are kept in the contact's history; customer or lost stops the follow-up cadence,
        and a referred lead reaching opportunity or customer schedules a thank-you to the referrer.
        Call it with only contact_id to see the current score and reasons.
        """
        async with unit(ctx, write=True) as (session, scope):
            return await stages.qualify_lead(
                session,
                scope,
                contact_id=contact_id,
                stage=stage,
                budget=budget,
                authority=authority,
                need=need,
                timeline=timeline,
            )
