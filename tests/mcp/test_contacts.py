"""Contact tools through the MCP client, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from mcp import Client
from tests.helpers import call, call_error

ANA = {
    "full_name": "Ana Souza",
    "email": "Ana.Souza@Fintech.io",
    "phone": "+1 (415) 555-0100",
    "company": "Fintech Inc.",
    "title": "Head of Sales",
    "met_at": "Fintech Meetup Lisbon",
    "tags": ["fintech", "Hot "],
}


async def test_add_contact_normalizes_and_schedules_first_followup_today(client: Client) -> None:
    result = await call(client, "add_contact", ANA)
    contact = result["contact"]
    assert result["created"] is True
    assert contact["emails"] == ["ana.souza@fintech.io"]
    assert contact["phones"] == ["+14155550100"]
    assert contact["given_name"] == "Ana" and contact["family_name"] == "Souza"
    assert contact["tags"] == ["fintech", "hot"]
    assert contact["source"] == "manual" and contact["stage"] == "lead"
    uuid.UUID(contact["id"])  # opaque UUID ids
    assert result["followup"]["status"] == "pending"
    assert result["followup"]["due_at"] == contact["created_at"]  # speed-to-lead: due right away
    due = await call(client, "list_due_followups", {})
    assert [item["contact"]["id"] for item in due["items"]] == [contact["id"]]


async def test_add_contact_merges_duplicate_email(client: Client) -> None:
    first = await call(client, "add_contact", ANA)
    second = await call(
        client,
        "add_contact",
        {
            "full_name": "Ana S.",
            "email": "ana.souza@FINTECH.io",
            "phone": "+351 912 345 678",
            "title": "VP Sales",
            "website": "https://fintech.io/",
            "notes": "Asked about the API.",
            "tags": ["lisbon"],
        },
    )
    assert second["created"] is False
    assert second["duplicate_of"] == first["contact"]["id"]
    merged = second["contact"]
    assert merged["phones"] == ["+14155550100", "+351912345678"]  # lists unioned
    assert merged["website"] == "fintech.io"  # empty field filled
    assert merged["title"] == "Head of Sales"  # filled field kept...
    assert second["kept_values"]["title"] == "VP Sales"  # ...and the differing value reported
    assert merged["full_name"] == "Ana Souza"
    assert merged["tags"] == ["fintech", "hot", "lisbon"]
    assert merged["notes"] == "Asked about the API."
    assert second["followup"] is None  # she already has a pending follow-up
    detail = await call(client, "get_contact", {"contact_id": merged["id"]})
    merge_entry = next(h for h in detail["history"] if h["action"] == "merged")
    assert merge_entry["detail"]["kept"]["title"] == "VP Sales"
    assert merge_entry["detail"]["matched_on"] == "email"
    page = await call(client, "search_contacts", {})
    assert len(page["items"]) == 1


async def test_add_contact_merges_on_phone_and_on_name_at_same_company(client: Client) -> None:
    first = await call(client, "add_contact", {"full_name": "Tom Berg", "phone": "415-555-0199"})
    by_phone = await call(client, "add_contact", {"full_name": "Thomas Berg", "phone": "+14155550199"})
    assert by_phone["duplicate_of"] == first["contact"]["id"]

    lee = await call(client, "add_contact", {"full_name": "Dr. Mei Lee", "company": "Acme Inc"})
    by_name = await call(
        client, "add_contact", {"full_name": "Lee Mei", "company": "ACME", "email": "mei@acme.com"}
    )
    assert by_name["duplicate_of"] == lee["contact"]["id"]
    assert by_name["contact"]["emails"] == ["mei@acme.com"]

    other_company = await call(client, "add_contact", {"full_name": "Mei Lee", "company": "Globex"})
    assert other_company["created"] is True


async def test_add_contact_needs_a_name_email_or_phone_and_writes_nothing_otherwise(client: Client) -> None:
    text = await call_error(client, "add_contact", {"company": "Acme", "title": "CEO"})
    assert "full_name" in text and "email" in text
    assert (await call(client, "search_contacts", {}))["items"] == []
    assert (await call(client, "list_due_followups", {}))["items"] == []


async def test_add_contact_rejects_bad_values_naming_the_field(client: Client) -> None:
    cases = {
        "email": ({"full_name": "X", "email": "not-an-email"}, "email"),
        "phone": ({"full_name": "X", "phone": "call me"}, "phone"),
        "short phone": ({"full_name": "X", "phone": "+1 23"}, "phone"),
        "website": ({"full_name": "X", "website": "not a site"}, "website"),
        "source": ({"full_name": "X", "source": "billboard"}, "source"),
        "type": ({"full_name": 42}, "full_name"),
        "days": ({"full_name": "X", "follow_up_in_days": -1}, "follow_up_in_days"),
        "referrer": ({"full_name": "X", "referred_by": str(uuid.uuid4())}, "referred_by"),
        "oversized": ({"full_name": "X" * 5000}, "full_name"),
        "too many tags": ({"full_name": "X", "tags": [f"t{i}" for i in range(80)]}, "tags"),
    }
    for label, (arguments, field) in cases.items():
        text = await call_error(client, "add_contact", arguments)
        assert field in text, f"{label}: {text}"
    assert (await call(client, "search_contacts", {}))["items"] == []


async def test_referral_links_to_an_existing_contact(client: Client) -> None:
    tom = await call(client, "add_contact", {"full_name": "Tom Referrer", "email": "tom@ref.io"})
    ana = await call(
        client,
        "add_contact",
        {"full_name": "Ana", "email": "ana@x.io", "source": "referral", "referred_by": tom["contact"]["id"]},
    )
    assert ana["contact"]["referred_by"] == tom["contact"]["id"]
    assert ana["contact"]["source"] == "referral"


async def test_get_contact_unknown_id_says_how_to_find_one(client: Client) -> None:
    for bad in (str(uuid.uuid4()), "42", "' OR 1=1 --"):
        text = await call_error(client, "get_contact", {"contact_id": bad})
        assert "contact_id" in text and "search_contacts" in text
    await call_error(client, "get_contact", {})


async def test_update_contact_changes_fields_and_keeps_history(client: Client) -> None:
    ana = (await call(client, "add_contact", ANA))["contact"]
    detail = await call(
        client,
        "update_contact",
        {
            "contact_id": ana["id"],
            "title": "COO",
            "emails": ["ana@fintech.io", "ana@home.org"],
            "stage": "sql",
            "address": "",
        },
    )
    contact = detail["contact"]
    assert contact["title"] == "COO" and contact["stage"] == "sql"
    assert contact["emails"] == ["ana@fintech.io", "ana@home.org"]
    change = next(h for h in detail["history"] if h["action"] == "updated")
    assert change["detail"]["fields"]["title"] == {"old": "Head of Sales", "new": "COO"}
    # The old address key is released and the new ones found by search and de-duplication.
    assert (await call(client, "search_contacts", {"query": "ana.souza@fintech.io"}))["items"] == []
    assert len((await call(client, "search_contacts", {"query": "home.org"}))["items"]) == 1
    again = await call(client, "add_contact", {"email": "ana@home.org"})
    assert again["duplicate_of"] == ana["id"]


async def test_update_contact_refuses_an_email_owned_by_another_contact(client: Client) -> None:
    ana = (await call(client, "add_contact", ANA))["contact"]
    await call(client, "add_contact", {"full_name": "Bo", "email": "bo@x.io"})
    text = await call_error(client, "update_contact", {"contact_id": ana["id"], "emails": ["bo@x.io"]})
    assert "emails" in text and "bo@x.io" in text
    unchanged = await call(client, "get_contact", {"contact_id": ana["id"]})
    assert unchanged["contact"]["emails"] == ["ana.souza@fintech.io"]


async def test_update_contact_with_nothing_to_change_is_an_error(client: Client) -> None:
    ana = (await call(client, "add_contact", ANA))["contact"]
    assert "fields" in await call_error(client, "update_contact", {"contact_id": ana["id"]})
    assert "stage" in await call_error(client, "update_contact", {"contact_id": ana["id"], "stage": "hot"})


async def test_delete_contact_needs_confirmation_then_hides_the_contact(client: Client) -> None:
    ana = (await call(client, "add_contact", ANA))["contact"]
    text = await call_error(client, "delete_contact", {"contact_id": ana["id"]})
    assert "confirm" in text
    assert len((await call(client, "search_contacts", {}))["items"]) == 1
    deleted = await call(client, "delete_contact", {"contact_id": ana["id"], "confirm": True})
    assert {k: deleted[k] for k in ("deleted", "contact_id", "full_name")} == {
        "deleted": True,
        "contact_id": ana["id"],
        "full_name": "Ana Souza",
    }
    assert (await call(client, "search_contacts", {"query": "souza"}))["items"] == []
    assert (await call(client, "list_due_followups", {}))["items"] == []
    assert "contact_id" in await call_error(client, "get_contact", {"contact_id": ana["id"]})
    # Her email is free again: adding it creates a new contact.
    assert (await call(client, "add_contact", {"email": "ana.souza@fintech.io"}))["created"] is True


async def test_search_finds_emails_domains_phones_and_word_starts(client: Client) -> None:
    ana = (await call(client, "add_contact", ANA))["contact"]
    uk = (
        await call(
            client,
            "add_contact",
            {"full_name": "José Müller-Öz", "email": "jose@shop.example.co.uk", "phone": "+44 20 7946 0958"},
        )
    )["contact"]
    expectations = {
        "ana.souza@fintech.io": [ana["id"]],
        "fintech.io": [ana["id"]],
        "FINTECH": [ana["id"]],
        "+1 415 555 0100": [ana["id"]],
        "(415) 555-0100": [ana["id"]],
        "4155550100": [ana["id"]],
        "sou": [ana["id"]],
        "head sales": [ana["id"]],
        "lisbon": [ana["id"]],
        "example.co.uk": [uk["id"]],
        "jose muller": [uk["id"]],
        "José Müller": [uk["id"]],
        "öz": [uk["id"]],
        "+44 20 7946 0958": [uk["id"]],
        "020 7946 0958": [],  # a UK national number read in the default region (US) is not this one
        "nobody": [],
        '"unbalanced': [],
        "NEAR(ana souza)": [],
        "ana* OR 1": [],
        "%": [],
    }
    for query, ids in expectations.items():
        page = await call(client, "search_contacts", {"query": query})
        assert [c["id"] for c in page["items"]] == ids, query


async def test_search_filters_and_paginates_with_cursors(client: Client) -> None:
    ids = []
    for i in range(7):
        added = await call(
            client,
            "add_contact",
            {
                "full_name": f"Person {i}",
                "email": f"p{i}@acme.com",
                "tags": ["even" if i % 2 == 0 else "odd"],
            },
        )
        ids.append(added["contact"]["id"])
    await call(client, "update_contact", {"contact_id": ids[3], "stage": "customer"})

    seen: list[str] = []
    cursor = None
    while True:
        args = {"query": "acme.com", "limit": 3}
        if cursor:
            args["cursor"] = cursor
        page = await call(client, "search_contacts", args)
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, no gaps, no repeats

    evens = await call(client, "search_contacts", {"tag": "EVEN", "limit": 2})
    assert [c["id"] for c in evens["items"]] == [ids[6], ids[4]]
    rest = await call(client, "search_contacts", {"tag": "even", "limit": 2, "cursor": evens["next_cursor"]})
    assert [c["id"] for c in rest["items"]] == [ids[2], ids[0]]
    customers = await call(client, "search_contacts", {"stage": "customer"})
    assert [c["id"] for c in customers["items"]] == [ids[3]]
    assert (await call(client, "search_contacts", {"source": "card_scan"}))["items"] == []
    summary = customers["items"][0]
    assert set(summary) == {
        "id",
        "full_name",
        "company",
        "title",
        "emails",
        "phones",
        "stage",
        "source",
        "score",
        "next_followup_at",
    }


async def test_search_rejects_bad_limits_and_foreign_cursors(client: Client) -> None:
    for limit in (0, -1, 201, "ten"):
        assert "limit" in await call_error(client, "search_contacts", {"limit": limit})
    assert "cursor" in await call_error(client, "search_contacts", {"cursor": "garbage!!"})
    due_cursor_like = "eyJrIjoiZHVlIn0"  # a cursor of another list
    assert "cursor" in await call_error(client, "search_contacts", {"cursor": due_cursor_like})


async def test_log_interaction_first_outbound_sets_first_response(client: Client, clock) -> None:
    from datetime import timedelta

    ana = (await call(client, "add_contact", ANA))["contact"]
    inbound = await call(
        client,
        "log_interaction",
        {"contact_id": ana["id"], "kind": "email", "summary": "She wrote", "direction": "inbound"},
    )
    assert inbound["first_response_at"] is None
    clock.advance(timedelta(minutes=4))
    outbound = await call(
        client, "log_interaction", {"contact_id": ana["id"], "kind": "call", "summary": "Called back"}
    )
    assert outbound["first_response_at"] == outbound["interaction"]["occurred_at"]
    backfill = await call(
        client,
        "log_interaction",
        {
            "contact_id": ana["id"],
            "kind": "meeting",
            "summary": "Met at the booth",
            "occurred_at": "2026-03-09",
        },
    )
    # A back-filled earlier outbound touch becomes the first response.
    assert backfill["first_response_at"].startswith("2026-03-09")
    detail = await call(client, "get_contact", {"contact_id": ana["id"]})
    assert [i["summary"] for i in detail["interactions"]] == ["Called back", "She wrote", "Met at the booth"]


async def test_log_interaction_rejects_bad_input(client: Client) -> None:
    ana = (await call(client, "add_contact", ANA))["contact"]
    base = {"contact_id": ana["id"], "kind": "call", "summary": "x"}
    assert "kind" in await call_error(client, "log_interaction", {**base, "kind": "telepathy"})
    assert "summary" in await call_error(client, "log_interaction", {**base, "summary": ""})
    assert "summary" in await call_error(client, "log_interaction", {**base, "summary": "   "})
    assert "occurred_at" in await call_error(client, "log_interaction", {**base, "occurred_at": "yesterday"})
    assert "occurred_at" in await call_error(client, "log_interaction", {**base, "occurred_at": "2099-01-01"})
    assert "direction" in await call_error(client, "log_interaction", {**base, "direction": "sideways"})
    assert "contact_id" in await call_error(
        client, "log_interaction", {**base, "contact_id": str(uuid.uuid4())}
    )
    detail = await call(client, "get_contact", {"contact_id": ana["id"]})
    assert detail["interactions"] == []


async def test_unicode_and_control_characters_survive_or_are_cleaned(client: Client) -> None:
    added = await call(
        client,
        "add_contact",
        {"full_name": "李小龍 🐉", "notes": "line one\nline two\x00\x07 end", "company": "株式会社テスト"},
    )
    contact = added["contact"]
    assert contact["full_name"] == "李小龍 🐉"
    assert contact["notes"] == "line one\nline two end"
    found = await call(client, "search_contacts", {"query": "株式会社テスト"})
    assert [c["id"] for c in found["items"]] == [contact["id"]]


async def test_a_new_contact_is_stored_whole_in_one_pass(client: Client, settings) -> None:
    """add_contact writes a new lead with Core inserts: every trace the other tools read must be there."""
    from sqlalchemy import func, select

    from lead_mcp.db.engine import Database
    from lead_mcp.db.tables import ContactKey, ContactRow, ContactTag, PipelineCount
    from lead_mcp.services.workspaces import LOCAL_WORKSPACE_ID

    added = await call(client, "add_contact", {**ANA, "notes": "Asked about the payments API"})
    contact = added["contact"]
    # Stored with its follow-up date (not only returned with it), found by every search route.
    assert contact["next_followup_at"] == added["followup"]["due_at"]
    fetched = (await call(client, "get_contact", {"contact_id": contact["id"]}))["contact"]
    assert fetched == contact
    for query in ("souza", "fintech.io", "+1 415 555 0100", "payments api", "lisbon"):
        found = await call(client, "search_contacts", {"query": query})
        assert [c["id"] for c in found["items"]] == [contact["id"]], query
    by_tag = await call(client, "search_contacts", {"tag": "hot"})
    assert [c["id"] for c in by_tag["items"]] == [contact["id"]]
    history = (await call(client, "get_contact", {"contact_id": contact["id"]}))["history"]
    assert [(h["action"], h["detail"]["source"]) for h in history] == [("created", "manual")]
    assert "emails" in history[0]["detail"]["fields"] and "tags" in history[0]["detail"]["fields"]
    report = await call(client, "pipeline_report", {})
    assert report["contacts"] == 1 and report["by_source"]["manual"] == 1, report

    db = Database(settings.database_url)
    try:
        async with db.transaction(workspace_id=LOCAL_WORKSPACE_ID, write=False) as session:
            keys = (await session.execute(select(ContactKey.kind, ContactKey.value))).all()
            tags = (await session.execute(select(ContactTag.tag).order_by(ContactTag.tag))).scalars().all()
            row = (await session.execute(select(ContactRow))).scalar_one()
            count = (await session.execute(select(func.count()).select_from(ContactRow))).scalar_one()
            counters = (
                await session.execute(
                    select(
                        PipelineCount.grain, PipelineCount.source, PipelineCount.stage, PipelineCount.contacts
                    )
                )
            ).all()
    finally:
        await db.dispose()
    assert {k for k, _ in keys} == {"email", "name", "phone"}
    assert ("email", "ana.souza@fintech.io") in keys and ("phone", "+14155550100") in keys
    # The pipeline counters (no flush listener sees a Core insert): one lead per day, month, all time.
    assert sorted(counters) == [(grain, "manual", "lead", 1) for grain in ("a", "d", "m")]
    assert tags == ["fintech", "hot"]
    assert count == 1 and row.furthest_stage == "lead" and row.outbound_touches == 0
    assert row.search_text and "souza" in row.search_text

    # The same person again merges into the stored row: its keys were written.
    again = await call(client, "add_contact", {"email": "ana.souza@fintech.io", "title": "COO"})
    assert again["created"] is False and again["duplicate_of"] == contact["id"]
    assert again["followup"] is None  # the first follow-up is still pending
