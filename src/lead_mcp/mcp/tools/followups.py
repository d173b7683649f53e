"""Follow-up tools: the due list, scheduling and completing touches."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from lead_mcp.domain import CompleteFollowUpResult, DuePage, FollowUp, FollowUpResult, InteractionKind
from lead_mcp.mcp.tools.contacts import ContactId
from lead_mcp.mcp.unit import READ_ONLY, WRITE, unit
from lead_mcp.services import followups


def register(server: MCPServer[Any]) -> None:
    """Add the follow-up tools to a server."""

    @server.tool(annotations=READ_ONLY)
    async def list_due_followups(
        ctx: Context[Any, Any],
        within_days: Annotated[
            int,
            Field(
                description="0: due by the end of today; 7: by the end of the day a week from today.",
                ge=0,
                le=3650,
            ),
        ] = 0,
        include_overdue: Annotated[bool, Field(description="Include follow-ups already past due.")] = True,
        limit: Annotated[int, Field(description="Page size, 1 to 200.", ge=1, le=200)] = 50,
        cursor: Annotated[
            str | None, Field(description="next_cursor from the previous page.", max_length=500)
        ] = None,
    ) -> DuePage:
        """Who to follow up with now: pending follow-ups due by the end of the chosen day.

        Overdue first, then by due time; ties by lead score. Each item has the contact, how many
        days overdue it is, the cadence step, the note, and why it matters. Days are calendar days
        in the configured time zone.
        """
        async with unit(ctx, write=False) as (session, scope):
            return await followups.list_due_followups(
                session,
                scope,
                within_days=within_days,
                include_overdue=include_overdue,
                limit=limit,
                cursor=cursor,
            )

    @server.tool(annotations=WRITE)
    async def schedule_followup(
        ctx: Context[Any, Any],
        contact_id: ContactId,
        due: Annotated[
            str,
            Field(
                description="ISO date (2026-12-01, due 09:00 local) or date-time "
                "(2026-12-01T15:00:00+01:00). Past dates are accepted.",
                max_length=40,
            ),
        ],
        note: Annotated[
            str | None, Field(description="The reminder or drafted message.", max_length=5_000)
        ] = None,
        replace_pending: Annotated[
            bool,
            Field(
                description="true (default): move the contact's pending follow-up to this time; "
                "false: add another one."
            ),
        ] = True,
        cadence: Annotated[
            str | None,
            Field(
                description="Make this the first step of a cadence (see list_cadences), e.g. 'default'; "
                "without it the follow-up is a one-off reminder.",
                max_length=50,
            ),
        ] = None,
    ) -> FollowUp:
        """Schedule a follow-up with a contact, or move their pending one to a new time.

        Moving keeps the old due time in the contact's history. To push a follow-up by a few
        days, snooze_followup is simpler.
        """
        async with unit(ctx, write=True) as (session, scope):
            return await followups.schedule_followup(
                session,
                scope,
                contact_id=contact_id,
                due=due,
                note=note,
                replace_pending=replace_pending,
                cadence=cadence,
            )

    @server.tool(annotations=WRITE)
    async def complete_followup(
        ctx: Context[Any, Any],
        followup_id: Annotated[
            str, Field(description="The follow-up's id (from list_due_followups).", max_length=64)
        ],
        outcome: Annotated[
            str | None, Field(description="What happened, in the user's words.", max_length=5_000)
        ] = None,
        next_in_days: Annotated[
            int | None,
            Field(
                description="Schedule the next touch this many days out instead of the cadence's.",
                ge=0,
                le=3650,
            ),
        ] = None,
        kind: Annotated[
            InteractionKind, Field(description="How you reached out (logged as an outbound touch).")
        ] = InteractionKind.EMAIL,
        result: Annotated[
            FollowUpResult | None,
            Field(
                description="How it went, which moves the lead: replied (reply logged, cadence stops, "
                "lead -> mql), no_answer (cadence goes on), meeting_booked (opportunity, cadence stops, prep "
                "follow-up, referrer thanked), not_interested (lost), wrong_person (lost; ask for the right "
                "one), not_now (cadence stops, check-in in next_in_days or 90 days), won (customer)."
            ),
        ] = None,
        meeting_at: Annotated[
            str | None,
            Field(
                description="With result=meeting_booked: when the meeting is (ISO date-time); the prep "
                "follow-up is due the day before.",
                max_length=40,
            ),
        ] = None,
    ) -> CompleteFollowUpResult:
        """Mark a follow-up done: logs the touch, applies the result, and schedules what comes next.

        Put what happened in the user's own words in `outcome` (kept on the logged touch) and,
        when it is clear, the structured `result`. Without a result the cadence goes on: the
        default one touches a lead on day 0, 2, 7 and 30 and stops once the lead replies or is a
        customer or lost. Pass next_in_days to choose the next touch yourself. `effects` says
        what changed.
        """
        async with unit(ctx, write=True) as (session, scope):
            return await followups.complete_followup(
                session,
                scope,
                followup_id=followup_id,
                outcome=outcome,
                next_in_days=next_in_days,
                kind=kind,
                result=result,
                meeting_at=meeting_at,
            )


__all__ = ["ContactId", "register"]
