"""Results sized for a model's context: none near ~25k tokens, and nothing lost to paging."""

import json

from tests.helpers import call

# ~25k tokens at ~4 characters a token (a generous estimate for JSON): what Claude Code accepts by default.
TOKEN_LIMIT_CHARS = 100_000


def _sizes(result):
    structured = len(json.dumps(result.structured_content, separators=(",", ":")))
    text = sum(len(block.text) for block in result.content)
    return structured, text


async def test_get_contact_on_a_huge_record_stays_within_a_models_context(client):
    contact = (await call(client, "add_contact", {"full_name": "Big Record", "notes": "n" * 20_000}))[
        "contact"
    ]
    for n in range(60):
        await call(
            client,
            "log_interaction",
            {"contact_id": contact["id"], "kind": "email", "summary": f"{n} " + "s" * 19_000},
        )
    for n in range(55):
        await call(
            client,
            "schedule_followup",
            {
                "contact_id": contact["id"],
                "due": f"2026-04-{n % 28 + 1:02d}",
                "note": "x" * 4_900,
                "replace_pending": False,
            },
        )
    result = await client.call_tool("get_contact", {"contact_id": contact["id"]})
    structured, text = _sizes(result)
    assert structured < TOKEN_LIMIT_CHARS and text < TOKEN_LIMIT_CHARS
    detail = result.structured_content
    assert detail["contact"]["notes"] == "n" * 20_000  # the contact's own fields are never cut
    assert detail["interactions_truncated"] is True
    assert detail["interactions"][0]["summary"].endswith(" [...]")
    assert len(detail["interactions"][0]["summary"]) == 2_000


async def test_a_page_of_large_contacts_stops_early_and_the_cursor_brings_the_rest(client):
    ids = set()
    for n in range(30):
        added = await call(client, "add_contact", {"full_name": f"Person {n}"})
        emails = [f"{'a' * 60}.{n}.{k}@{'sub-domain-name.' * 5}mail.com" for k in range(50)]
        await call(client, "update_contact", {"contact_id": added["contact"]["id"], "emails": emails})
        ids.add(added["contact"]["id"])
    seen, cursor, pages = [], None, 0
    while True:
        args = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        result = await client.call_tool("search_contacts", args)
        structured, text = _sizes(result)
        assert structured < TOKEN_LIMIT_CHARS and text < TOKEN_LIMIT_CHARS
        seen += [c["id"] for c in result.structured_content["items"]]
        pages += 1
        cursor = result.structured_content["next_cursor"]
        if not cursor:
            break
    assert pages > 1
    assert len(seen) == len(set(seen)) and set(seen) == ids


async def test_a_page_of_due_follow_ups_with_long_notes_stops_early_and_pages_on(client):
    ids = set()
    for n in range(40):
        contact = (await call(client, "add_contact", {"full_name": f"Due {n}"}))["contact"]
        await call(
            client,
            "schedule_followup",
            {"contact_id": contact["id"], "due": "2026-03-10", "note": "d" * 4_900},
        )
        ids.add(contact["id"])
    seen, cursor, pages = [], None, 0
    while True:
        args = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        result = await client.call_tool("list_due_followups", args)
        structured, text = _sizes(result)
        assert structured < TOKEN_LIMIT_CHARS and text < TOKEN_LIMIT_CHARS
        seen += [i["contact"]["id"] for i in result.structured_content["items"]]
        pages += 1
        cursor = result.structured_content["next_cursor"]
        if not cursor:
            break
    assert pages > 1 and len(seen) == 40 and set(seen) == ids
