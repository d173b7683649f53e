"""Follow-ups: the due list, scheduling, completing, and the cadence that schedules the next touch.

The default cadence touches a lead on the day it arrives, then 2, 7 and 30
days after it arrived (gaps of 2, 5 and 23 days from one completed touch to
the next, so a late touch shifts the rest instead of bunching them). A cadence
stops when the lead replies (an inbound touch after our first outbound one)
or is closed (customer or lost). Named cadences and the rules that stop them
live in ``services/cadences.py``; what a completed follow-up's result does to
the lead lives in ``services/outcomes.py``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import end_of_day, local_date, start_of_day, utc
from lead_mcp.db.tables import ContactRow, FollowUpRow, new_id
from lead_mcp.domain import (
    CompleteFollowUpResult,
    Direction,
    DueFollowUp,
    DuePage,
    DueReason,
    FollowUp,
    FollowUpPurpose,
    FollowUpResult,
    FollowUpStatus,
    InteractionKind,
    Stage,
)
from lead_mcp.errors import Conflict, InvalidInput, NotFound
from lead_mcp.services import interactions as interaction_service
from lead_mcp.services import sizing
from lead_mcp.services.records import (
    SUMMARY_COLUMNS,
    contact_summary,
    cursor_datetime,
    cursor_int,
    decode_cursor,
    encode_cursor,
    followup_model,
    load_contact,
    record_change,
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


def new_followup(
    scope: Scope,
    row: ContactRow,
    *,
    due_at: datetime,
    note: str | None,
    step: int,
    cadence: str,
    purpose: FollowUpPurpose | None = None,
) -> FollowUpRow:
    """A pending follow-up row (not yet added to the session)."""
    if purpose is None:
        purpose = FollowUpPurpose.MANUAL if cadence == MANUAL_CADENCE_NAME else FollowUpPurpose.CADENCE
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
        purpose=purpose.value,
        created_at=now,
        updated_at=now,
    )


def _first_note(row: ContactRow) -> str:
    how = {
        "card_scan": "scanned card",
        "card_form": "form on your card page",
        "card_share": "shared card",
        "referral": "referral",
        "event": "event",
        "import": "import",
    }.get(row.source, "new lead")
    where = f" at {row.met_at}" if row.met_at else ""
    return f"First touch ({how}{where}): reach out while the meeting is fresh."


async def create_first_followup(
    session: AsyncSession, scope: Scope, row: ContactRow, days: int, *, cadence: str = DEFAULT_CADENCE_NAME
) -> FollowUp:
    """Start a cadence (the default one unless named): the first touch is due ``days`` from now (0: today)."""
    followup = first_followup_row(scope, row, days, cadence=cadence)
    session.add(followup)
    return followup_model(followup)


def first_followup_row(
    scope: Scope, row: ContactRow, days: int, *, cadence: str = DEFAULT_CADENCE_NAME
) -> FollowUpRow:
    """The first follow-up of a cadence, not yet stored; the contact's next_followup_at is moved to it."""
    if days < 0 or days > MAX_DAYS_AHEAD:
        raise InvalidInput(
            "follow_up_in_days",
            f"must be between 0 and {MAX_DAYS_AHEAD}",
            "Use 0 for today, 2 for in two days",
        )
    due = scope.now() if days == 0 else days_later(scope, scope.now(), days)
    followup = new_followup(scope, row, due_at=due, note=_first_note(row), step=1, cadence=cadence)
    if row.next_followup_at is None or due < row.next_followup_at:
        row.next_followup_at = due
    return followup


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
    cadence: str | None = None,
) -> FollowUp:
    """Schedule (or move) a follow-up; a bare date is due at 09:00 local time that day.

    With ``cadence`` the follow-up becomes the first step of that cadence (completing it
    schedules the next); without, it is a one-off reminder (or keeps the moved one's cadence).
    """
    from lead_mcp.services import cadences  # cadences builds on this module

    row = await load_contact(session, contact_id)
    chosen = await cadences.resolve(session, cadence) if cadence is not None else None
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
        if chosen is not None:
            existing.cadence = chosen[0]
            existing.step = 1
            existing.purpose = (
                FollowUpPurpose.MANUAL if chosen[0] == MANUAL_CADENCE_NAME else FollowUpPurpose.CADENCE
            ).value
        followup = existing
    else:
        name = chosen[0] if chosen is not None else MANUAL_CADENCE_NAME
        followup = new_followup(scope, row, due_at=due_at, note=text, step=1, cadence=name)
        session.add(followup)
    await session.flush()
    await refresh_next_followup(session, row)
    return followup_model(followup)


async def load_followup(session: AsyncSession, followup_id: str) -> FollowUpRow:
    """A follow-up of this workspace by id, locked for the change; NotFound says where ids come from."""
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
    result: FollowUpResult | None = None,
    meeting_at: str | None = None,
) -> CompleteFollowUpResult:
    """Mark a follow-up done, log the touch, apply the result, and schedule what comes next.

    ``outcome`` is what happened in the user's words (kept on the logged touch); ``result``
    is the structured verdict that moves the lead (see services/outcomes.py).
    """
    from lead_mcp.services import outcomes  # outcomes builds on this module

    result = FollowUpResult(result) if result is not None else None
    followup = await load_followup(session, followup_id)
    if followup.status != FollowUpStatus.PENDING.value:
        raise Conflict(
            f"followup_id: follow-up {followup.id} is already {followup.status}; "
            "call list_due_followups for the pending ones"
        )
    if next_in_days is not None and not 0 <= next_in_days <= MAX_DAYS_AHEAD:
        raise InvalidInput(
            "next_in_days", f"must be between 0 and {MAX_DAYS_AHEAD}", "Use e.g. 3 for a touch in three days"
        )
    meeting = None
    if meeting_at is not None:
        if result is not FollowUpResult.MEETING_BOOKED:
            raise InvalidInput(
                "meeting_at",
                "only goes with result='meeting_booked'",
                "Pass result='meeting_booked' or leave it out",
            )
        meeting = interaction_service.parse_instant(
            meeting_at, scope, field="meeting_at", date_time=DATE_ONLY_TIME
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
        data={
            "followup_id": followup.id,
            "step": followup.step,
            **({"result": result.value} if result else {}),
        },
    )
    await session.flush()
    return await outcomes.after_completion(
        session,
        scope,
        contact=contact,
        followup=followup,
        interaction=interaction,
        result=result,
        next_in_days=next_in_days,
        meeting_at=meeting,
        outcome=text,
    )


# What a due-list entry shows: the follow-up's fields and its contact's summary (by the summary's names).
_DUE_COLUMNS = (
    FollowUpRow.id.label("followup_id"),
    FollowUpRow.due_at,
    FollowUpRow.step,
    FollowUpRow.purpose,
    FollowUpRow.note,
    ContactRow.workspace_id.label("contact_workspace_id"),
    *(column for column in SUMMARY_COLUMNS if column is not ContactRow.pk),  # the contact's summary
    ContactRow.last_touch_at,
    ContactRow.met_at,
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
    after = decode_cursor(scope, "due", cursor)
    today = scope.today()
    upper = end_of_day(today + timedelta(days=within_days), scope.zone)
    # The workspace is filtered on the follow-ups only (and the contact checked below): with the
    # session guard's `contacts.workspace_id = :ws` as well, PostgreSQL with young statistics chose a
    # nested loop over every contact of the workspace per follow-up (800 ms at 3,000 contacts)
    # instead of looking each contact up by its id.
    # Columns, not whole rows: no ORM instances (and no identity map) for a page of 51 pairs.
    stmt = (
        select(*_DUE_COLUMNS)
        .join(ContactRow, ContactRow.id == FollowUpRow.contact_id)
        .where(
            FollowUpRow.workspace_id == scope.workspace_id,
            FollowUpRow.status == PENDING,
            FollowUpRow.due_at < upper,
            ContactRow.deleted_at.is_(None),
        )
        .execution_options(all_workspaces=True)
    )
    if not include_overdue:
        stmt = stmt.where(FollowUpRow.due_at >= start_of_day(today, scope.zone))
    if after is not None:
        due = cursor_datetime(after.get("d"))
        score = cursor_int(after.get("s"))
        last_id = after.get("i")
        if not isinstance(last_id, str) or len(last_id) > 64:
            raise InvalidInput("cursor", "is damaged", "Pass next_cursor exactly as returned")
        stmt = stmt.where(
            or_(
                FollowUpRow.due_at > due,
                and_(
                    FollowUpRow.due_at == due,
                    or_(
                        ContactRow.score < score,
                        and_(ContactRow.score == score, FollowUpRow.id > last_id),
                    ),
                ),
            )
        )
    stmt = stmt.order_by(FollowUpRow.due_at, ContactRow.score.desc(), FollowUpRow.id).limit(limit + 1)
    rows = (await session.execute(stmt)).all()
    items = []
    for row in rows[:limit]:
        if row.contact_workspace_id != scope.workspace_id:  # never: rows share their contact's workspace
            raise RuntimeError("a follow-up points at another workspace's contact")
        overdue = (today - local_date(row.due_at, scope.zone)).days
        items.append(
            DueFollowUp(
                followup_id=row.followup_id,
                contact=contact_summary(row),  # type: ignore[arg-type]  # the summary's columns, by name
                due_at=row.due_at,
                overdue_days=max(overdue, 0),
                step=row.step,
                purpose=FollowUpPurpose(row.purpose),
                note=row.note,
                why=DueReason(
                    stage=Stage(row.stage),
                    score=row.score,
                    last_touch_at=row.last_touch_at,
                    met_at=row.met_at,
                ),
            )
        )
    fits = sizing.fitting(items)  # a page stops early rather than overflow a model's context
    more = len(rows) > limit or fits < len(items)
    items = items[:fits]
    next_cursor = None
    if more and items:
        last = rows[fits - 1]
        values: dict[str, Any] = {"d": last.due_at.isoformat(), "s": last.score, "i": last.followup_id}
        next_cursor = encode_cursor(scope, "due", values)
    return DuePage(items=items, next_cursor=next_cursor)
