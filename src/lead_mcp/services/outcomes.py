"""What a touch or a completed follow-up does to the lead: replies, results, next steps, score.

``complete_followup`` keeps ``outcome`` as the user's own words on the logged
touch; its optional structured ``result`` moves the lead as :data:`RESULTS`
says. With no result the cadence simply goes on (as with ``no_answer``).

A contact who withdrew consent gets no automatic next touch (cadence step or
check-in); a ``next_in_days`` the user asks for explicitly is still scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import utc
from lead_mcp.db.tables import ContactRow, FollowUpRow, InteractionRow
from lead_mcp.domain import (
    CompleteFollowUpResult,
    Direction,
    FollowUp,
    FollowUpPurpose,
    FollowUpResult,
    InteractionKind,
    Stage,
    StageChange,
)
from lead_mcp.services import cadences, scoring, stages
from lead_mcp.services import followups as followup_service
from lead_mcp.services import interactions as interaction_service
from lead_mcp.services.contacts import consent_withdrawn
from lead_mcp.services.records import contact_summary, followup_model, interaction_model
from lead_mcp.services.scope import Scope

NURTURE_DAYS = 90
PREP_DAYS_BEFORE = 1
# The reply is recorded a second after our touch, so "inbound after our first outbound" holds for it.
REPLY_LAG = timedelta(seconds=1)


@dataclass(frozen=True)
class Effect:
    """What a structured result does."""

    logs_reply: bool
    stage: Stage | None
    stops_cadence: bool
    then: str
    explains: str


RESULTS: dict[FollowUpResult, Effect] = {
    FollowUpResult.REPLIED: Effect(
        True,
        Stage.MQL,
        True,
        "next_in_days",
        "They answered: their reply is logged, the cadence stops, a new lead becomes mql. "
        "Pass next_in_days to plan the next touch.",
    ),
    FollowUpResult.NO_ANSWER: Effect(
        False, None, False, "cadence", "No answer: the cadence goes on with its next step."
    ),
    FollowUpResult.MEETING_BOOKED: Effect(
        True,
        Stage.OPPORTUNITY,
        True,
        "meeting_prep",
        "A meeting is booked: stage opportunity, the cadence stops, a prep follow-up is due the day "
        "before the meeting (meeting_at) or tomorrow, and a referrer gets a thank-you follow-up.",
    ),
    FollowUpResult.NOT_INTERESTED: Effect(
        False,
        Stage.LOST,
        True,
        "nurture_if_asked",
        "Not interested: stage lost and the cadence stops; pass next_in_days for a later check-in.",
    ),
    FollowUpResult.WRONG_PERSON: Effect(
        False,
        Stage.LOST,
        True,
        "nurture_if_asked",
        "Wrong person: stage lost and the cadence stops. Ask who the right person is and add them with "
        "add_contact(referred_by=<this contact>).",
    ),
    FollowUpResult.NOT_NOW: Effect(
        False,
        None,
        True,
        "nurture",
        f"Not now: the cadence stops and a check-in is due in next_in_days (default {NURTURE_DAYS}) days.",
    ),
    FollowUpResult.WON: Effect(
        False,
        Stage.CUSTOMER,
        True,
        "next_in_days",
        "Won: stage customer, the cadence stops, and a referrer gets a thank-you follow-up.",
    ),
}
"""What each structured result of complete_followup does to the lead."""


SAID = {
    FollowUpResult.NOT_NOW: "not now",
    FollowUpResult.NOT_INTERESTED: "they were not interested",
    FollowUpResult.WRONG_PERSON: "they were not the right person",
}


def _name(row: ContactRow) -> str:
    return row.full_name or (row.emails[0] if row.emails else "the contact")


def _local(scope: Scope, when: datetime) -> str:
    return utc(when).astimezone(scope.zone).strftime("%Y-%m-%d %H:%M")


async def after_touch(
    session: AsyncSession, scope: Scope, row: ContactRow, interaction: InteractionRow
) -> FollowUp | None:
    """After a logged touch: a reply stops the cadence (returns the "answer them" follow-up); rescore."""
    reply = None
    is_reply = (
        interaction.direction == Direction.INBOUND.value
        and row.first_response_at is not None
        and interaction.occurred_at > row.first_response_at
    )
    if is_reply:
        reply = await cadences.on_reply(session, scope, row, interaction)
    await scoring.rescore(session, scope, row)
    return reply


def _stage_for(effect: Effect, contact: ContactRow) -> Stage | None:
    """The stage a result moves the lead to, if it moves it at all (never backwards in the funnel)."""
    target = effect.stage
    if target is None:
        return None
    if target is Stage.LOST:
        return None if contact.stage == Stage.CUSTOMER.value else target
    if contact.stage == Stage.LOST.value:
        # A lost lead that books a meeting or buys is back in the game; a mere reply is not enough.
        return target if target in (Stage.OPPORTUNITY, Stage.CUSTOMER) else None
    return target if stages.rank(target.value) > stages.rank(contact.stage) else None


async def after_completion(
    session: AsyncSession,
    scope: Scope,
    *,
    contact: ContactRow,
    followup: FollowUpRow,
    interaction: InteractionRow,
    result: FollowUpResult | None,
    next_in_days: int | None,
    meeting_at: datetime | None,
    outcome: str | None,
) -> CompleteFollowUpResult:
    """Apply a completed follow-up's result: stage, cadence, the next follow-ups, the score."""
    now = scope.now()
    effects: list[str] = []
    also: list[FollowUp] = []
    stage_change: StageChange | None = None
    effect = RESULTS.get(result) if result is not None else None

    if effect is not None and effect.logs_reply:
        booked = result is FollowUpResult.MEETING_BOOKED
        summary = outcome or ("Booked a meeting" if booked else "Replied")
        if booked and meeting_at is not None:
            summary += f" (meeting {_local(scope, meeting_at)})"
        interaction_service.add_interaction(
            session,
            scope,
            contact,
            kind=InteractionKind.MESSAGE,
            direction=Direction.INBOUND,
            summary=summary,
            occurred_at=now + REPLY_LAG,
            data={
                "followup_id": followup.id,
                "result": result.value if result else None,
                **({"meeting_at": meeting_at.isoformat()} if booked and meeting_at is not None else {}),
            },
        )
        effects.append("logged their reply")
    if effect is not None:
        target = _stage_for(effect, contact)
        if target is not None:
            stage_change, scheduled = await stages.change_stage(
                session, scope, contact, target, via="complete_followup"
            )
            if stage_change is not None:
                effects.append(f"stage {stage_change.from_stage.value} -> {stage_change.to_stage.value}")
            for item in scheduled:
                effects.append(f"thank-you follow-up for the referrer scheduled (follow-up {item.id})")
            also.extend(scheduled)
        if result is FollowUpResult.WRONG_PERSON:
            effects.append(
                "ask who the right person is and add them with "
                f"add_contact(referred_by={contact.id}) so the introduction is credited"
            )
        if effect.stops_cadence:
            stopped = await cadences.stop(session, scope, contact, reason=result.value if result else "")
            effects.append("cadence stopped" + (f" ({stopped} pending step(s) skipped)" if stopped else ""))

    next_row: FollowUpRow | None = None
    then = effect.then if effect is not None else "cadence"
    if consent_withdrawn(contact) and next_in_days is None and then in ("cadence", "nurture"):
        effects.append(
            "no automatic follow-up: they withdrew consent (schedule_followup only if they asked you to)"
        )
        then = "none"
    if then == "cadence":
        if next_in_days is not None:
            next_row = followup_service.new_followup(
                scope,
                contact,
                due_at=followup_service.days_later(scope, now, next_in_days) if next_in_days else now,
                note=None,
                step=followup.step + 1,
                cadence=followup.cadence,
                purpose=FollowUpPurpose(followup.purpose),
            )
            session.add(next_row)
        else:
            next_row = await cadences.next_step(session, scope, contact, followup)
            if next_row is None and followup.purpose == FollowUpPurpose.CADENCE.value:
                effects.append("cadence finished: no further step")
    elif then == "meeting_prep":
        if meeting_at is not None:
            due = max(now, followup_service.days_later(scope, meeting_at, -PREP_DAYS_BEFORE))
        else:
            due = followup_service.days_later(scope, now, 1 if next_in_days is None else next_in_days)
        when = f" on {_local(scope, meeting_at)}" if meeting_at is not None else ""
        prep = followup_service.new_followup(
            scope,
            contact,
            due_at=due,
            note=f"Prepare the meeting with {_name(contact)}{when}: go over their need, budget, "
            "authority and timeline, and what you want to agree on.",
            step=1,
            cadence=followup_service.MANUAL_CADENCE_NAME,
            purpose=FollowUpPurpose.MEETING_PREP,
        )
        session.add(prep)
        await session.flush()
        also.append(followup_model(prep))
        effects.append(f"meeting prep follow-up due {_local(scope, due)}")
    elif then == "nurture" or (then == "nurture_if_asked" and next_in_days is not None):
        days = NURTURE_DAYS if next_in_days is None else next_in_days
        nurture = followup_service.new_followup(
            scope,
            contact,
            due_at=followup_service.days_later(scope, now, days),
            note=f"Check in again with {_name(contact)}: on {_local(scope, now)[:10]} they said "
            f"{SAID.get(result, 'not now') if result else 'not now'}.",
            step=1,
            cadence=followup_service.MANUAL_CADENCE_NAME,
            purpose=FollowUpPurpose.NURTURE,
        )
        session.add(nurture)
        await session.flush()
        also.append(followup_model(nurture))
        effects.append(f"check-in follow-up due in {days} days")
    elif then == "next_in_days" and next_in_days is not None:
        next_row = followup_service.new_followup(
            scope,
            contact,
            due_at=followup_service.days_later(scope, now, next_in_days) if next_in_days else now,
            note=None,
            step=1,
            cadence=followup_service.MANUAL_CADENCE_NAME,
        )
        session.add(next_row)
    if effect is not None and then in ("next_in_days", "nurture_if_asked") and next_in_days is None:
        effects.append("no follow-up scheduled: call schedule_followup to plan the next touch")

    await session.flush()
    await followup_service.refresh_next_followup(session, contact)
    await scoring.rescore(session, scope, contact)
    return CompleteFollowUpResult(
        completed=followup_model(followup),
        interaction=interaction_model(interaction),
        next_followup=followup_model(next_row) if next_row is not None else None,
        result=result,
        contact=contact_summary(contact),
        stage_change=stage_change,
        also_scheduled=also,
        effects=effects,
    )
