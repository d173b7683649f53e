"""The private calendar feed, fetched over real HTTP from uvicorn and read back with an independent parser."""

import hashlib
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import icalendar
from sqlalchemy import text

from lead_mcp.db.engine import Database
from lead_mcp.web.app import build_app
from tests.helpers import call
from tests.live_app import live_app


async def _fetch(base: str, url: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(base + urlsplit(url).path)


async def test_feed_lists_due_follow_ups_as_events_calendar_apps_read(client, settings, clock):
    ana = (
        await call(
            client,
            "add_contact",
            {
                "full_name": "Ana Souza",
                "company": "Fintech; Ltd",
                "email": "ana@fintech.io",
                "met_at": "Web Summit, Lisbon",
                "notes": "Asked about pricing",
            },
        )
    )["contact"]
    tom = (
        await call(
            client,
            "add_contact",
            {"full_name": "Tom Weber", "phone": "+1 415 555 0100", "follow_up_in_days": 3},
        )
    )["contact"]
    old = (await call(client, "add_contact", {"full_name": "Old Lead"}))["contact"]
    await call(
        client, "schedule_followup", {"contact_id": old["id"], "due": "2026-03-05", "note": "Long overdue"}
    )
    far = (await call(client, "add_contact", {"full_name": "Far Future", "follow_up_in_days": 200}))[
        "contact"
    ]
    gone = (await call(client, "add_contact", {"full_name": "Gone Person"}))["contact"]
    await call(client, "delete_contact", {"contact_id": gone["id"], "confirm": True})

    feed = await call(client, "calendar_feed_url")
    assert feed["active"] is True
    assert feed["url"].startswith("http://127.0.0.1:8765/calendar/") and feed["url"].endswith(".ics")
    assert feed["webcal_url"] == "webcal://" + feed["url"].removeprefix("http://")
    assert "Google Calendar" in feed["note"] and "loopback" in feed["note"]

    async with live_app(build_app(settings, clock=clock)) as base:
        response = await _fetch(base, feed["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    raw = response.content
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")

    calendar = icalendar.Calendar.from_ical(raw)
    assert str(calendar["X-WR-CALNAME"]) == "lead-mcp follow-ups"
    events = {str(e["UID"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    by_contact = {}
    detail = {
        c: await call(client, "get_contact", {"contact_id": c}) for c in (ana["id"], tom["id"], old["id"])
    }
    for contact_id, record in detail.items():
        pending = [f for f in record["followups"] if f["status"] == "pending"]
        by_contact[contact_id] = events[pending[0]["id"]]
    assert len(events) == 3  # not the far-future one, not the deleted contact's
    assert far["id"] not in str(raw)

    ana_event = by_contact[ana["id"]]
    assert str(ana_event["SUMMARY"]) == "Follow up with Ana Souza (Fintech; Ltd)"
    assert ana_event["DTSTART"].dt == datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    assert ana_event["DTEND"].dt == datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    assert ana_event["DTSTAMP"].dt == datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    assert str(ana_event["URL"]) == "mailto:ana@fintech.io"
    description = str(ana_event["DESCRIPTION"])
    assert "Met at: Web Summit, Lisbon" in description and "Email: ana@fintech.io" in description
    assert f"lead://contacts/{ana['id']}" in description
    assert ana_event.walk("VALARM")

    tom_event = by_contact[tom["id"]]
    assert tom_event["DTSTART"].dt == datetime(2026, 3, 13, 15, 0, tzinfo=UTC)
    assert str(tom_event["URL"]) == "tel:+14155550100"

    old_event = by_contact[old["id"]]
    assert old_event["DTSTART"].dt == date(2026, 3, 10)  # overdue: on today, all day, until done
    assert old_event["DTEND"].dt == date(2026, 3, 11)
    assert str(old_event["SUMMARY"]) == "Overdue 5d: follow up with Old Lead"
    assert "Long overdue" in str(old_event["DESCRIPTION"])


async def test_feed_url_is_shown_once_stored_hashed_and_can_be_rotated_and_revoked(client, settings, clock):
    first = await call(client, "calendar_feed_url")
    token = urlsplit(first["url"]).path.removeprefix("/calendar/").removesuffix(".ics")
    assert len(token) >= 43

    db = Database(settings.database_url)
    try:
        async with db.transaction(all_workspaces=True, write=False) as session:
            stored = (await session.execute(text("SELECT token_hash FROM calendar_feeds"))).scalars().all()
    finally:
        await db.dispose()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]

    async with live_app(build_app(settings, clock=clock)) as base:
        assert (await _fetch(base, first["url"])).status_code == 200
        clock.advance(timedelta(minutes=1))
        again = await call(client, "calendar_feed_url")
        assert again["url"] is None and again["active"] is True
        assert again["last_fetched_at"].startswith("2026-03-10T15:00")
        assert "rotate=true" in again["note"]

        rotated = await call(client, "calendar_feed_url", {"rotate": True})
        assert rotated["url"] != first["url"]
        assert (await _fetch(base, first["url"])).status_code == 404
        assert (await _fetch(base, rotated["url"])).status_code == 200

        revoked = await call(client, "calendar_feed_url", {"revoke": True})
        assert revoked["active"] is False
        assert (await _fetch(base, rotated["url"])).status_code == 404
        assert (await _fetch(base, "/calendar/not-a-token.ics")).status_code == 404
