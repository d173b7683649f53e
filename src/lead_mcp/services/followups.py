"""Follow-ups: the due list, scheduling, completing, and the cadence that schedules the next touch.

The default cadence touches a lead on the day it arrives, then 2, 7 and 30
days after it arrived (gaps of 2, 5 and 23 days from one completed touch to
the next, so a late touch shifts the rest instead of bunching them). A cadence
stops when the lead replies (an inbound touch after our first outbound one)
or is closed (customer or lost).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import end_of_day, local_date, start_of_day, utc
from lead_mcp.db import queries
from lead_mcp.db.tables import ContactRow, FollowUpRow, new_id
from lead_mcp.domain import (
    CompleteFollowUpResult,
    Direction,
    DueFollowUp,
    DuePage,
    DueReason,
    FollowUp,
    FollowUpStatus,
    InteractionKind,
    Stage,
)
from lead_mcp.errors import Conflict, InvalidInput, NotFound
from lead_mcp.services import interactions as interaction_service
from lead_mcp.services.records import (
    cursor_datetime,
    decode_cursor,
    encode_cursor,
    followup_model,
    interaction_model,
    load_contact,
    record_change,
    summary_of,
)
from lead_mcp.services.scope import Scope

DEFAULT_CADENCE_NAME = "default"
DEFAULT_CADENCE_DAYS = (0, 2, 7, 30)
MANUAL_CADENCE_NAME = "manual"
DATE_ONLY_TIME = time(9, 0)
MAX_NOTE = 5_000
MAX_DAYS_AHEAD = 3650
CLOSED_STAGES = frozenset({Stage.CUSTOMER.value, Stage.LOST.value})
PENDING: ColumnElement[str] = literal_column(
    "'pending'"
)  # a literal, so the partial index on pending rows applies


def cadence_days(name: str) -> tuple[int, ...]:
    """Day offsets of a cadence's steps."""
    return DEFAULT_CADENCE_DAYS if name == DEFAULT_CADENCE_NAME else ()


def days_later(scope: Scope, base: datetime, days: int) -> datetime:
    """The same local time of day ``days`` calendar days later (DST-safe)."""
    local = utc(base).astimezone(scope.zone)
    target = datetime.combine(local.date() + timedelta(days=days), local.timetz().replace(tzinfo=None))
    return utc(target.replace(tzinfo=scope.zone))


async def refresh_next_followup(session: AsyncSession, row: ContactRow) -> None:
    """Keep ``contacts.next_followup_at`` equal to the earliest pending due time."""
    earliest = (
        await session.execute(
            select(FollowUpRow.due_at)
            .where(FollowUpRow.contact_id == row.id, FollowUpRow.status == PENDING)
            .order_by(FollowUpRow.due_at)
            .limit(1)
        )
    ).scalar_one_or_none()
    if row.next_followup_at != earliest:
        row.next_followup_at = earliest


async def has_pending(session: AsyncSession, contact_id: str) -> bool:
    """True when the contact has a pending follow-up."""
    found = (
        await session.execute(
            select(FollowUpRow.id)
            .where(FollowUpRow.contact_id == contact_id, FollowUpRow.status == PENDING)
            .limit(1)
        )
    ).first()
    return found is not None


def _new_followup(
    scope: Scope, row: ContactRow, *, due_at: datetime, note: str | None, step: int, cadence: str
) -> FollowUpRow:
    now = scope.now()
    return FollowUpRow(
        id=new_id(),
        workspace_id=scope.workspace_id,
        contact_id=row.id,
        due_at=due_at,
        status=FollowUpStatus.PENDING.value,
        note=note,
        step=step,
        cadence=cadence,
        created_at=now,
        updated_at=now,
    )


def _first_note(row: ContactRow) -> str:
    return first_note(row.source, row.met_at)


def first_note(source: str, met_at: str | None) -> str:
    """The reminder on a new lead's first follow-up."""
    how = {
        "card_scan": "scanned card",
        "card_form": "form on your card page",
        "card_share": "shared card",
        "referral": "referral",
        "event": "event",
        "import": "import",
    }.get(source, "new lead")
    where = f" at {met_at}" if met_at else ""
    return f"First touch ({how}{where}): reach out while the meeting is fresh."


def first_due(scope: Scope, days: int) -> datetime:
    """When a new lead's first follow-up is due: ``days`` from now (0: right away, today)."""
    if days < 0 or days > MAX_DAYS_AHEAD:
        raise InvalidInput(
            "follow_up_in_days",
            f"must be between 0 and {MAX_DAYS_AHEAD}",
            "Use 0 for today, 2 for in two days",
        )
    return scope.now() if days == 0 else days_later(scope, scope.now(), days)


def first_followup_values(
    scope: Scope, *, contact_id: str, due: datetime, source: str, met_at: str | None
) -> dict[str, Any]:
    """The row of a new lead's first follow-up (inserted with Core on the add_contact fast path)."""
    now = scope.now()
    return {
        "id": new_id(),
        "workspace_id": scope.workspace_id,
        "contact_id": contact_id,
        "due_at": due,
        "status": FollowUpStatus.PENDING.value,
        "note": first_note(source, met_at),
        "step": 1,
        "cadence": DEFAULT_CADENCE_NAME,
        "outcome": None,
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
    }


async def create_first_followup(session: AsyncSession, scope: Scope, row: ContactRow, days: int) -> FollowUp:
    """Start the default cadence: the first touch is due ``days`` from now (0: right away, today)."""
    due = first_due(scope, days)
    followup = _new_followup(
        scope, row, due_at=due, note=_first_note(row), step=1, cadence=DEFAULT_CADENCE_NAME
    )
    session.add(followup)
    if row.next_followup_at is None or due < row.next_followup_at:
        row.next_followup_at = due
    return followup_model(followup)


async def cancel_pending(session: AsyncSession, scope: Scope, contact_id: str, *, reason: str) -> int:
    """Close a contact's pending follow-ups as skipped (e.g. the contact was deleted)."""
    result = await session.execute(
        update(FollowUpRow)
        .where(FollowUpRow.contact_id == contact_id, FollowUpRow.status == PENDING)
        .values(
            status=FollowUpStatus.SKIPPED.value,
            outcome=reason,
            completed_at=scope.now(),
            updated_at=scope.now(),
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _check_note(note: str | None) -> str | None:
    text = (note or "").strip() or None
    if text and len(text) > MAX_NOTE:
        raise InvalidInput("note", f"is {len(text)} characters; at most {MAX_NOTE}", "Shorten it")
    return text


async def schedule_followup(
    session: AsyncSession,
    scope: Scope,
    *,
    contact_id: str,
    due: str,
    note: str | None = None,
    replace_pending: bool = True,
) -> FollowUp:
    """Schedule (or move) a follow-up; a bare date is due at 09:00 local time that day."""
    row = await load_contact(session, contact_id)
    due_at = interaction_service.parse_instant(due, scope, field="due", date_time=DATE_ONLY_TIME)
    if due_at > scope.now() + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput("due", "is more than ten years ahead", "Pick a nearer date")
    text = _check_note(note)
    existing = None
    if replace_pending:
        existing = (
            (
                await session.execute(
                    select(FollowUpRow)
                    .where(FollowUpRow.contact_id == row.id, FollowUpRow.status == PENDING)
                    .order_by(FollowUpRow.due_at)
                    .limit(1)
                )
            )
            .scalars()
            .first()
        )
    if existing is not None:
        record_change(
            session,
            scope,
            row.id,
            "rescheduled",
            {
                "followup_id": existing.id,
                "old_due_at": existing.due_at.isoformat(),
                "new_due_at": due_at.isoformat(),
            },
        )
        existing.due_at = due_at
        existing.updated_at = scope.now()
        if text:
            existing.note = text
        followup = existing
    else:
        followup = _new_followup(scope, row, due_at=due_at, note=text, step=1, cadence=MANUAL_CADENCE_NAME)
        session.add(followup)
    await session.flush()
    await refresh_next_followup(session, row)
    return followup_model(followup)


async def _load_followup(session: AsyncSession, followup_id: str) -> FollowUpRow:
    row = None
    if isinstance(followup_id, str) and 0 < len(followup_id) <= 64:
        row = (
            await session.execute(
                select(FollowUpRow)
                .where(FollowUpRow.id == followup_id.strip())
                .with_for_update()  # two completions of one follow-up must not both pass the status check
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            f"followup_id: no follow-up {followup_id!r} in this workspace; "
            "call list_due_followups (or get_contact) to find its id"
        )
    return row


async def complete_followup(
    session: AsyncSession,
    scope: Scope,
    *,
    followup_id: str,
    outcome: str | None = None,
    next_in_days: int | None = None,
    kind: InteractionKind = InteractionKind.EMAIL,
) -> CompleteFollowUpResult:
    """Mark a follow-up done, log the touch, and schedule the next cadence step (or ``next_in_days``)."""
    followup = await _load_followup(session, followup_id)
    if followup.status != FollowUpStatus.PENDING.value:
        raise Conflict(
            f"followup_id: follow-up {followup.id} is already {followup.status}; "
            "call list_due_followups for the pending ones"
        )
    if next_in_days is not None and not 0 <= next_in_days <= MAX_DAYS_AHEAD:
        raise InvalidInput(
            "next_in_days", f"must be between 0 and {MAX_DAYS_AHEAD}", "Use e.g. 3 for a touch in three days"
        )
    text = _check_note(outcome)
    contact = await load_contact(session, followup.contact_id, field="followup_id")
    now = scope.now()
    followup.status = FollowUpStatus.DONE.value
    followup.outcome = text
    followup.completed_at = now
    followup.updated_at = now
    summary = text or followup.note or f"Follow-up step {followup.step} done"
    interaction = interaction_service.add_interaction(
        session,
        scope,
        contact,
        kind=kind,
        direction=Direction.OUTBOUND,
        summary=summary,
        occurred_at=now,
        data={"followup_id": followup.id, "step": followup.step},
    )
    await session.flush()

    next_row: FollowUpRow | None = None
    if next_in_days is not None:
        next_row = _new_followup(
            scope,
            contact,
            due_at=now if next_in_days == 0 else days_later(scope, now, next_in_days),
            note=None,
            step=followup.step + 1,
            cadence=followup.cadence,
        )
    else:
        steps = cadence_days(followup.cadence)
        active = contact.stage not in CLOSED_STAGES and not await interaction_service.has_replied(
            session, contact
        )
        if active and followup.step < len(steps):
            gap = steps[followup.step] - steps[followup.step - 1]
            next_row = _new_followup(
                scope,
                contact,
                due_at=days_later(scope, now, gap),
                note=f"Cadence step {followup.step + 1} of {len(steps)}: check in again.",
                step=followup.step + 1,
                cadence=followup.cadence,
            )
    if next_row is not None:
        session.add(next_row)
        await session.flush()
    await refresh_next_followup(session, contact)
    return CompleteFollowUpResult(
        completed=followup_model(followup),
        interaction=interaction_model(interaction),
        next_followup=followup_model(next_row) if next_row is not None else None,
    )


async def list_due_followups(
    session: AsyncSession,
    scope: Scope,
    *,
    within_days: int = 0,
    include_overdue: bool = True,
    limit: int = 50,
    cursor: str | None = None,
) -> DuePage:
    """Pending follow-ups due by the end of the day ``within_days`` from today.

    Overdue first, then by due time, ties by score (highest first).
    """
    if not 0 <= within_days <= MAX_DAYS_AHEAD:
        raise InvalidInput(
            "within_days", f"must be between 0 and {MAX_DAYS_AHEAD}", "Use 0 for today, 7 for a week"
        )
    after = decode_cursor("due", cursor)
    today = scope.today()
    upper = end_of_day(today + timedelta(days=within_days), scope.zone)
    params: dict[str, Any] = {"ws": scope.workspace_id, "upper": upper, "limit": limit + 1}
    if not include_overdue:
        params["lower"] = start_of_day(today, scope.zone)
    if after is not None:
        score = after.get("s")
        last_id = after.get("i")
        if not isinstance(score, int) or not isinstance(last_id, str):
            raise InvalidInput("cursor", "is damaged", "Pass next_cursor exactly as returned")
        params.update(d=cursor_datetime(after.get("d")), s=score, i=last_id)
    stmt = queries.due_statement(overdue=include_overdue, after=after is not None)
    rows = [
        row
        for row in (await (await session.connection()).execute(stmt, params)).all()
        if row.contact_workspace_id == scope.workspace_id  # never another workspace's contact
    ]
    items = []
    for row in rows[:limit]:
        overdue = (today - local_date(row.due_at, scope.zone)).days
        summary = summary_of(row)
        items.append(
            DueFollowUp(
                followup_id=row.followup_id,
                contact=summary,
                due_at=row.due_at,
                overdue_days=max(overdue, 0),
                step=row.step,
                note=row.note,
                why=DueReason(
                    stage=summary.stage,
                    score=row.score,
                    last_touch_at=row.last_touch_at,
                    met_at=row.met_at,
                ),
            )
        )
    next_cursor = None
    if len(rows) > limit and items:
        last = rows[limit - 1]
        values: dict[str, Any] = {"d": last.due_at.isoformat(), "s": last.score, "i": last.followup_id}
        next_cursor = encode_cursor("due", values)
    return DuePage(items=items, next_cursor=next_cursor)
