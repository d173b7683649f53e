"""Hostile and odd input to the CRM core through the SDK client: dates, unknown arguments, keys, cursors."""

from __future__ import annotations

import base64
import json

import pytest

from lead_mcp.db.engine import create_engine_unpooled
from mcp import Client
from tests.helpers import call, call_error
from tests.invariants import store_violations

# Years a typo makes (0001, 9999) used to overflow converting to UTC: a crash, "Error executing tool".
OUT_OF_RANGE_DATES = [
    "0001-01-01",
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31",
    "9999-12-31T23:59:59-05:00",
    "1850-06-01",
]


@pytest.mark.parametrize("due", OUT_OF_RANGE_DATES)
async def test_schedule_followup_refuses_dates_out_of_range_naming_due(client: Client, due: str) -> None:
    ana = (await call(client, "add_contact", {"full_name": "Ana Souza"}))["contact"]
    text = await call_error(client, "schedule_followup", {"contact_id": ana["id"], "due": due})
    assert "due:" in text and "1900 to 2999" in text
    after = await call(client, "get_contact", {"contact_id": ana["id"]})
    assert [f["due_at"] for f in after["followups"]] == ["2026-03-10T15:00:00Z"]  # untouched


async def test_other_date_arguments_refuse_out_of_range_years_naming_the_argument(client: Client) -> None:
    ana = (await call(client, "add_contact", {"full_name": "Ana Souza"}))["contact"]
    for value in ("0001-01-01T00:00:00", "9999-12-31T23:59:59-05:00"):
        text = await call_error(
            client,
            "log_interaction",
            {"contact_id": ana["id"], "kind": "call", "summary": "hi", "occurred_at": value},
        )
        assert "occurred_at:" in text and "1900" in text
        assert "since:" in await call_error(client, "pipeline_report", {"since": value})
        assert "until:" in await call_error(client, "pipeline_report", {"until": value})
    assert "until:" in await call_error(client, "pipeline_report", {"until": "9999-12-31"})


async def test_basic_format_dates_mean_the_same_as_extended_ones(client: Client) -> None:
    ana = (await call(client, "add_contact", {"full_name": "Ana Souza"}))["contact"]
    seen = {}
    for due in ("2026-12-02", "20261202", "2026-W49-3", "2026-12-02T09:30", "20261202T0930"):
        followup = await call(client, "schedule_followup", {"contact_id": ana["id"], "due": due})
        seen[due] = followup["due_at"]
    # A date alone is due 09:00 local (Berlin, UTC+1 in December), in every spelling.
    assert seen["2026-12-02"] == seen["20261202"] == seen["2026-W49-3"] == "2026-12-02T08:00:00Z"
    assert seen["2026-12-02T09:30"] == seen["20261202T0930"] == "2026-12-02T08:30:00Z"
    text = await call_error(client, "schedule_followup", {"contact_id": ana["id"], "due": "2026-336"})
    assert "due:" in text and "20261201" in text  # the message shows the forms that work


async def test_a_bare_basic_format_until_covers_that_whole_day(client: Client) -> None:
    await call(client, "add_contact", {"full_name": "Ana Souza"})  # created 2026-03-10 16:00 Berlin
    extended = await call(client, "pipeline_report", {"since": "2026-03-10", "until": "2026-03-10"})
    basic = await call(client, "pipeline_report", {"since": "20260310", "until": "20260310"})
    assert extended["contacts"] == basic["contacts"] == 1


async def test_an_argument_the_tool_does_not_take_is_refused_naming_it_and_nothing_is_written(
    client: Client,
) -> None:
    # A misspelt argument (follow_up_days for follow_up_in_days) used to be dropped silently.
    text = await call_error(client, "add_contact", {"full_name": "Ana Souza", "follow_up_days": 3})
    assert "follow_up_days: is not an argument of add_contact" in text and "follow_up_in_days" in text
    assert (await call(client, "search_contacts", {}))["items"] == []
    # Together with a schema problem, both are named in one answer.
    text = await call_error(client, "search_contacts", {"limit": 0, "qeury": "ana"})
    assert "qeury:" in text and "limit:" in text
    # A tool without arguments refuses any.
    assert "whoami (it takes no arguments)" in await call_error(client, "whoami", {"verbose": True})


# -- normalization keys ---------------------------------------------------------------------------


async def test_an_emoji_zwj_sequence_in_a_name_is_kept_whole_and_the_name_still_found(client: Client) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one glyph: man, woman, girl joined by ZWJ
    added = await call(client, "add_contact", {"full_name": f"{family} Souza", "company": "Emoji Co"})
    assert added["contact"]["full_name"] == f"{family} Souza"  # the joiners used to be stripped
    found = await call(client, "search_contacts", {"query": "souza"})
    assert [c["id"] for c in found["items"]] == [added["contact"]["id"]]
    again = await call(client, "add_contact", {"full_name": f"{family} Souza", "company": "Emoji Co"})
    assert again["created"] is False


async def test_zero_width_characters_do_not_split_names_or_emails_and_case_folds_fully(
    client: Client,
) -> None:
    ana = await call(
        client, "add_contact", {"full_name": "Ana Souza", "company": "Fintech", "email": "ab@x.io"}
    )
    for variant in (
        {"full_name": "Ana\u200b Souza", "company": "Fintech"},
        {"full_name": "A\u200dna Sou\u2060za", "company": "FINTECH"},
        {"full_name": "ANA SOUZA", "company": "fintech"},
        {"email": "a\u200bb@x.io"},  # copied from a chat with a zero-width space: was refused
        {"email": "\ufeffAB@X.IO"},
    ):
        merged = await call(client, "add_contact", variant)
        assert merged["created"] is False and merged["contact"]["id"] == ana["contact"]["id"], variant
    strasse = await call(client, "add_contact", {"full_name": "Jörg Straße", "company": "Bau"})
    again = await call(client, "add_contact", {"full_name": "JÖRG STRASSE", "company": "BAU"})
    assert again["created"] is False
    assert strasse["created"] is True


async def test_letters_nfkd_keeps_whole_fold_as_typed_for_keys_and_search(client: Client) -> None:
    soren = await call(client, "add_contact", {"full_name": "Søren Kierkegaard", "company": "Łódź Æsir"})
    same = await call(client, "add_contact", {"full_name": "Soren Kierkegaard", "company": "Lodz Aesir"})
    assert same["created"] is False and same["contact"]["id"] == soren["contact"]["id"]
    for query in ("Soren", "søren", "lodz", "aesir"):
        found = await call(client, "search_contacts", {"query": query})
        assert [c["id"] for c in found["items"]] == [soren["contact"]["id"]], query


async def test_a_long_name_and_company_are_stored_and_de_duplicated_on_both_databases(client: Client) -> None:
    # 300 + 300 characters fold to a key over contact_keys' 400; U+FDFA folds to 18 letters each.
    for name, company in (("Ana " + "x" * 290, "y" * 300), ("\ufdfa" * 300, "\ufdfa" * 300)):
        first = await call(client, "add_contact", {"full_name": name, "company": company})
        second = await call(client, "add_contact", {"full_name": name, "company": company})
        assert first["created"] is True  # PostgreSQL refused it: "the store refused this change"
        assert second["created"] is False and second["contact"]["id"] == first["contact"]["id"]
    other = await call(client, "add_contact", {"full_name": "Ana " + "x" * 290, "company": "y" * 299 + "z"})
    assert other["created"] is True  # same head, different tail: a different key


# -- database errors ------------------------------------------------------------------------------


async def test_a_database_error_reaches_the_client_as_one_clear_line(
    client: Client, database_url: str
) -> None:
    """A statement the database refuses: our one line, never its words, the SQL or a traceback."""
    engine = create_engine_unpooled(database_url)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                await conn.exec_driver_sql(
                    "CREATE TRIGGER boom BEFORE INSERT ON contacts "
                    "BEGIN SELECT RAISE(ABORT, 'secret-db-detail'); END"
                )
            else:
                await conn.exec_driver_sql(
                    "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'secret-db-detail'; END $$"
                )
                await conn.exec_driver_sql(
                    "CREATE TRIGGER boom BEFORE INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION boom()"
                )
    finally:
        await engine.dispose()
    text = await call_error(client, "add_contact", {"full_name": "Ana Souza"})
    assert "nothing was saved" in text and "\n" not in text
    for leaked in ("secret-db-detail", "INSERT", "contacts", "Traceback", "sqlalchemy", "sqlite3", "asyncpg"):
        assert leaked not in text
    assert (await call(client, "search_contacts", {}))["items"] == []  # and the server answers on


# -- cursors --------------------------------------------------------------------------------------


def _forged(payload: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def test_cursors_page_through_and_any_edited_or_made_up_cursor_is_refused_naming_cursor(
    client: Client,
) -> None:
    for name in ("Ana Souza", "Bo Berg", "Cy Chen"):
        await call(client, "add_contact", {"full_name": name})
    seen: list[str] = []
    cursor = None
    while True:
        page = await call(client, "search_contacts", {"limit": 1, **({"cursor": cursor} if cursor else {})})
        seen += [c["full_name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
        last_cursor = cursor
    assert sorted(seen) == ["Ana Souza", "Bo Berg", "Cy Chen"]
    due = (await call(client, "list_due_followups", {"limit": 1}))["next_cursor"]
    assert due
    body, _, mac = last_cursor.partition(".")
    edited = [
        # Values that used to reach the query: an integer too big for SQLite (a crash) or for
        # PostgreSQL ("the store refused this change"), a boolean, a naive or absurd due time.
        _forged({"k": "contacts", "pk": 10**30}),
        _forged({"k": "contacts", "pk": True}) + "." + mac,
        _forged({"k": "contacts", "pk": 2**63}) + "." + mac,
        body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac,  # one character changed
        body + "." + mac[:-1],
        body,  # the signature dropped
        due,  # another list's cursor
    ]
    for bad in edited:
        text = await call_error(client, "search_contacts", {"cursor": bad})
        assert "cursor: is not a cursor from this list" in text, bad
    for payload in (
        {"k": "due", "d": "2026-03-10T00:00:00+00:00", "s": 10**30, "i": "x"},
        {"k": "due", "d": "9999-12-31T23:59:59-05:00", "s": 1, "i": "x"},
        {"k": "due", "d": "2026-03-10T00:00:00", "s": 1, "i": "x"},
    ):
        text = await call_error(client, "list_due_followups", {"cursor": _forged(payload)})
        assert "cursor:" in text


# -- undo_merge and the name+company key ----------------------------------------------------------


async def test_after_undoing_a_merge_the_name_key_passes_to_the_split_off_when_the_original_goes(
    client: Client, database_url: str
) -> None:
    ana = (
        await call(client, "add_contact", {"full_name": "Ana Souza", "company": "Fintech", "email": "a@x.io"})
    )["contact"]
    # Merged by name+company, then undone: the phone becomes a second Ana Souza at Fintech.
    await call(
        client, "add_contact", {"full_name": "Ana Souza", "company": "Fintech", "phone": "+1 415 555 0101"}
    )
    undone = await call(client, "undo_merge", {"contact_id": ana["id"]})
    split = undone["split_contact"]
    assert split and split["phones"] == ["+14155550101"] and undone["contact"]["phones"] == []
    # The original keeps the key: capturing Ana Souza at Fintech again merges into it.
    again = await call(
        client, "add_contact", {"full_name": "Ana Souza", "company": "Fintech", "title": "CEO"}
    )
    assert again["contact"]["id"] == ana["id"]
    await call(client, "delete_contact", {"contact_id": ana["id"], "confirm": True})
    # With the original gone the split-off holds the key (it used to be left without: a third contact).
    later = await call(
        client, "add_contact", {"full_name": "ANA SOUZA", "company": "Fintech Inc", "title": "CFO"}
    )
    assert later["created"] is False and later["contact"]["id"] == split["id"]
    assert await store_violations(database_url) == []


async def test_an_import_cell_longer_than_its_column_is_cut_with_a_warning_not_a_failed_import(
    client: Client,
) -> None:
    # On PostgreSQL the first such cell stopped the whole import ("the store failed (DBAPIError)").
    csv = (
        "Name,Company,Title,Email\n"
        f"{'Nina ' * 80},Acme,CEO,a@x.io\n"
        f"Ok Name,{'C' * 400},CTO,b@x.io\n"
        f"Ann Lee,Co,{'T' * 400},c@x.io\n"
    )
    done = await call(client, "import_contacts", {"content": csv})
    assert done["created"] == 3 and done["errors"] == []
    reasons = [w["reason"] for w in done["warnings"]]
    assert "full_name cut to 300 characters (it had 399)" in reasons
    assert "company cut to 300 characters (it had 400)" in reasons
    assert "title cut to 300 characters (it had 400)" in reasons
    vcard = f"BEGIN:VCARD\nVERSION:3.0\nN:{'F' * 250};{'G' * 250}\nEMAIL:d@x.io\nEND:VCARD\n"
    assert (await call(client, "import_contacts", {"content": vcard}))["created"] == 1
    found = await call(client, "search_contacts", {"query": "nina"})
    assert len(found["items"][0]["full_name"]) <= 300 and found["items"][0]["full_name"].endswith("Nina")
