"""Interactions: the touches with a contact, and the timestamps they drive.

The first outbound touch sets ``first_response_at`` (speed-to-lead); every
touch moves ``last_touch_at``. Back-filled touches are welcome; touches in the
future are not (that is what a follow-up is for).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import utc
from lead_mcp.db.tables import ContactRow, InteractionRow, new_id
from lead_mcp.domain import Direction, InteractionKind, InteractionResult
from lead_mcp.errors import InvalidInput
from lead_mcp.services.records import contact_summary, interaction_model, load_contact
from lead_mcp.services.scope import Scope

MAX_SUMMARY = 20_000
FUTURE_TOLERANCE = timedelta(minutes=5)


# Dates a CRM can mean: back-filled touches from the last century, plans for the next few (the
# tools bound "ahead" more tightly). Outside, a typo such as 0001 or 9999 gets an error naming the
# argument instead of an overflow converting it to UTC.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2999
_DATE_FIX = (
    "Use an ISO 8601 date such as 2026-12-01 (or 20261201) or a date-time such as "
    "2026-12-01T15:00:00+01:00 (or 20261201T1500)"
)


def bare_date(value: str) -> date | None:
    """The day when ``value`` is an ISO 8601 date alone (2026-12-01, 20261201, 2026-W49-2), else None."""
    text = value.strip() if isinstance(value, str) else ""
    if "T" in text.upper() or ":" in text or " " in text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_instant(value: str, scope: Scope, *, field: str, date_time: time) -> datetime:
    """An ISO 8601 date or date-time as a UTC instant (a bare date: ``date_time`` local; naive: local).

    Extended (2026-12-01T09:30) and basic (20261201T0930) forms and week dates are accepted; years
    outside EARLIEST_YEAR..LATEST_YEAR are refused naming ``field``.
    """
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInput(field, "is empty", _DATE_FIX)
    day = bare_date(text)
    parsed: datetime
    if day is not None:
        parsed = datetime.combine(day, date_time, tzinfo=scope.zone)
    else:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InvalidInput(field, f"{_shown(value)} is not an ISO date or date-time", _DATE_FIX) from None
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise InvalidInput(
            field,
            f"{_shown(value)} is in the year {parsed.year}; "
            f"dates from {EARLIEST_YEAR} to {LATEST_YEAR} are accepted",
            "Check the year (a date such as 2026-12-01), or leave the argument out",
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=scope.zone)
    return utc(parsed)


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def apply_touch(row: ContactRow, occurred_at: datetime, direction: Direction) -> None:
    """Move the contact's touch timestamps for one touch."""
    if row.last_touch_at is None or occurred_at > row.last_touch_at:
        row.last_touch_at = occurred_at
    if direction is Direction.OUTBOUND and (
        row.first_response_at is None or occurred_at < row.first_response_at
    ):
        row.first_response_at = occurred_at
    if direction is Direction.OUTBOUND:
        row.outbound_touches = (row.outbound_touches or 0) + 1


def add_interaction(
    session: AsyncSession,
    scope: Scope,
    row: ContactRow,
    *,
    kind: InteractionKind,
    direction: Direction,
    summary: str,
    occurred_at: datetime,
    data: dict[str, Any] | None = None,
) -> InteractionRow:
    """Store a touch and apply it to the contact."""
    interaction = InteractionRow(
        id=new_id(),
        workspace_id=scope.workspace_id,
        contact_id=row.id,
        user_id=scope.user_id,
        kind=kind.value,
        direction=direction.value,
        occurred_at=occurred_at,
        summary=summary,
        data=data,
        created_at=scope.now(),
    )
    session.add(interaction)
    apply_touch(row, occurred_at, direction)
    row.updated_at = scope.now()
    return interaction


async def has_replied(session: AsyncSession, row: ContactRow) -> bool:
    """True when the contact wrote back after our first outbound touch."""
    if row.first_response_at is None:
        return False
    found = (
        await session.execute(
            select(InteractionRow.id)
            .where(
                InteractionRow.contact_id == row.id,
                InteractionRow.direction == Direction.INBOUND.value,
                InteractionRow.occurred_at > row.first_response_at,
            )
            .limit(1)
        )
    ).first()
    return found is not None


async def log_interaction(
    session: AsyncSession,
    scope: Scope,
    *,
    contact_id: str,
    kind: InteractionKind,
    summary: str,
    direction: Direction = Direction.OUTBOUND,
    occurred_at: str | None = None,
) -> InteractionResult:
    """Record a touch (call, email, meeting...); a reply stops the cadence, and the score follows."""
    from lead_mcp.services import outcomes  # outcomes builds on this module

    row = await load_contact(session, contact_id)
    text = (summary or "").strip()
    if not text:
        raise InvalidInput(
            "summary", "is empty", "Say in a sentence what happened, e.g. 'Called, she wants a demo'"
        )
    if len(text) > MAX_SUMMARY:
        raise InvalidInput("summary", f"is {len(text)} characters; at most {MAX_SUMMARY}", "Shorten it")
    now = scope.now()
    when = (
        now
        if occurred_at is None
        else parse_instant(occurred_at, scope, field="occurred_at", date_time=time(12))
    )
    if when > now + FUTURE_TOLERANCE:
        raise InvalidInput(
            "occurred_at",
            "is in the future",
            "Log touches that happened; for a planned one call schedule_followup",
        )
    interaction = add_interaction(
        session, scope, row, kind=kind, direction=direction, summary=text, occurred_at=when
    )
    await session.flush()
    reply_followup = await outcomes.after_touch(session, scope, row, interaction)
    return InteractionResult(
        interaction=interaction_model(interaction),
        contact=contact_summary(row),
        first_response_at=row.first_response_at,
        reply_followup=reply_followup,
    )
