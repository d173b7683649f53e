"""bulk_update: a dry run counts first, then one transaction changes tags, stage or owner, kept in history."""

from datetime import timedelta

from tests.helpers import call, call_error


async def _leads(client):
    ids = []
    for n in range(5):
        added = await call(
            client,
            "add_contact",
            {
                "full_name": f"Lead {n} Person",
                "company": "Summit Co" if n < 3 else "Other Co",
                "tags": ["websummit"],
            },
        )
        ids.append(added["contact"]["id"])
    return ids


async def test_bulk_update_dry_run_counts_first_and_changes_nothing(client):
    ids = await _leads(client)
    dry = await call(client, "bulk_update", {"query": "summit co", "add_tags": ["hot"], "set_stage": "mql"})
    assert dry["dry_run"] is True
    assert dry["matched"] == 3 and dry["would_change"] == 3 and dry["changed"] == 0
    assert {c["id"] for c in dry["sample"]} == set(ids[:3])
    assert "dry_run=false" in dry["note"]
    assert (await call(client, "search_contacts", {"tag": "hot"}))["items"] == []


async def test_bulk_update_applies_tags_and_stage_in_one_go_and_records_history(client, clock):
    ids = await _leads(client)
    clock.advance(timedelta(minutes=1))
    done = await call(
        client,
        "bulk_update",
        {
            "query": "summit co",
            "add_tags": ["hot"],
            "remove_tags": ["websummit"],
            "set_stage": "mql",
            "dry_run": False,
        },
    )
    assert done["changed"] == 3 and done["matched"] == 3
    hot = await call(client, "search_contacts", {"tag": "hot"})
    assert {c["id"] for c in hot["items"]} == set(ids[:3])
    assert {c["stage"] for c in hot["items"]} == {"mql"}
    assert {c["id"] for c in (await call(client, "search_contacts", {"tag": "websummit"}))["items"]} == set(
        ids[3:]
    )
    assert {c["id"] for c in (await call(client, "search_contacts", {"query": "hot"}))["items"]} == set(
        ids[:3]
    )
    history = (await call(client, "get_contact", {"contact_id": ids[0]}))["history"]
    [entry] = [h for h in history if h["action"] == "bulk_updated"]
    assert entry["detail"]["fields"]["stage"] == {"old": "lead", "new": "mql"}
    [moved] = [h for h in history if h["action"] == "stage_changed"]  # as one stage change records it
    assert moved["detail"] == {"from": "lead", "to": "mql", "by": None, "via": "bulk_update"}
    assert entry["detail"]["fields"]["tags"] == {"old": ["websummit"], "new": ["hot"]}
    # The same call again changes nothing more (idempotent).
    again = await call(
        client,
        "bulk_update",
        {
            "query": "summit co",
            "add_tags": ["hot"],
            "remove_tags": ["websummit"],
            "set_stage": "mql",
            "dry_run": False,
        },
    )
    assert again["matched"] == 3 and again["changed"] == 0


async def test_bulk_update_selects_by_ids_and_filters_together(client):
    ids = await _leads(client)
    done = await call(
        client,
        "bulk_update",
        {"contact_ids": ids[1:4], "tag": "websummit", "set_stage": "sql", "dry_run": False},
    )
    assert done["changed"] == 3
    assert {c["id"] for c in (await call(client, "search_contacts", {"stage": "sql"}))["items"]} == set(
        ids[1:4]
    )


async def test_bulk_update_refuses_no_selection_no_change_and_unknown_owners(client):
    await _leads(client)
    assert "no contacts selected" in await call_error(client, "bulk_update", {"add_tags": ["x"]})
    assert "no change given" in await call_error(client, "bulk_update", {"tag": "websummit"})
    unknown = await call_error(client, "bulk_update", {"tag": "websummit", "set_owner": "nobody@example.com"})
    assert "set_owner" in unknown and "no user" in unknown
    both = await call_error(
        client, "bulk_update", {"tag": "websummit", "add_tags": ["a"], "remove_tags": ["a"]}
    )
    assert "remove_tags" in both


async def test_bulk_update_gives_contacts_to_an_owner_by_email_and_clears_it(client, settings, clock):
    from lead_mcp.db.engine import Database
    from lead_mcp.db.tables import User
    from lead_mcp.services.workspaces import LOCAL_WORKSPACE_ID

    db = Database(settings.database_url)
    try:
        async with db.transaction(all_workspaces=True) as session:
            session.add(
                User(
                    workspace_id=LOCAL_WORKSPACE_ID,
                    email="sam@example.com",
                    name="Sam",
                    created_at=clock.now(),
                )
            )
            await session.flush()
            sam_id = (await session.execute(User.__table__.select())).first().id
    finally:
        await db.dispose()
    ids = await _leads(client)
    given = await call(
        client, "bulk_update", {"contact_ids": ids[:2], "set_owner": "Sam@Example.com", "dry_run": False}
    )
    assert given["changed"] == 2 and given["change"]["owner_id"] == sam_id
    assert (await call(client, "get_contact", {"contact_id": ids[0]}))["contact"]["owner_id"] == sam_id
    cleared = await call(client, "bulk_update", {"contact_ids": ids[:2], "set_owner": "", "dry_run": False})
    assert cleared["changed"] == 2
    assert (await call(client, "get_contact", {"contact_id": ids[0]}))["contact"]["owner_id"] is None
