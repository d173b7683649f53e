"""pipeline_report: exact figures for any period, kept by running aggregates that match a recount."""

import itertools
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from lead_mcp.db.aggregates import rebuild
from lead_mcp.db.engine import Database
from lead_mcp.db.tables import PipelineCount, PipelineReferrer, PipelineSpeed
from lead_mcp.services.workspaces import LOCAL_WORKSPACE_ID
from tests.helpers import call, call_error

BERLIN = ZoneInfo("Europe/Berlin")


def _instant(value: str, *, upper: bool) -> datetime:
    """How the report reads a bound: a bare date is a whole local day (until includes it)."""
    if len(value) == 10:
        day = date.fromisoformat(value) + timedelta(days=1 if upper else 0)
        return datetime.combine(day, time(0), tzinfo=BERLIN).astimezone(UTC)
    return datetime.fromisoformat(value).astimezone(UTC)


async def test_any_period_counts_exactly_the_contacts_created_in_it(client, clock):
    created = [
        datetime(2026, 1, 30, 23, 30, tzinfo=UTC),
        datetime(2026, 1, 31, 10, 0, tzinfo=UTC),
        datetime(2026, 1, 31, 23, 0, tzinfo=UTC),  # midnight in Berlin, Feb 1st
        datetime(2026, 2, 1, 0, 0, tzinfo=UTC),
        datetime(2026, 2, 15, 12, 0, tzinfo=UTC),
        datetime(2026, 2, 28, 23, 59, tzinfo=UTC),
        datetime(2026, 3, 1, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 9, 14, 0, tzinfo=UTC),
    ]
    sources = ["manual", "card_scan", "event", "card_form"]
    for n, when in enumerate(created):
        clock.current = when
        added = await call(client, "add_contact", {"full_name": f"Lead {n}", "source": sources[n % 4]})
        clock.advance(timedelta(minutes=n + 1))
        await call(client, "complete_followup", {"followup_id": added["followup"]["id"]})
    clock.current = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)

    bounds = [
        None,
        "2026-01-31",
        "2026-02-01",
        "2026-02-01T00:00:00Z",
        "2026-02-15T13:00:00+01:00",
        "2026-02-28",
        "2026-03-01T01:30:00+01:00",
        "2026-03-09",
    ]
    checked = 0
    for since, until in itertools.product(bounds, bounds):
        lo = _instant(since, upper=False) if since else None
        hi = _instant(until, upper=True) if until else None
        if lo is not None and hi is not None and lo >= hi:
            continue
        args = {k: v for k, v in (("since", since), ("until", until)) if v}
        report = await call(client, "pipeline_report", args)
        inside = [
            n for n, when in enumerate(created) if (lo is None or when >= lo) and (hi is None or when < hi)
        ]
        assert report["contacts"] == len(inside), (since, until)
        assert sum(report["by_stage"].values()) == sum(report["by_source"].values()) == len(inside)
        for source in sources:
            assert report["by_source"][source] == sum(1 for n in inside if sources[n % 4] == source)
        minutes = sorted(n + 1 for n in inside)
        speed = report["speed_to_lead"]
        assert speed["responded"] == len(inside)
        assert speed["median_minutes"] == (minutes[(len(minutes) + 1) // 2 - 1] if minutes else None)
        checked += 1
    assert checked > 30
    assert "until" in await call_error(
        client, "pipeline_report", {"since": "2026-03-01", "until": "2026-02-01"}
    )
    assert "since" in await call_error(client, "pipeline_report", {"since": "last tuesday"})


async def test_speed_to_lead_uses_nearest_rank_and_leaves_imports_out(client, clock):
    for minutes in (1, 2, 3, 10, 90, None):
        clock.current = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        added = await call(client, "add_contact", {"full_name": f"Lead {minutes}"})
        if minutes is not None:
            clock.advance(timedelta(minutes=minutes, seconds=30))
            await call(client, "complete_followup", {"followup_id": added["followup"]["id"]})
    imported = await call(client, "add_contact", {"full_name": "Old Friend", "source": "import"})
    clock.advance(timedelta(days=3))
    await call(client, "complete_followup", {"followup_id": imported["followup"]["id"]})

    speed = (await call(client, "pipeline_report"))["speed_to_lead"]
    assert speed == {
        "leads": 6,
        "responded": 5,
        "unanswered": 1,
        "median_minutes": 3,
        "p90_minutes": 90,
        "share_under_5_minutes": 0.5,
        "share_under_1_hour": 0.6667,
    }


async def test_deleted_contacts_leave_the_report_and_a_contact_without_source_is_manual(client):
    kept = await call(client, "add_contact", {"full_name": "Kept"})
    gone = await call(client, "add_contact", {"full_name": "Gone", "source": "event"})
    await call(client, "delete_contact", {"contact_id": gone["contact"]["id"], "confirm": True})
    report = await call(client, "pipeline_report")
    assert (
        report["contacts"] == 1 and report["by_source"]["manual"] == 1 and report["by_source"]["event"] == 0
    )
    assert kept["contact"]["source"] == "manual"
    assert [c["source"] for c in report["conversion_by_source"]] == ["manual"]


async def _counter_rows(url: str) -> dict[str, list[tuple]]:
    db = Database(url)
    try:
        async with db.transaction(workspace_id=LOCAL_WORKSPACE_ID, write=False) as session:
            out = {}
            for table, values in ((PipelineCount, 3), (PipelineSpeed, 1), (PipelineReferrer, 2)):
                columns = table.__table__.c
                statement = select(*columns).where(columns.workspace_id == LOCAL_WORKSPACE_ID)
                rows = (await session.execute(statement)).all()
                # Counters that went back to zero stay as rows; a recount does not write them.
                out[table.__tablename__] = sorted(tuple(r) for r in rows if any(r[-values:]))
            return out
    finally:
        await db.dispose()


async def _recount(url: str) -> dict[str, list[tuple]]:
    db = Database(url)
    try:
        async with db.transaction(workspace_id=LOCAL_WORKSPACE_ID, write=True) as session:
            await rebuild(session, LOCAL_WORKSPACE_ID)
    finally:
        await db.dispose()
    return await _counter_rows(url)


async def test_running_aggregates_match_a_recount_after_every_kind_of_change(client, clock, settings):
    rng = random.Random(7)
    ids: list[str] = []
    pending: list[str] = []
    for step in range(70):
        clock.advance(timedelta(minutes=rng.randint(1, 600)))
        action = rng.choice(["add", "add", "merge", "touch", "complete", "qualify", "update", "delete"])
        if action == "add" or not ids:
            args = {"full_name": f"Lead {step}", "email": f"lead{step}@example.org"}
            args["source"] = rng.choice(["manual", "card_scan", "card_form", "referral", "import", "event"])
            if ids and rng.random() < 0.4:
                args["referred_by"] = rng.choice(ids)
            added = await call(client, "add_contact", args)
            ids.append(added["contact"]["id"])
            pending.append(added["followup"]["id"])
        elif action == "merge":
            n = rng.randrange(step)
            await call(client, "add_contact", {"email": f"lead{n}@example.org", "title": "CEO"})
        elif action == "touch":
            await call(
                client,
                "log_interaction",
                {
                    "contact_id": rng.choice(ids),
                    "kind": "email",
                    "summary": "touch",
                    "direction": rng.choice(["inbound", "outbound"]),
                },
            )
        elif action == "complete" and pending:
            followup_id = pending.pop(rng.randrange(len(pending)))
            result = rng.choice([None, "replied", "meeting_booked", "not_interested", "won", "no_answer"])
            args = {"followup_id": followup_id, **({"result": result} if result else {})}
            response = await client.call_tool("complete_followup", args)
            if not response.is_error and response.structured_content["next_followup"]:
                pending.append(response.structured_content["next_followup"]["id"])
        elif action == "qualify":
            stage = rng.choice(["cold", "mql", "sql", "opportunity", "customer", "lost", "lead"])
            await client.call_tool("qualify_lead", {"contact_id": rng.choice(ids), "stage": stage})
        elif action == "update":
            stage = rng.choice(["sql", "customer", "lost"])
            await client.call_tool("update_contact", {"contact_id": rng.choice(ids), "stage": stage})
        elif action == "delete" and len(ids) > 3:
            await call(
                client, "delete_contact", {"contact_id": ids.pop(rng.randrange(len(ids))), "confirm": True}
            )

    maintained = await _counter_rows(settings.database_url)
    assert maintained["pipeline_counts"], "the counters were never written"
    assert maintained == await _recount(settings.database_url)

    # Referrers that go for good: one erased, one deleted and purged after the restore window.
    erased = (await call(client, "add_contact", {"full_name": "Erin Erased"}))["contact"]["id"]
    purged = (await call(client, "add_contact", {"full_name": "Paul Purged"}))["contact"]["id"]
    brought = []
    for referrer in (erased, purged, erased):
        lead = await call(
            client, "add_contact", {"full_name": f"Lead of {referrer[:6]}", "referred_by": referrer}
        )
        await call(client, "qualify_lead", {"contact_id": lead["contact"]["id"], "stage": "customer"})
        brought.append(lead["contact"]["id"])
    shown = {r["referrer_id"] for r in (await call(client, "pipeline_report"))["top_referrers"]}
    assert {erased, purged} <= shown
    await call(client, "delete_contact", {"contact_id": purged, "confirm": True})
    shown = {r["referrer_id"] for r in (await call(client, "pipeline_report"))["top_referrers"]}
    assert purged not in shown  # deleted: gone from the report at once, not shown as a nameless id
    await call(client, "delete_contact", {"contact_id": erased, "erase": True, "confirm": True})
    clock.advance(timedelta(days=settings.deleted_retention_days + 1))
    other = await call(client, "add_contact", {"full_name": "Trigger Purge"})
    await call(client, "delete_contact", {"contact_id": other["contact"]["id"], "confirm": True})  # purges

    report = await call(client, "pipeline_report")
    assert not {erased, purged} & {r["referrer_id"] for r in report["top_referrers"]}
    assert all(r["full_name"] for r in report["top_referrers"])
    for lead_id in brought:
        detail = await call(client, "get_contact", {"contact_id": lead_id})
        assert detail["contact"]["referred_by"] is None
        assert "referrer_removed" in {h["action"] for h in detail["history"]}
    maintained = await _counter_rows(settings.database_url)
    assert not {row[3] for row in maintained["pipeline_referrers"]} & {erased, purged}
    assert maintained == await _recount(settings.database_url)


async def test_the_report_never_counts_another_workspace(client, clock, settings):
    from lead_mcp.clock import FixedClock
    from lead_mcp.domain import ContactCreate
    from lead_mcp.services import contacts, followups
    from lead_mcp.services.scope import Scope
    from lead_mcp.services.workspaces import create_workspace

    tom = (await call(client, "add_contact", {"full_name": "Tom Berger"}))["contact"]
    ana = await call(client, "add_contact", {"full_name": "Ana Souza", "referred_by": tom["id"]})
    await call(client, "complete_followup", {"followup_id": ana["followup"]["id"], "result": "won"})
    db = Database(settings.database_url)
    try:
        async with db.transaction(all_workspaces=True) as session:
            other = await create_workspace(session, FixedClock(clock.now()), name="Other")
        scope = Scope(workspace_id=other, settings=settings, clock=clock)
        async with db.transaction(workspace_id=other) as session:
            referrer = await contacts.add_contact(session, scope, data=ContactCreate(full_name="Zed Other"))
            for n in range(3):
                added = await contacts.add_contact(
                    session,
                    scope,
                    data=ContactCreate(
                        full_name=f"Other {n}", source="event", referred_by=referrer.contact.id
                    ),
                )
                assert added.followup is not None
                await followups.complete_followup(session, scope, followup_id=added.followup.id, result="won")
    finally:
        await db.dispose()
    clock.advance(timedelta(days=2))
    for period in (
        {},
        {"since": "2026-03-01"},
        {"since": "2026-03-10T12:00:00Z", "until": "2026-03-10T18:00:00Z"},
    ):
        report = await call(client, "pipeline_report", period)
        assert report["contacts"] == 2 and report["by_source"]["event"] == 0, period
        assert [r["full_name"] for r in report["top_referrers"]] == ["Tom Berger"]
        assert report["top_referrers"][0]["converted_leads"] == [
            {"id": ana["contact"]["id"], "full_name": "Ana Souza"}
        ]
        overdue = report["overdue_followups"]
        assert overdue["count"] == 2  # Tom's first touch and his thank-you; none of the other workspace's
        assert {item["contact_id"] for item in overdue["items"]} == {tom["id"]}


async def test_update_and_delete_statements_on_contacts_keep_the_counters_exact(client, settings):
    from sqlalchemy import delete, update

    from lead_mcp.db.tables import ContactRow

    for n in range(6):
        source = ["event", "card_scan", "referral"][n % 3]
        added = await call(client, "add_contact", {"full_name": f"Lead {n}", "source": source})
        await call(client, "complete_followup", {"followup_id": added["followup"]["id"]})
    await call(client, "add_contact", {"full_name": "Gone Soon", "source": "import"})
    db = Database(settings.database_url)
    try:
        async with db.transaction(workspace_id=LOCAL_WORKSPACE_ID) as session:
            await session.execute(
                update(ContactRow)
                .where(ContactRow.source == "event")
                .values(stage="customer", outbound_touches=2)
            )
            await session.execute(delete(ContactRow).where(ContactRow.source == "import"))
    finally:
        await db.dispose()
    report = await call(client, "pipeline_report")
    assert report["contacts"] == 6 and report["by_source"]["import"] == 0
    assert report["by_stage"]["customer"] == 2 and report["second_touch"]["touched_twice"] == 2
    maintained = await _counter_rows(settings.database_url)
    assert maintained == await _recount(settings.database_url)


async def test_stage_changes_are_notes_with_who_and_when_that_never_count_as_touches(client, clock, settings):
    from lead_mcp.clock import FixedClock
    from lead_mcp.domain import Stage
    from lead_mcp.services import accounts, stages
    from lead_mcp.services.scope import Scope

    added = await call(client, "add_contact", {"full_name": "Nora Notes", "email": "nora@acme.io"})
    contact_id = added["contact"]["id"]
    clock.advance(timedelta(minutes=30))
    await call(client, "qualify_lead", {"contact_id": contact_id, "stage": "mql"})
    await call(client, "bulk_update", {"contact_ids": [contact_id], "set_stage": "sql", "dry_run": False})
    db = Database(settings.database_url)  # a seat of the workspace moves it on: the note names them
    try:
        async with db.transaction(all_workspaces=True) as session:
            seat = await accounts.add_user(
                session, FixedClock(clock.now()), workspace_id=LOCAL_WORKSPACE_ID, email="sam@team.io"
            )
        scope = Scope(workspace_id=LOCAL_WORKSPACE_ID, settings=settings, clock=clock, user_id=seat.id)
        async with db.transaction(workspace_id=LOCAL_WORKSPACE_ID) as session:
            await stages.qualify_lead(session, scope, contact_id=contact_id, stage=Stage.OPPORTUNITY)
    finally:
        await db.dispose()

    detail = await call(client, "get_contact", {"contact_id": contact_id})
    notes = [i for i in detail["interactions"] if i["kind"] == "note"]
    assert sorted(n["summary"] for n in notes) == [
        "Stage lead → mql via qualify_lead",
        "Stage mql → sql via bulk_update",
        "Stage sql → opportunity via qualify_lead",
    ]
    assert [n["user_id"] for n in notes if "opportunity" in n["summary"]] == [seat.id]
    moves = [h for h in detail["history"] if h["action"] == "stage_changed"]
    assert {(h["detail"]["to"], h["detail"]["via"]) for h in moves} == {
        ("mql", "qualify_lead"),
        ("sql", "bulk_update"),
        ("opportunity", "qualify_lead"),
    }
    assert all("by" in h["detail"] for h in moves)
    assert [h["user_id"] for h in moves if h["detail"]["to"] == "opportunity"] == [seat.id]

    # Not touches: no first response, no last touch, no second touch, no reply.
    contact = detail["contact"]
    assert contact["first_response_at"] is None and contact["last_touch_at"] is None
    report = await call(client, "pipeline_report")
    assert report["speed_to_lead"]["responded"] == 0 and report["second_touch"]["touched"] == 0
    qualified = await call(client, "qualify_lead", {"contact_id": contact_id})
    reasons = {r["factor"]: r for r in qualified["reasons"]}
    assert reasons["replied"]["points"] == 0 and reasons["engagement_recency"]["points"] == 0
    draft = await call(client, "draft_followup", {"contact_id": contact_id})
    assert draft["first_touch"] is True and "Stage" not in draft["text"]
    assert await _counter_rows(settings.database_url) == await _recount(settings.database_url)


@pytest.mark.parametrize("counting", ["read_back", "from_values"])
async def test_counters_of_a_bulk_insert_match_a_recount_when_rows_share_or_differ_in_facts(
    client, clock, settings, counting
):
    # count_inserted (the counters of a Core insert, as imports do) must equal a recount, whatever the facts.
    from sqlalchemy import insert

    from lead_mcp.db import aggregates
    from lead_mcp.db.tables import ContactRow, new_id

    referrer = await call(client, "add_contact", {"full_name": "Referrer", "email": "ref@example.org"})
    rng = random.Random(11)
    now = clock.now()
    rows = []
    for n in range(300):
        created = now - timedelta(days=rng.choice([0, 0, 0, 1, 40]), minutes=rng.choice([0, 0, 7]))
        rows.append(
            {
                "workspace_id": LOCAL_WORKSPACE_ID,
                "id": new_id(),
                "full_name": f"Bulk {n}",
                "source": rng.choice(["import", "import", "event", "referral"]),
                "stage": rng.choice(["lead", "lead", "contacted", "customer"]),
                "furthest_stage": rng.choice(["lead", "customer"]),
                "outbound_touches": rng.choice([0, 0, 1, 2]),
                "first_response_at": rng.choice([None, created + timedelta(minutes=3)]),
                "deleted_at": rng.choice([None, None, None, created + timedelta(minutes=9)]),
                "referred_by_id": rng.choice([None, referrer["contact"]["id"]]),
                "created_at": created,
                "updated_at": created,
                "emails": [],
                "phones": [],
                "tags": [],
                "search_text": "",
            }
        )
    db = Database(settings.database_url)
    try:
        async with db.transaction(workspace_id=LOCAL_WORKSPACE_ID, write=True) as session:
            table = ContactRow.__table__
            result = await session.execute(insert(table).returning(table.c.pk), rows)
            pks = [row[0] for row in result]
            if counting == "read_back":
                await session.run_sync(
                    lambda sync: aggregates.count_inserted(sync.connection(), LOCAL_WORKSPACE_ID, pks)
                )
            else:  # the import's way: counted from the parameter sets, no read-back
                await session.run_sync(
                    lambda sync: aggregates.count_values(sync.connection(), [(row, 1) for row in rows])
                )
    finally:
        await db.dispose()
    counted = await _counter_rows(settings.database_url)
    live = 1 + sum(row["deleted_at"] is None for row in rows)
    assert 1 < live < 301
    assert sum(row[-3] for row in counted["pipeline_counts"] if row[1] == "a") == live
    assert counted == await _recount(settings.database_url)
