"""Draft tool: a personal follow-up note built from the contact's stored history."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from lead_mcp.domain import Draft, Tone
from lead_mcp.mcp.tools.contacts import ContactId
from lead_mcp.mcp.unit import WRITE, unit
from lead_mcp.services import drafts


def register(server: MCPServer[Any]) -> None:
    """Add the draft tool to a server."""

    @server.tool(annotations=WRITE)
    async def draft_followup(
        ctx: Context[Any, Any],
        contact_id: ContactId,
        tone: Annotated[
            Tone, Field(description="friendly (default), professional, or brief.")
        ] = Tone.FRIENDLY,
        followup_id: Annotated[
            str | None,
            Field(
                description="Which pending follow-up to draft for; default: the contact's next one.",
                max_length=64,
            ),
        ] = None,
    ) -> Draft:
        """Draft a short personal follow-up note for a contact and store it on their pending follow-up.

        The note uses only what is stored: where you met, who referred them, what they asked
        about, the last touch, the cadence step, a booked meeting, or the lead a referrer sent.
        It comes back with `facts` (each value and where it is stored) and `missing` (facts worth
        asking the user for). Polish the text in the user's voice and add their sign-off; never
        add details that are not in `facts`. When the contact has no pending follow-up, one due
        now is created.
        """
        async with unit(ctx, write=True) as (session, scope):
            return await drafts.draft_followup(
                session, scope, contact_id=contact_id, tone=tone, followup_id=followup_id
            )
