"""The private calendar feed: due follow-ups as an ``.ics`` subscription at a secret URL.

Reminders without asking: the user subscribes once in Google, Apple or Outlook
calendar and sees every due follow-up there. The URL carries a random 256-bit
token; only its SHA-256 is stored, so the URL is shown once (when made or
rotated) and a leaked database does not leak working feed URLs. Overdue
follow-ups show as all-day events on today, so they keep nagging until done;
the rest sit at their due time with an alarm.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import end_of_day, local_date, start_of_day
from lead_mcp.db.tables import CalendarFeedRow, ContactRow, FollowUpRow
from lead_mcp.domain import CalendarFeedResult, FollowUpStatus
from lead_mcp.services import ics
from lead_mcp.services.scope import Scope

FEED_EVENT_LIMIT = 1000
EVENT_MINUTES = 30
NOTE_LIMIT = 1500
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,100}$")
FEED_NAME = "lead-mcp follow-ups"


def hash_token(token: str) -> str:
    """What is stored of a feed token."""
    return hashlib.sha256(token.encode()).hexdigest()


def feed_path(token: str) -> str:
    """The path the web app serves a feed at."""
    return f"/calendar/{token}.ics"


def _subscribe_note(scope: Scope) -> str:
    note = (
        "Subscribe once and due follow-ups appear in the calendar: Google Calendar: Other calendars > "
        "From URL; Apple Calendar: File > New Calendar Subscription (or open webcal_url); Outlook: Add "
        "calendar > Subscribe from web. Keep the URL private: anyone with it sees the follow-ups."
    )
    if scope.settings.public_base_is_loopback:
        note += (
            " This URL is on this machine only (LEAD_MCP_PUBLIC_BASE_URL is a loopback address): Google and "
            "Outlook fetch feeds from their own servers and need a public https address there."
        )
    return note


async def _feeds(session: AsyncSession, scope: Scope) -> list[CalendarFeedRow]:
    owner = (
        CalendarFeedRow.user_id.is_(None)
        if scope.user_id is None
        else CalendarFeedRow.user_id == scope.user_id
    )
    return list((await session.execute(select(CalendarFeedRow).where(owner))).scalars().all())


async def calendar_feed_url(
    session: AsyncSession, scope: Scope, *, rotate: bool = False, revoke: bool = False
) -> CalendarFeedResult:
    """Make the feed (a new URL with ``rotate``) or ``revoke`` it; an existing URL is never shown again."""
    existing = await _feeds(session, scope)
    if revoke:
        for feed in existing:
            await session.delete(feed)
        await session.flush()
        return CalendarFeedResult(
            url=None,
            webcal_url=None,
            active=False,
            created_at=None,
            last_fetched_at=None,
            note="The feed is revoked: its URL stops working at once. Call calendar_feed_url to make a new "
            "one.",
        )
    if existing and not rotate:
        feed = existing[0]
        return CalendarFeedResult(
            url=None,
            webcal_url=None,
            active=True,
            created_at=feed.created_at,
            last_fetched_at=feed.last_fetched_at,
            note="A feed exists. Its URL is secret and was shown once, when it was made; only a hash is "
            "kept. "
            "Call calendar_feed_url with rotate=true for a new URL (the old one stops working at once).",
        )
    for feed in existing:
        await session.delete(feed)
    await session.flush()
    token = secrets.token_urlsafe(32)
    now = scope.now()
    session.add(
        CalendarFeedRow(
            workspace_id=scope.workspace_id,
            user_id=scope.user_id,
            token_hash=hash_token(token),
            created_at=now,
        )
    )
    await session.flush()
    url = scope.settings.public_base_url + feed_path(token)
    return CalendarFeedResult(
        url=url,
        webcal_url="webcal://" + url.split("://", 1)[1],
        active=True,
        created_at=now,
        last_fetched_at=None,
        note=_subscribe_note(scope),
    )


async def open_feed(session: AsyncSession, token: str, now: datetime) -> tuple[str, str | None] | None:
    """The (workspace id, user id) a feed token belongs to, noting the fetch; None for an unknown token.

    Runs in a session opened without a workspace: the token is what says whose feed it is.
    """
    if not _TOKEN.match(token or ""):
        return None
    feed = (
        await session.execute(select(CalendarFeedRow).where(CalendarFeedRow.token_hash == hash_token(token)))
    ).scalar_one_or_none()
    if feed is None:
        return None
    feed.last_fetched_at = now
    return feed.workspace_id, feed.user_id


def _describe(followup: FollowUpRow, contact: ContactRow, overdue_days: int) -> str:
    lines = []
    if followup.note:
        note = followup.note if len(followup.note) <= NOTE_LIMIT else followup.note[:NOTE_LIMIT] + " [...]"
        lines.append(note)
    if overdue_days:
        lines.append(
            f"Overdue by {overdue_days} day{'s' if overdue_days != 1 else ''} (was due "
            f"{followup.due_at:%Y-%m-%d})."
        )
    lines.append(f"Cadence step {followup.step} · stage {contact.stage} · score {contact.score}")
    if contact.title or contact.company:
        lines.append(" at ".join(p for p in (contact.title, contact.company) if p))
    if contact.met_at:
        lines.append(f"Met at: {contact.met_at}")
    for email in contact.emails[:3]:
        lines.append(f"Email: {email}")
    for phone in contact.phones[:3]:
        lines.append(f"Phone: {phone}")
    if contact.last_touch_at:
        lines.append(f"Last touch: {contact.last_touch_at:%Y-%m-%d}")
    lines.append(f"Ask your assistant to draft it (lead://contacts/{contact.id}).")
    return "\n".join(lines)


async def feed_ics(session: AsyncSession, scope: Scope) -> str:
    """The feed: pending follow-ups of live contacts up to the horizon, overdue ones on today."""
    today = scope.today()
    horizon = end_of_day(today + timedelta(days=scope.settings.calendar_feed_days), scope.zone)
    rows = (
        await session.execute(
            select(FollowUpRow, ContactRow)
            .join(ContactRow, ContactRow.id == FollowUpRow.contact_id)
            .where(
                FollowUpRow.status == FollowUpStatus.PENDING.value,
                FollowUpRow.due_at < horizon,
                ContactRow.deleted_at.is_(None),
            )
            .order_by(FollowUpRow.due_at, FollowUpRow.id)
            .limit(FEED_EVENT_LIMIT)
        )
    ).all()
    today_start = start_of_day(today, scope.zone)
    events = []
    for followup, contact in rows:
        name = (
            contact.full_name
            or (contact.emails[0] if contact.emails else None)
            or (contact.phones[0] if contact.phones else "a lead")
        )
        who = f"{name} ({contact.company})" if contact.company and contact.full_name else name
        overdue_days = max((today - local_date(followup.due_at, scope.zone)).days, 0)
        url = (
            f"mailto:{contact.emails[0]}"
            if contact.emails
            else (f"tel:{contact.phones[0]}" if contact.phones else None)
        )
        if followup.due_at < today_start:
            events.append(
                ics.Event(
                    uid=f"{followup.id}@lead-mcp",
                    start=today,
                    end=today + timedelta(days=1),
                    summary=f"Overdue {overdue_days}d: follow up with {who}",
                    description=_describe(followup, contact, overdue_days),
                    url=url,
                    last_modified=followup.updated_at,
                )
            )
        else:
            events.append(
                ics.Event(
                    uid=f"{followup.id}@lead-mcp",
                    start=followup.due_at,
                    end=followup.due_at + timedelta(minutes=EVENT_MINUTES),
                    summary=f"Follow up with {who}",
                    description=_describe(followup, contact, 0),
                    url=url,
                    last_modified=followup.updated_at,
                    alarm=True,
                )
            )
    return ics.calendar(events, name=FEED_NAME, stamp=scope.now())
