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
from lead_mcp.db import queries
from lead_mcp.db.tables import ContactRow, InteractionRow, new_id
from lead_mcp.domain import Direction, Interaction, InteractionKind, InteractionResult
from lead_mcp.errors import InvalidInput, NotFound
from lead_mcp.services.records import summary_of
from lead_mcp.services.scope import Scope

MAX_SUMMARY = 20_000
FUTURE_TOLERANCE = timedelta(minutes=5)


def parse_instant(value: str, scope: Scope, *, field: str, date_time: time) -> datetime:
    """An ISO date or date-time as a UTC instant; a bare date means ``date_time`` local, naive means local."""
    text = value.strip() if isinstance(value, str) else ""
    fix = "Use an ISO date such as 2026-12-01 or a date-time such as 2026-12-01T15:00:00+01:00"
    if not text:
        raise InvalidInput(field, "is empty", fix)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return utc(datetime.combine(day, date_time, tzinfo=scope.zone))
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not an ISO date or date-time", fix) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=scope.zone)
    return utc(parsed)


def apply_touch(row: ContactRow, occurred_at: datetime, direction: Direction) -> None:
    """Move the contact's touch timestamps for one touch."""
    if row.last_touch_at is None or occurred_at > row.last_touch_at:
        row.last_touch_at = occurred_at
    if direction is Direction.OUTBOUND and (
        row.first_response_at is None or occurred_at < row.first_response_at
    ):
        row.first_response_at = occurred_at


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
    """Record a touch (call, email, meeting...) with a contact.

    A hot path, so plain Core: read the contact's touch timestamps (locked on PostgreSQL),
    update them, insert the touch. ``add_interaction`` is the ORM twin other services use.
    """
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
    conn = await session.connection()
    found = None
    if isinstance(contact_id, str) and 0 < len(contact_id) <= 64:
        # Locked for the rest of the transaction (FOR UPDATE on PostgreSQL; SQLite writers are serialized).
        select_contact = (
            queries.TOUCHED_CONTACT_LOCKED if conn.dialect.name != "sqlite" else queries.TOUCHED_CONTACT
        )
        found = (
            await conn.execute(select_contact, {"ws": scope.workspace_id, "contact_id": contact_id.strip()})
        ).first()
    if found is None:
        raise NotFound(
            f"contact_id: no contact {contact_id!r} in this workspace; "
            "call search_contacts to find the right id"
        )
    last_touch_at = when if found.last_touch_at is None or when > found.last_touch_at else found.last_touch_at
    first_response_at = found.first_response_at
    if direction is Direction.OUTBOUND and (first_response_at is None or when < first_response_at):
        first_response_at = when
    await conn.execute(
        queries.APPLY_TOUCH,
        {
            "pk_": found.pk,
            "ws": scope.workspace_id,
            "updated_at": now,
            "first_response_at": first_response_at,
            "last_touch_at": last_touch_at,
        },
    )
    values = {
        "id": new_id(),
        "workspace_id": scope.workspace_id,
        "contact_id": found.id,
        "user_id": scope.user_id,
        "kind": kind.value,
        "direction": direction.value,
        "occurred_at": when,
        "summary": text,
        "data": None,
        "created_at": now,
    }
    await conn.execute(queries.INSERT_INTERACTION, values)
    return InteractionResult(
        interaction=Interaction(**values),
        contact=summary_of(found),
        first_response_at=first_response_at,
    )
