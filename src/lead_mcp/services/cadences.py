"""Cadences: the built-in default and named custom ones, and the rules that run and stop them.

A cadence is a list of day offsets from the first touch; the default is
``[0, 2, 7, 30]`` (same day, then 2, 7 and 30 days after). Completing a step
schedules the next one, spaced by the gap between the offsets, so a late touch
shifts the rest instead of bunching them up. A cadence stops when:

- the lead replies: an inbound touch after our first outbound one (a form post
  or a card scan arrives *before* any outbound touch, so it starts the cadence
  and is not a reply). The pending step turns into a "reply" follow-up due now:
  answering fast matters as much as the first touch;
- the lead becomes a customer or is lost (pending steps are skipped);
- complete_followup reports a result that ends it (meeting booked, not
  interested, wrong person, not now, won).

Custom cadences are stored per workspace; ``default`` and ``manual`` (a
one-off follow-up outside any cadence) are reserved names.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.tables import CadenceRow, ContactRow, FollowUpRow, InteractionRow
from lead_mcp.domain import Cadence, CadenceList, FollowUp, FollowUpPurpose, FollowUpStatus
from lead_mcp.errors import Conflict, InvalidInput
from lead_mcp.services import followups as followup_service
from lead_mcp.services import interactions as interaction_service
from lead_mcp.services import roles, scoring
from lead_mcp.services.followups import (
    CLOSED_STAGES,
    DATE_ONLY_TIME,
    DEFAULT_CADENCE_DAYS,
    DEFAULT_CADENCE_NAME,
    MANUAL_CADENCE_NAME,
    PENDING,
)
from lead_mcp.services.records import followup_model, load_contact, record_change
from lead_mcp.services.scope import Scope

RESERVED_NAMES = frozenset({DEFAULT_CADENCE_NAME, MANUAL_CADENCE_NAME})
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,49}$")
MAX_STEPS = 12
MAX_OFFSET_DAYS = 365
MAX_DESCRIPTION = 500
MAX_CADENCES = 100


def _clean_name(name: str, field: str = "name") -> str:
    text = " ".join((name or "").strip().lower().split())
    if not NAME_PATTERN.match(text):
        raise InvalidInput(
            field,
            f"{name!r} is not a cadence name",
            "Use 1 to 50 letters, digits, spaces, '-' or '_', e.g. 'event-leads'",
        )
    return text


def _check_steps(steps_days: list[int]) -> list[int]:
    if not steps_days:
        raise InvalidInput("steps_days", "is empty", "Give the day offsets of the touches, e.g. [0, 3, 10]")
    if len(steps_days) > MAX_STEPS:
        raise InvalidInput(
            "steps_days", f"has {len(steps_days)} steps; at most {MAX_STEPS}", "Use fewer steps"
        )
    for value in steps_days:
        if not 0 <= value <= MAX_OFFSET_DAYS:
            raise InvalidInput(
                "steps_days", f"{value} is out of range", f"Each offset is 0 to {MAX_OFFSET_DAYS} days"
            )
    if any(b <= a for a, b in itertools.pairwise(steps_days)):
        raise InvalidInput(
            "steps_days",
            f"{steps_days} is not increasing",
            "List the offsets from the first touch in order, each later than the one before, "
            "e.g. [0, 2, 7, 30]",
        )
    return list(steps_days)


def _builtin() -> Cadence:
    return Cadence(
        name=DEFAULT_CADENCE_NAME,
        steps_days=list(DEFAULT_CADENCE_DAYS),
        description="Same day, then 2, 7 and 30 days after the first touch.",
        builtin=True,
    )


def _model(row: CadenceRow) -> Cadence:
    return Cadence(name=row.name, steps_days=list(row.steps), description=row.description, builtin=False)


async def create_cadence(
    session: AsyncSession, scope: Scope, *, name: str, steps_days: list[int], description: str | None = None
) -> Cadence:
    """Create a named cadence, or change the steps of an existing one with that name."""
    await roles.require_owner(session, scope, "create or change cadences (every seat's follow-ups use them)")
    clean = _clean_name(name)
    if clean in RESERVED_NAMES:
        raise InvalidInput(
            "name", f"'{clean}' is built in and cannot be changed", "Pick another name, e.g. 'event-leads'"
        )
    steps = _check_steps(steps_days)
    text = (description or "").strip() or None
    if text and len(text) > MAX_DESCRIPTION:
        raise InvalidInput(
            "description", f"is {len(text)} characters; at most {MAX_DESCRIPTION}", "Shorten it"
        )
    now = scope.now()
    row = (await session.execute(select(CadenceRow).where(CadenceRow.name == clean))).scalar_one_or_none()
    if row is None:
        count = len((await session.execute(select(CadenceRow.name))).all())
        if count >= MAX_CADENCES:
            raise Conflict(
                f"name: this workspace already has {MAX_CADENCES} cadences; reuse one from list_cadences"
            )
        row = CadenceRow(
            workspace_id=scope.workspace_id,
            name=clean,
            steps=steps,
            description=text,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    else:
        row.steps = steps
        row.description = text if description is not None else row.description
        row.updated_at = now
    await session.flush()
    return _model(row)


async def list_cadences(session: AsyncSession, scope: Scope) -> CadenceList:
    """The built-in default cadence and this workspace's own, by name."""
    rows = (await session.execute(select(CadenceRow).order_by(CadenceRow.name))).scalars().all()
    return CadenceList(items=[_builtin(), *(_model(r) for r in rows)])


async def resolve(
    session: AsyncSession, name: str | None, *, field: str = "cadence"
) -> tuple[str, tuple[int, ...]]:
    """A cadence chosen by a caller: its clean name and steps (the default when no name is given)."""
    if name is None or not name.strip():
        return DEFAULT_CADENCE_NAME, DEFAULT_CADENCE_DAYS
    clean = _clean_name(name, field)
    if clean == DEFAULT_CADENCE_NAME:
        return DEFAULT_CADENCE_NAME, DEFAULT_CADENCE_DAYS
    if clean == MANUAL_CADENCE_NAME:
        return MANUAL_CADENCE_NAME, ()
    row = (await session.execute(select(CadenceRow).where(CadenceRow.name == clean))).scalar_one_or_none()
    if row is None:
        stored = (await session.execute(select(CadenceRow.name).order_by(CadenceRow.name))).scalars().all()
        names = [DEFAULT_CADENCE_NAME, *stored]
        raise InvalidInput(
            field,
            f"no cadence named {clean!r}",
            f"Use one of {', '.join(names)}, or create it with create_cadence",
        )
    return row.name, tuple(row.steps)


async def steps_of(session: AsyncSession, name: str) -> tuple[int, ...]:
    """The steps of a follow-up's cadence (empty for manual follow-ups or a cadence no longer stored)."""
    if name == DEFAULT_CADENCE_NAME:
        return DEFAULT_CADENCE_DAYS
    if name == MANUAL_CADENCE_NAME:
        return ()
    steps = (
        await session.execute(select(CadenceRow.steps).where(CadenceRow.name == name))
    ).scalar_one_or_none()
    return tuple(steps or ())


async def pending_cadence_steps(session: AsyncSession, contact_id: str) -> list[FollowUpRow]:
    """A contact's pending follow-ups that are cadence steps."""
    return list(
        (
            await session.execute(
                select(FollowUpRow).where(
                    FollowUpRow.contact_id == contact_id,
                    FollowUpRow.status == PENDING,
                    FollowUpRow.purpose == FollowUpPurpose.CADENCE.value,
                )
            )
        )
        .scalars()
        .all()
    )


async def stop(session: AsyncSession, scope: Scope, row: ContactRow, *, reason: str) -> int:
    """Stop a contact's cadence: its pending steps are skipped (other follow-ups stay). Returns how many."""
    pending = await pending_cadence_steps(session, row.id)
    now = scope.now()
    for followup in pending:
        followup.status = FollowUpStatus.SKIPPED.value
        followup.outcome = f"cadence stopped: {reason}"
        followup.completed_at = now
        followup.updated_at = now
    if pending:
        record_change(
            session,
            scope,
            row.id,
            "cadence_stopped",
            {"reason": reason, "followup_ids": [f.id for f in pending], "steps": [f.step for f in pending]},
        )
        await session.flush()
        await followup_service.refresh_next_followup(session, row)
    return len(pending)


async def stop_many(session: AsyncSession, scope: Scope, rows: list[ContactRow]) -> int:
    """Stop the cadences of many closed contacts at once (bulk stage changes); returns steps skipped."""
    now = scope.now()
    skipped = 0
    by_stage: dict[str, list[str]] = {}
    for row in rows:
        by_stage.setdefault(row.stage, []).append(row.id)
    for stage, ids in by_stage.items():
        for start in range(0, len(ids), 500):
            result = await session.execute(
                update(FollowUpRow)
                .where(
                    FollowUpRow.contact_id.in_(ids[start : start + 500]),
                    FollowUpRow.status == PENDING,
                    FollowUpRow.purpose == FollowUpPurpose.CADENCE.value,
                )
                .values(
                    status=FollowUpStatus.SKIPPED.value,
                    outcome=f"cadence stopped: now {stage}",
                    completed_at=now,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            skipped += int(getattr(result, "rowcount", 0) or 0)
    ids = [row.id for row in rows]
    earliest: dict[str, Any] = {}
    for start in range(0, len(ids), 500):
        result = await session.execute(
            select(FollowUpRow.contact_id, func.min(FollowUpRow.due_at))
            .where(FollowUpRow.contact_id.in_(ids[start : start + 500]))
            .where(FollowUpRow.status == PENDING)
            .group_by(FollowUpRow.contact_id)
        )
        earliest.update({contact_id: due for contact_id, due in result})
    for row in rows:
        if row.next_followup_at != earliest.get(row.id):
            row.next_followup_at = earliest.get(row.id)
    return skipped


def _name_of(row: ContactRow) -> str:
    return row.given_name or row.full_name or (row.emails[0] if row.emails else "They")


async def on_reply(
    session: AsyncSession, scope: Scope, row: ContactRow, reply: InteractionRow
) -> FollowUp | None:
    """A reply stops the cadence; its pending step becomes an "answer them" follow-up due now."""
    if not await pending_cadence_steps(session, row.id):
        return None
    await stop(session, scope, row, reason="they replied")
    summary = " ".join(reply.summary.split())
    if len(summary) > 200:
        summary = summary[:199] + "…"
    followup = followup_service.new_followup(
        scope,
        row,
        due_at=scope.now(),
        note=f"{_name_of(row)} replied: {summary}. Answer them and agree on the next step.",
        step=1,
        cadence=MANUAL_CADENCE_NAME,
        purpose=FollowUpPurpose.REPLY,
    )
    session.add(followup)
    await session.flush()
    await followup_service.refresh_next_followup(session, row)
    return followup_model(followup)


async def replied_since(session: AsyncSession, row: ContactRow, since: datetime) -> bool:
    """True when the contact wrote back after our first outbound touch and at or after ``since``.

    A post on the card's lead form is not a reply (it starts a cadence; it does not answer one).
    """
    if row.first_response_at is None:
        return False
    found = (
        await session.execute(
            select(InteractionRow.id)
            .where(
                InteractionRow.contact_id == row.id,
                InteractionRow.direction == "inbound",
                InteractionRow.occurred_at > row.first_response_at,
                InteractionRow.occurred_at >= since,
                ~scoring.is_form_post(),
            )
            .limit(1)
        )
    ).first()
    return found is not None


async def next_step(
    session: AsyncSession, scope: Scope, contact: ContactRow, done: FollowUpRow
) -> FollowUpRow | None:
    """The next step of the cadence ``done`` belongs to, unless the cadence ended or stopped."""
    if done.purpose != FollowUpPurpose.CADENCE.value or contact.stage in CLOSED_STAGES:
        return None
    steps = await steps_of(session, done.cadence)
    if done.step >= len(steps):
        return None
    if await replied_since(session, contact, done.created_at):
        return None
    gap = steps[done.step] - steps[max(done.step - 1, 0)]
    last = done.step + 1 == len(steps)
    note = f"Cadence step {done.step + 1} of {len(steps)}: " + (
        "last check-in of this cadence." if last else "check in again."
    )
    followup = followup_service.new_followup(
        scope,
        contact,
        due_at=followup_service.days_later(scope, scope.now(), gap),
        note=note,
        step=done.step + 1,
        cadence=done.cadence,
        purpose=FollowUpPurpose.CADENCE,
    )
    session.add(followup)
    return followup


async def snooze_followup(
    session: AsyncSession,
    scope: Scope,
    *,
    followup_id: str,
    days: int | None = None,
    until: str | None = None,
) -> FollowUp:
    """Push a pending follow-up later (by days, or to a date); the old due time stays in the history."""
    if (days is None) == (until is None):
        raise InvalidInput("days", "give either days or until", "e.g. days=3, or until='2026-04-01'")
    followup = await followup_service.load_followup(session, followup_id)
    if followup.status != FollowUpStatus.PENDING.value:
        raise Conflict(
            f"followup_id: follow-up {followup.id} is already {followup.status}; "
            "only pending ones can be snoozed"
        )
    if days is not None:
        if not 1 <= days <= followup_service.MAX_DAYS_AHEAD:
            raise InvalidInput("days", f"must be between 1 and {followup_service.MAX_DAYS_AHEAD}", "e.g. 3")
        base = max(followup.due_at, scope.now())
        new_due = followup_service.days_later(scope, base, days)
    else:
        assert until is not None
        new_due = interaction_service.parse_instant(until, scope, field="until", date_time=DATE_ONLY_TIME)
        if new_due <= scope.now():
            raise InvalidInput(
                "until", "is not in the future", "Snooze to a later date, or use schedule_followup"
            )
        if new_due > scope.now() + timedelta(days=followup_service.MAX_DAYS_AHEAD):
            raise InvalidInput("until", "is more than ten years ahead", "Pick a nearer date")
    contact = await load_contact(session, followup.contact_id, field="followup_id")
    record_change(
        session,
        scope,
        contact.id,
        "snoozed",
        {
            "followup_id": followup.id,
            "old_due_at": followup.due_at.isoformat(),
            "new_due_at": new_due.isoformat(),
        },
    )
    followup.due_at = new_due
    followup.updated_at = scope.now()
    await session.flush()
    await followup_service.refresh_next_followup(session, contact)
    return followup_model(followup)
