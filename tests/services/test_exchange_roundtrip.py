"""Round trip: tricky contacts exported as vCard 3.0 and 4.0, read back by ical.js (an independent
parser) field by field, re-imported into a fresh store, and imported twice without duplicates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.domain import Contact, ContactCreate
from lead_mcp.mcp.state import AppState
from lead_mcp.services import contacts
from lead_mcp.services.exchange import ImportSource, export_vcard, import_contacts
from lead_mcp.services.scope import Scope
from tests.exchange_support import ical_parse, props, value

LONG_NOTE = ("Long note: commas, semicolons; backslash \\ and emoji 🚀 — " * 60).strip()

TRICKY = [
    ContactCreate(
        full_name="José Müller-Öz",
        company="Café Ünïcode, S.A.; Lisboa",
        title="Directora, Ventas; EMEA",
        emails=["jose@cafe-unicode.pt", "jose.muller@example.org"],
        phones=["+351 912 345 678", "+49 30 1234567"],
        website="https://www.cafe-unicode.pt/equipe",
        address="Rua Augusta 12, 1100-053 Lisboa; Portugal",
        notes="First line, with comma\nSecond; with semicolon\n"
        "C:\\Users\\jose\\notes.txt\n\nafter a blank line",
        tags=["vip", "lisbon, pt", "fintech"],
    ),
    ContactCreate(
        full_name="山田 太郎",
        company="株式会社テスト",
        title="営業部長",
        emails=["taro@example.jp"],
        phones=["+81 90-1234-5678"],
        notes="日本語のメモ。" * 400,
        tags=["日本"],
    ),
    ContactCreate(
        full_name="Zoë 🚀 Ångström",
        company="Ørsted & Søn",
        emails=["zoe@example.com"],
        notes=LONG_NOTE,
        tags=["emoji 🎉"],
    ),
    ContactCreate(phones=["+1 415 555 0123"], notes="only a phone number"),
]


async def _add_all(transactions: Any, scope: Scope) -> list[Contact]:
    stored = []
    async with transactions(write=True) as session:
        for data in TRICKY:
            result = await contacts.add_contact(session, scope, data=data.model_copy(deep=True))
            stored.append(result.contact)
    return stored


def _text_30(read: str) -> str:
    # ical.js applies RFC 6350's text rules to 3.0 too: "\;" outside compound values is not an escape
    # there, while RFC 2426 (which our 3.0 output follows) requires it. Undo only that difference.
    return read.replace("\\;", ";")


@pytest.mark.parametrize("version", ["3.0", "4.0"])
async def test_export_vcard_is_read_back_field_by_field_by_ical_js(transactions, scope, version):
    stored = await _add_all(transactions, scope)
    result = await export_vcard(transactions, scope, version=version)
    assert result.count == len(TRICKY)
    text = result.content
    assert text is not None

    physical = text.split("\r\n")
    assert physical[-1] == "" and "\n" not in text.replace("\r\n", "")  # CRLF only
    for line in physical:
        assert len(line.encode("utf-8")) <= 75, line  # folded by octets ...
        line.encode("utf-8").decode("utf-8")  # ... never inside a UTF-8 character

    cards = ical_parse(text)
    assert len(cards) == len(stored)
    fix = _text_30 if version == "3.0" else (lambda s: s)
    for card, contact in zip(cards, stored, strict=True):
        assert card["version"] == version
        assert value(card, "uid") == f"urn:uuid:{contact.id}"
        expected_fn = contact.full_name or contact.phones[0]
        assert fix(value(card, "fn")) == expected_fn
        assert value(card, "n") == [contact.family_name or "", contact.given_name or "", "", "", ""]
        if contact.company:
            assert fix(value(card, "org")) == contact.company
        if contact.title:
            assert fix(value(card, "title")) == contact.title
        emails = props(card, "email")
        assert [e["values"][0] for e in emails] == contact.emails
        for index, email in enumerate(emails):
            types = email["params"]["type"]
            types = [types] if isinstance(types, str) else types
            assert "work" in [t.lower() for t in types]
            has_pref = "pref" in [t.lower() for t in types] or email["params"].get("pref") == "1"
            assert has_pref == (index == 0)
        tels = [t["values"][0] for t in props(card, "tel")]
        expected_tels = contact.phones if version == "3.0" else [f"tel:{p}" for p in contact.phones]
        assert tels == expected_tels
        if contact.website:
            assert value(card, "url") == f"https://{contact.website}"
        if contact.address:
            assert value(card, "adr") == ["", "", contact.address, "", "", "", ""]
        assert fix(value(card, "note")) == contact.notes
        if contact.tags:
            (categories,) = props(card, "categories")
            assert [fix(t) for t in categories["values"]] == contact.tags
        revised = datetime.fromisoformat(value(card, "rev").replace("Z", "+00:00"))
        assert revised == contact.updated_at.replace(microsecond=0)
    # The phone types come from the numbers: a Portuguese mobile is a cell phone, a Berlin number a landline.
    first_tels = props(cards[0], "tel")
    kinds = [t["params"]["type"] for t in first_tels]
    flat = [" ".join(k) if isinstance(k, list) else k for k in kinds]
    assert "cell" in flat[0].lower() and "work" in flat[1].lower()


def _comparable(contact: Contact) -> dict[str, Any]:
    return contact.model_dump(
        include={
            "full_name",
            "given_name",
            "family_name",
            "company",
            "title",
            "emails",
            "phones",
            "website",
            "address",
            "notes",
            "tags",
        }
    )


@pytest.mark.parametrize("version", ["3.0", "4.0"])
async def test_reimporting_an_export_into_a_fresh_store_recreates_the_same_contacts(
    transactions, scope, second_database_url, clock: FixedClock, settings: Settings, version
):
    stored = await _add_all(transactions, scope)
    exported = await export_vcard(transactions, scope, version=version)
    assert exported.content is not None

    fresh = await AppState.open(
        settings.model_copy(update={"database_url": second_database_url}), clock=clock
    )
    try:
        fresh_scope = Scope(workspace_id=fresh.local_workspace_id, settings=fresh.settings, clock=clock)

        def fresh_tx(*, write: bool):
            return fresh.db.transaction(workspace_id=fresh_scope.workspace_id, write=write)

        first = await import_contacts(
            fresh_tx, fresh_scope, source=ImportSource.from_content(exported.content, fresh.settings)
        )
        assert (first.format, first.created, first.merged, first.skipped, first.errors) == (
            "vcard",
            len(TRICKY),
            0,
            0,
            [],
        )
        assert first.committed_through == len(TRICKY)
        async with fresh_tx(write=False) as session:
            page = await contacts.search_contacts(session, fresh_scope, limit=50)
            recreated = [
                (await contacts.get_contact(session, fresh_scope, contact_id=c.id)).contact
                for c in page.items
            ]
        by_key = {tuple(c.emails or c.phones): _comparable(c) for c in recreated}
        assert by_key == {tuple(c.emails or c.phones): _comparable(c) for c in stored}
        assert all(c.source == "import" for c in recreated)

        again = await import_contacts(
            fresh_tx, fresh_scope, source=ImportSource.from_content(exported.content, fresh.settings)
        )
        assert (again.created, again.merged, again.skipped, again.errors) == (0, 0, len(TRICKY), [])
        async with fresh_tx(write=False) as session:
            assert len((await contacts.search_contacts(session, fresh_scope, limit=50)).items) == len(TRICKY)
    finally:
        await fresh.close()


async def test_csv_export_writes_met_at_as_text_not_a_timestamp(client) -> None:
    from tests.helpers import call

    await call(client, "add_contact", {"full_name": "Ana", "email": "ana@x.io", "met_at": "Web Summit 2026"})
    exported = await call(client, "export_csv", {})
    text = exported.get("content") or exported.get("text") or str(exported)
    assert "Web Summit 2026" in text
