"""Safety and privacy: soft delete everywhere, restore, erasure, consent withdrawal, merge undo."""

from datetime import timedelta

from mcp_types import PromptReference
from sqlalchemy import text

from lead_mcp.db.engine import Database
from tests.helpers import call, call_error

ANA = {"full_name": "Ana Souza", "email": "ana@fintech.io", "phone": "+1 415 555 0100", "tags": ["vip"]}


async def _rows_about(database_url: str, contact_id: str) -> dict[str, int]:
    """How many rows of each table still mention a contact (read straight from the store)."""
    db = Database(database_url)
    counts = {}
    try:
        async with db.transaction(all_workspaces=True, write=False) as session:
            for table in ("contacts", "interactions", "followups", "contact_changes", "contact_keys"):
                column = "id" if table == "contacts" else "contact_id"
                counts[table] = (
                    await session.execute(
                        text(f"SELECT count(*) FROM {table} WHERE {column} = :id"), {"id": contact_id}
                    )
                ).scalar_one()
    finally:
        await db.dispose()
    return counts


async def test_a_deleted_contact_disappears_from_every_tool_and_restore_brings_it_back(client, clock):
    ana = (await call(client, "add_contact", ANA))["contact"]
    assert len((await call(client, "list_due_followups"))["items"]) == 1
    clock.advance(timedelta(minutes=10))

    deleted = await call(client, "delete_contact", {"contact_id": ana["id"], "confirm": True})
    assert deleted["deleted"] is True and deleted["erased"] is False
    assert deleted["restorable_until"].startswith("2026-04-09")

    gone = await call_error(client, "get_contact", {"contact_id": ana["id"]})
    assert "was deleted" in gone and "restore_contact" in gone
    assert (await call(client, "search_contacts", {"query": "ana"}))["items"] == []
    assert (await call(client, "search_contacts", {"tag": "vip"}))["items"] == []
    assert (await call(client, "list_due_followups", {"within_days": 30}))["items"] == []
    assert (await call(client, "search", {"query": "souza"}))["results"] == []
    assert "was deleted" in await call_error(client, "fetch", {"id": ana["id"]})
    due = await client.read_resource("lead://followups/due")
    assert '"items": []' in due.contents[0].text
    offered = await client.complete(
        PromptReference(name="follow_up_email"), {"name": "contact_id", "value": "ana"}
    )
    assert offered.completion.values == []
    dry = await call(client, "bulk_update", {"tag": "vip", "add_tags": ["x"]})
    assert dry["matched"] == 0

    clock.advance(timedelta(days=29))
    restored = await call(client, "restore_contact", {"contact_id": ana["id"]})
    assert restored["contact"]["emails"] == ["ana@fintech.io"]
    assert restored["restored_followups"] == 1
    assert restored["clashes"] == []
    assert [c["id"] for c in (await call(client, "search_contacts", {"tag": "vip"}))["items"]] == [ana["id"]]
    due_again = await call(client, "list_due_followups")
    assert [item["contact"]["id"] for item in due_again["items"]] == [ana["id"]]
    history = [h["action"] for h in (await call(client, "get_contact", {"contact_id": ana["id"]}))["history"]]
    assert history[:2] == ["restored", "deleted"]
    # The keys are claimed again: the same email merges into her instead of making a second Ana.
    again = await call(client, "add_contact", {"email": "ana@fintech.io"})
    assert again["created"] is False and again["duplicate_of"] == ana["id"]


async def test_restore_reports_an_email_another_contact_took_meanwhile(client, clock):
    ana = (await call(client, "add_contact", ANA))["contact"]
    await call(client, "delete_contact", {"contact_id": ana["id"], "confirm": True})
    clock.advance(timedelta(days=1))
    newcomer = (await call(client, "add_contact", {"full_name": "Ana S.", "email": "ana@fintech.io"}))[
        "contact"
    ]
    assert newcomer["id"] != ana["id"]

    restored = await call(client, "restore_contact", {"contact_id": ana["id"]})
    assert restored["clashes"] == [
        {"field": "emails", "value": "ana@fintech.io", "other_contact_id": newcomer["id"]}
    ]
    assert restored["contact"]["emails"] == []
    assert restored["contact"]["phones"] == ["+14155550100"]
    detail = await call(client, "get_contact", {"contact_id": ana["id"]})
    assert detail["history"][0]["detail"]["removed"] == {"emails": ["ana@fintech.io"]}
    # The email still leads to the contact that holds it now.
    assert (await call(client, "add_contact", {"email": "ana@fintech.io"}))["duplicate_of"] == newcomer["id"]


async def test_restore_is_refused_after_the_retention_window_and_the_next_delete_purges(client, clock):
    ana = (await call(client, "add_contact", ANA))["contact"]
    tom = (await call(client, "add_contact", {"full_name": "Tom Weber"}))["contact"]
    await call(client, "delete_contact", {"contact_id": ana["id"], "confirm": True})
    clock.advance(timedelta(days=31))
    late = await call_error(client, "restore_contact", {"contact_id": ana["id"]})
    assert "more than 30 days ago" in late
    await call(client, "delete_contact", {"contact_id": tom["id"], "confirm": True})
    purged = await call_error(client, "restore_contact", {"contact_id": ana["id"]})
    assert "no contact" in purged


async def test_erase_removes_the_contact_and_its_whole_history_for_good(client, settings):
    ana = (await call(client, "add_contact", ANA))["contact"]
    await call(
        client, "log_interaction", {"contact_id": ana["id"], "kind": "call", "summary": "Asked about pricing"}
    )
    referred = (await call(client, "add_contact", {"full_name": "Tom Weber", "referred_by": ana["id"]}))[
        "contact"
    ]
    assert (await _rows_about(settings.database_url, ana["id"]))["interactions"] == 1

    erased = await call(client, "delete_contact", {"contact_id": ana["id"], "erase": True, "confirm": True})
    assert erased["erased"] is True and erased["restorable_until"] is None
    assert await _rows_about(settings.database_url, ana["id"]) == {
        "contacts": 0,
        "interactions": 0,
        "followups": 0,
        "contact_changes": 0,
        "contact_keys": 0,
    }
    assert "no contact" in await call_error(client, "get_contact", {"contact_id": ana["id"]})
    assert "no contact" in await call_error(client, "restore_contact", {"contact_id": ana["id"]})
    assert (await call(client, "get_contact", {"contact_id": referred["id"]}))["contact"][
        "referred_by"
    ] is None
    # The email is free: adding it again makes a new person.
    assert (await call(client, "add_contact", {"email": "ana@fintech.io"}))["created"] is True


async def test_erase_also_removes_a_contact_that_was_deleted_before(client, settings):
    ana = (await call(client, "add_contact", ANA))["contact"]
    await call(client, "delete_contact", {"contact_id": ana["id"], "confirm": True})
    erased = await call(client, "delete_contact", {"contact_id": ana["id"], "erase": True, "confirm": True})
    assert erased["erased"] is True
    assert (await _rows_about(settings.database_url, ana["id"]))["contacts"] == 0


async def test_withdrawing_consent_cancels_follow_ups_and_stops_new_ones(client, clock):
    ana = (await call(client, "add_contact", ANA))["contact"]
    clock.advance(timedelta(hours=1))
    result = await call(
        client, "withdraw_consent", {"contact_id": ana["id"], "note": "Replied: please stop emailing me"}
    )
    assert result["cancelled_followups"] == 1
    assert result["contact"]["consent"]["withdrawn_at"].startswith("2026-03-10T16:00")
    assert result["contact"]["next_followup_at"] is None
    assert (await call(client, "list_due_followups"))["items"] == []
    # Meeting them again does not schedule a new automatic follow-up.
    again = await call(client, "add_contact", {"email": "ana@fintech.io", "met_at": "Web Summit"})
    assert again["created"] is False and again["followup"] is None
    twice = await call(client, "withdraw_consent", {"contact_id": ana["id"]})
    assert twice["cancelled_followups"] == 0
    history = (await call(client, "get_contact", {"contact_id": ana["id"]}))["history"]
    withdrawn = [h for h in history if h["action"] == "consent_withdrawn"]
    assert withdrawn[0]["detail"]["note"] == "Replied: please stop emailing me"


async def test_a_referrer_who_withdrew_consent_gets_no_automatic_thank_you(client):
    tom = (await call(client, "add_contact", {"full_name": "Tom Referrer", "email": "tom@ref.io"}))["contact"]
    await call(client, "withdraw_consent", {"contact_id": tom["id"], "note": "stop"})
    lee = await call(client, "add_contact", {"full_name": "Lee Lead", "referred_by": tom["id"]})
    booked = await call(client, "qualify_lead", {"contact_id": lee["contact"]["id"], "stage": "opportunity"})
    assert booked["also_scheduled"] == []
    won = await call(client, "qualify_lead", {"contact_id": lee["contact"]["id"], "stage": "customer"})
    assert won["also_scheduled"] == []
    detail = await call(client, "get_contact", {"contact_id": tom["id"]})
    assert [f for f in detail["followups"] if f["status"] == "pending"] == []
    skipped = [h["detail"] for h in detail["history"] if h["action"] == "referral_milestone"]
    assert skipped and all("withdrew consent" in d["thank_you"] for d in skipped)
    # A referrer who did not withdraw is still thanked.
    ria = (await call(client, "add_contact", {"full_name": "Ria Referrer"}))["contact"]
    kim = await call(client, "add_contact", {"full_name": "Kim Lead", "referred_by": ria["id"]})
    thanked = await call(client, "qualify_lead", {"contact_id": kim["contact"]["id"], "stage": "customer"})
    assert [f["contact_id"] for f in thanked["also_scheduled"]] == [ria["id"]]


async def test_completing_a_follow_up_of_a_contact_who_withdrew_consent_schedules_nothing_by_itself(client):
    ana = (await call(client, "add_contact", ANA))["contact"]
    await call(client, "withdraw_consent", {"contact_id": ana["id"]})
    for result in (None, "no_answer", "not_now"):
        # The user's own choice (they asked to be called back once) is still allowed.
        manual = await call(client, "schedule_followup", {"contact_id": ana["id"], "due": "2026-03-10"})
        args = {"followup_id": manual["id"]}
        if result:
            args["result"] = result
        done = await call(client, "complete_followup", args)
        assert done["next_followup"] is None and done["also_scheduled"] == [], result
        assert any("withdrew consent" in e for e in done["effects"]), done["effects"]
    manual = await call(client, "schedule_followup", {"contact_id": ana["id"], "due": "2026-03-10"})
    explicit = await call(
        client,
        "complete_followup",
        {
            "followup_id": manual["id"],
            "next_in_days": 3,
        },
    )
    assert explicit["next_followup"] is not None  # asked for explicitly


async def test_every_merge_is_kept_in_history_even_when_it_only_differed(client, clock):
    ana = (await call(client, "add_contact", {**ANA, "company": "Fintech"}))["contact"]
    clock.advance(timedelta(minutes=1))
    merged = await call(
        client, "add_contact", {"email": "ana@fintech.io", "company": "Fintech Ltd", "source": "card_scan"}
    )
    assert merged["merged_fields"] == []
    entry = (await call(client, "get_contact", {"contact_id": ana["id"]}))["history"][0]
    assert entry["action"] == "merged"
    assert entry["detail"]["matched_on"] == "email"
    assert entry["detail"]["kept"] == {"company": "Fintech Ltd"}
    assert entry["detail"]["source"] == "card_scan"


async def test_undo_merge_takes_back_what_a_wrong_merge_filled_and_splits_off_the_other_person(client, clock):
    john = (
        await call(
            client, "add_contact", {"full_name": "John Smith", "company": "Acme", "email": "john@acme.com"}
        )
    )["contact"]
    clock.advance(timedelta(minutes=1))
    merged = await call(
        client,
        "add_contact",
        {
            "full_name": "John Smith",
            "company": "ACME Inc",
            "email": "jsmith@gmail.com",
            "phone": "+1 415 555 0199",
            "title": "CTO",
            "notes": "Builds robots",
            "tags": ["robotics"],
        },
    )
    assert merged["created"] is False and merged["duplicate_of"] == john["id"]
    assert set(merged["merged_fields"]) >= {"emails", "phones", "title", "notes", "tags"}
    history = (await call(client, "get_contact", {"contact_id": john["id"]}))["history"]
    merge_id = history[0]["id"]
    assert history[0]["action"] == "merged"

    clock.advance(timedelta(minutes=1))
    undone = await call(client, "undo_merge", {"contact_id": john["id"]})
    assert set(undone["reverted"]) == {"emails", "phones", "title", "notes", "tags"}
    assert undone["contact"]["emails"] == ["john@acme.com"]
    assert undone["contact"]["phones"] == [] and undone["contact"]["title"] is None
    assert undone["contact"]["notes"] is None and undone["contact"]["tags"] == []
    split = undone["split_contact"]
    assert split["full_name"] == "John Smith" and split["title"] == "CTO"
    assert split["emails"] == ["jsmith@gmail.com"] and split["phones"] == ["+14155550199"]
    assert split["notes"] == "Builds robots" and split["tags"] == ["robotics"]
    assert [c["id"] for c in (await call(client, "search_contacts", {"query": "jsmith"}))["items"]] == [
        split["id"]
    ]
    assert [c["id"] for c in (await call(client, "search_contacts", {"tag": "robotics"}))["items"]] == [
        split["id"]
    ]
    after = (await call(client, "get_contact", {"contact_id": john["id"]}))["history"][0]
    assert after["action"] == "merge_undone" and after["detail"]["change_id"] == merge_id
    assert "no merge left" in await call_error(client, "undo_merge", {"contact_id": john["id"]})
    assert "already undone" in await call_error(
        client, "undo_merge", {"contact_id": john["id"], "change_id": merge_id}
    )


async def test_undo_merge_leaves_fields_changed_after_the_merge(client, clock):
    ana = (await call(client, "add_contact", {"full_name": "Ana Souza", "email": "ana@fintech.io"}))[
        "contact"
    ]
    clock.advance(timedelta(minutes=1))
    await call(client, "add_contact", {"email": "ana@fintech.io", "title": "CFO", "company": "Fintech"})
    clock.advance(timedelta(minutes=1))
    await call(client, "update_contact", {"contact_id": ana["id"], "title": "CEO"})
    undone = await call(client, "undo_merge", {"contact_id": ana["id"], "split_off": False})
    assert undone["reverted"] == ["company"]
    assert undone["skipped"] == {"title": "changed after the merge; left as it is"}
    assert undone["contact"]["title"] == "CEO" and undone["contact"]["company"] is None
    assert undone["split_contact"] is None
