"""Cadence tools: define and list follow-up cadences, and snooze a follow-up."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from lead_mcp.domain import Cadence, CadenceList, FollowUp
from lead_mcp.mcp.unit import IDEMPOTENT_WRITE, READ_ONLY, WRITE, unit
from lead_mcp.services import cadences


def register(server: MCPServer[Any]) -> None:
    """Add the cadence tools to a server."""

    @server.tool(annotations=IDEMPOTENT_WRITE)
    async def create_cadence(
        ctx: Context[Any, Any],
        name: Annotated[
            str,
            Field(description="A short name, e.g. 'event-leads' (letters, digits, '-', '_').", max_length=50),
        ],
        steps_days: Annotated[
            list[Annotated[int, Field(ge=0, le=365)]],
            Field(
                description="Day offsets of the touches from the first one, increasing, e.g. [0, 1, 4, 14]; "
                "the first is when the first touch is due after the lead arrives (0: same day).",
                min_length=1,
                max_length=12,
            ),
        ],
        description: Annotated[
            str | None, Field(description="What the cadence is for.", max_length=500)
        ] = None,
    ) -> Cadence:
        """Create a named follow-up cadence (or change the steps of the one with that name).

        Use it with add_contact(cadence=...) or schedule_followup(cadence=...). Completing a step
        schedules the next; the cadence stops when the lead replies, books a meeting, or is
        closed. The built-in 'default' cadence is [0, 2, 7, 30].
        """
        async with unit(ctx, write=True) as (session, scope):
            return await cadences.create_cadence(
                session, scope, name=name, steps_days=steps_days, description=description
            )

    @server.tool(annotations=READ_ONLY)
    async def list_cadences(ctx: Context[Any, Any]) -> CadenceList:
        """List the follow-up cadences: the built-in default and the ones created in this workspace."""
        async with unit(ctx, write=False) as (session, scope):
            return await cadences.list_cadences(session, scope)

    @server.tool(annotations=WRITE)
    async def snooze_followup(
        ctx: Context[Any, Any],
        followup_id: Annotated[
            str, Field(description="The follow-up's id (from list_due_followups).", max_length=64)
        ],
        days: Annotated[
            int | None,
            Field(
                description="Push it this many days later (from its due time, or now if overdue).",
                ge=1,
                le=3650,
            ),
        ] = None,
        until: Annotated[
            str | None,
            Field(
                description="Or: the new due date (ISO date, due 09:00 local) or date-time.", max_length=40
            ),
        ] = None,
    ) -> FollowUp:
        """Snooze a pending follow-up: push it later by some days, or to a date.

        The follow-up keeps its cadence step and note; the old due time stays in the contact's
        history. Give either days or until.
        """
        async with unit(ctx, write=True) as (session, scope):
            return await cadences.snooze_followup(
                session, scope, followup_id=followup_id, days=days, until=until
            )
