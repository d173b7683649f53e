"""Follow-up tools in simulated time (Europe/Berlin), on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.db.engine import Database
from lead_mcp.db.tables import ContactRow
from mcp import Client
from tests.helpers import call, call_error

BERLIN = ZoneInfo("Europe/Berlin")


async def _add(client: Client, name: str, **extra: object) -> dict:
    return (await call(client, "add_contact", {"full_name": name, **extra}))["contact"]


async def test_within_days_counts_calendar_days_in_the_configured_zone(
    client: Client, clock: FixedClock
) -> None:
    # 15:00 UTC is 16:00 in Berlin on 2026-03-10; Berlin's day ends at 23:00 UTC.
    ana = await _add(client, "Ana")
    await call(client, "schedule_followup", {"contact_id": ana["id"], "due": "2026-03-10T22:30:00Z"})
    bo = await _add(client, "Bo", follow_up_in_days=1)
    await call(client, "schedule_followup", {"contact_id": bo["id"], "due": "2026-03-10T23:30:00Z"})
    today = await call(client, "list_due_followups", {"within_days": 0})
    assert [i["contact"]["full_name"] for i in today["items"]] == [
        "Ana"
    ]  # 23:30 UTC is already tomorrow in Berlin
    tomorrow = await call(client, "list_due_followups", {"within_days": 1})
    assert [i["contact"]["full_name"] for i in tomorrow["items"]] == ["Ana", "Bo"]


async def test_due_list_orders_overdue_first_then_due_time_then_score(
    client: Client, clock: FixedClock, settings: Settings
) -> None:
    names = ["Old", "Older", "TodayLow", "TodayHigh", "Later"]
    people = {n: await _add(client, n) for n in names}
    await call(client, "schedule_followup", {"contact_id": people["Old"]["id"], "due": "2026-03-08"})
    await call(
        client, "schedule_followup", {"contact_id": people["Older"]["id"], "due": "2026-03-01T12:00:00+01:00"}
    )
    await call(client, "schedule_followup", {"contact_id": people["TodayLow"]["id"], "due": "2026-03-10"})
    await call(client, "schedule_followup", {"contact_id": people["TodayHigh"]["id"], "due": "2026-03-10"})
    await call(client, "schedule_followup", {"contact_id": people["Later"]["id"], "due": "2026-03-12"})
    # Raise one lead's score directly in the store: ties on due time are broken by score.
    await _set_score(settings, people["TodayHigh"]["id"], 80)

    page = await call(client, "list_due_followups", {"within_days": 7})
    assert [i["contact"]["full_name"] for i in page["items"]] == [
        "Older",
        "Old",
        "TodayHigh",
        "TodayLow",
        "Later",
    ]
    assert [i["overdue_days"] for i in page["items"]] == [9, 2, 0, 0, 0]
    assert page["items"][2]["why"]["score"] == 80

    upcoming_only = await call(client, "list_due_followups", {"within_days": 7, "include_overdue": False})
    assert [i["contact"]["full_name"] for i in upcoming_only["items"]] == ["TodayHigh", "TodayLow", "Later"]

    # Cursor pages walk the same order without gaps or repeats.
    seen, cursor = [], None
    while True:
        args: dict = {"within_days": 7, "limit": 2}
        if cursor:
            args["cursor"] = cursor
        part = await call(client, "list_due_followups", args)
        seen += [i["contact"]["full_name"] for i in part["items"]]
        cursor = part["next_cursor"]
        if not cursor:
            break
    assert seen == ["Older", "Old", "TodayHigh", "TodayLow", "Later"]


async def _set_score(settings: Settings, contact_id: str, score: int) -> None:
    """Write a score straight into the store (scoring itself is not this test's subject)."""
    db = Database(settings.database_url)
    try:
        async with db.transaction(all_workspaces=True) as session:
            await session.execute(update(ContactRow).where(ContactRow.id == contact_id).values(score=score))
    finally:
        await db.dispose()


async def test_schedule_followup_moves_the_pending_one_and_keeps_history(client: Client) -> None:
    ana = await _add(client, "Ana")
    moved = await call(
        client, "schedule_followup", {"contact_id": ana["id"], "due": "2026-03-13", "note": "Send the deck"}
    )
    assert moved["due_at"] == "2026-03-13T08:00:00Z"  # a bare date is due 09:00 Berlin
    assert moved["note"] == "Send the deck"
    detail = await call(client, "get_contact", {"contact_id": ana["id"]})
    assert [f["status"] for f in detail["followups"]] == ["pending"]
    assert detail["contact"]["next_followup_at"] == "2026-03-13T08:00:00Z"
    assert any(h["action"] == "rescheduled" for h in detail["history"])
    extra = await call(
        client,
        "schedule_followup",
        {"contact_id": ana["id"], "due": "2026-03-11T10:00:00+01:00", "replace_pending": False},
    )
    assert extra["due_at"] == "2026-03-11T09:00:00Z"
    detail = await call(client, "get_contact", {"contact_id": ana["id"]})
    assert len(detail["followups"]) == 2
    assert detail["contact"]["next_followup_at"] == "2026-03-11T09:00:00Z"


async def test_schedule_followup_rejects_unparseable_dates(client: Client) -> None:
    ana = await _add(client, "Ana")
    for due in ("next tuesday", "2026-13-01", "", "12/03/2026", "2026-03-10T25:00"):
        text = await call_error(client, "schedule_followup", {"contact_id": ana["id"], "due": due})
        assert "due" in text and "ISO" in text, due
    await call_error(client, "schedule_followup", {"contact_id": ana["id"]})
    assert "contact_id" in await call_error(
        client, "schedule_followup", {"contact_id": str(uuid.uuid4()), "due": "2026-03-11"}
    )
    # Past dates are accepted (back-filling), and show as overdue.
    await call(client, "schedule_followup", {"contact_id": ana["id"], "due": "2026-03-01"})
    due = await call(client, "list_due_followups", {})
    assert due["items"][0]["overdue_days"] == 9


async def test_complete_followup_walks_the_default_cadence(client: Client, clock: FixedClock) -> None:
    ana = await _add(client, "Ana")
    first = (await call(client, "list_due_followups", {}))["items"][0]
    assert first["step"] == 1
    done = await call(
        client, "complete_followup", {"followup_id": first["followup_id"], "outcome": "Sent intro email"}
    )
    assert done["completed"]["status"] == "done" and done["completed"]["outcome"] == "Sent intro email"
    assert done["interaction"]["direction"] == "outbound"
    assert done["interaction"]["summary"] == "Sent intro email"
    step2 = done["next_followup"]
    assert step2["step"] == 2
    assert step2["due_at"] == "2026-03-12T15:00:00Z"  # +2 days, same local time
    detail = await call(client, "get_contact", {"contact_id": ana["id"]})
    assert detail["contact"]["first_response_at"] == "2026-03-10T15:00:00Z"

    gaps = []
    current = step2
    while current is not None:
        clock.current = datetime.fromisoformat(current["due_at"].replace("Z", "+00:00"))
        result = await call(client, "complete_followup", {"followup_id": current["id"]})
        nxt = result["next_followup"]
        if nxt:
            due = datetime.fromisoformat(nxt["due_at"].replace("Z", "+00:00")).astimezone(BERLIN)
            now = clock.current.astimezone(BERLIN)
            assert due.time() == now.time()  # same local time of day, across the DST change on 29 March
            gaps.append((due.date() - now.date()).days)
        current = nxt
    assert gaps == [5, 23]  # day 2 -> day 7 -> day 30, then the cadence ends
    assert (await call(client, "list_due_followups", {"within_days": 365}))["items"] == []


async def test_cadence_stops_when_the_lead_replies_or_is_closed(client: Client, clock: FixedClock) -> None:
    ana = await _add(client, "Ana")
    first = (await call(client, "list_due_followups", {}))["items"][0]
    await call(client, "complete_followup", {"followup_id": first["followup_id"]})
    clock.advance(timedelta(hours=3))
    await call(
        client,
        "log_interaction",
        {"contact_id": ana["id"], "kind": "email", "summary": "Yes, let's talk", "direction": "inbound"},
    )
    clock.advance(timedelta(days=2))
    pending = (await call(client, "list_due_followups", {}))["items"][0]
    assert pending["purpose"] == "reply"  # her reply turned the next step into "answer her"
    result = await call(client, "complete_followup", {"followup_id": pending["followup_id"]})
    assert result["next_followup"] is None  # she replied: the cadence is over

    bo = await _add(client, "Bo")
    await call(client, "update_contact", {"contact_id": bo["id"], "stage": "customer"})
    due = (await call(client, "list_due_followups", {}))["items"]
    assert bo["id"] not in {i["contact"]["id"] for i in due}  # a customer's cadence step is skipped
    steps = (await call(client, "get_contact", {"contact_id": bo["id"]}))["followups"]
    assert [(f["status"], f["outcome"]) for f in steps] == [("skipped", "cadence stopped: now customer")]


async def test_complete_followup_next_in_days_overrides_the_cadence(client: Client) -> None:
    await _add(client, "Ana")
    first = (await call(client, "list_due_followups", {}))["items"][0]
    result = await call(
        client, "complete_followup", {"followup_id": first["followup_id"], "next_in_days": 10, "kind": "call"}
    )
    assert result["interaction"]["kind"] == "call"
    assert result["next_followup"]["due_at"] == "2026-03-20T15:00:00Z"


async def test_complete_followup_rejects_unknown_and_finished_ones(client: Client) -> None:
    await _add(client, "Ana")
    first = (await call(client, "list_due_followups", {}))["items"][0]
    assert "followup_id" in await call_error(client, "complete_followup", {"followup_id": str(uuid.uuid4())})
    assert "next_in_days" in await call_error(
        client, "complete_followup", {"followup_id": first["followup_id"], "next_in_days": -3}
    )
    await call(client, "complete_followup", {"followup_id": first["followup_id"]})
    text = await call_error(client, "complete_followup", {"followup_id": first["followup_id"]})
    assert "already done" in text


async def test_list_due_followups_rejects_bad_arguments(client: Client) -> None:
    assert "within_days" in await call_error(client, "list_due_followups", {"within_days": -1})
    assert "limit" in await call_error(client, "list_due_followups", {"limit": 0})
    assert "limit" in await call_error(client, "list_due_followups", {"limit": 500})
    assert "cursor" in await call_error(client, "list_due_followups", {"cursor": "x"})
