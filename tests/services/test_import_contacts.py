"""import_contacts on real sample files: LinkedIn, Google, vCard 2.1, malformed ones, limits, crashes."""

from __future__ import annotations

import errno
import io
import os
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from lead_mcp.clock import FixedClock, SystemClock
from lead_mcp.config import Settings
from lead_mcp.db.tables import (
    ContactChange,
    ContactRow,
    FollowUpRow,
    PipelineCount,
    PipelineReferrer,
    PipelineSpeed,
)
from lead_mcp.domain import Contact, ContactCreate
from lead_mcp.errors import InvalidInput, LeadError
from lead_mcp.mcp.state import AppState
from lead_mcp.services import contacts
from lead_mcp.services.exchange import ImportInterrupted, ImportSource, import_contacts, resolve_under_roots
from lead_mcp.services.exchange.imports import plan
from lead_mcp.services.reports import pipeline_report
from lead_mcp.services.scope import Scope
from tests.exchange_support import DATA


async def _import(transactions: Any, scope: Scope, path: Path | str, **options: Any):
    source = (
        ImportSource.from_file(Path(path), scope.settings)
        if isinstance(path, Path)
        else ImportSource.from_content(path, scope.settings)
    )
    return await import_contacts(transactions, scope, source=source, **options)


async def _all(transactions: Any, scope: Scope) -> list[Contact]:
    async with transactions(write=False) as session:
        page = await contacts.search_contacts(session, scope, limit=200)
        return [(await contacts.get_contact(session, scope, contact_id=c.id)).contact for c in page.items]


def _by_name(found: list[Contact]) -> dict[str | None, Contact]:
    return {c.full_name: c for c in found}


async def test_import_contacts_reads_linkedin_connections_after_its_preamble(transactions, scope):
    result = await _import(transactions, scope, DATA / "linkedin_connections.csv")
    assert result.format == "linkedin"
    assert (result.records, result.created, result.merged, result.skipped) == (4, 3, 0, 0)
    assert [(e.record, e.line) for e in result.errors] == [(4, 8)]  # a row with only a profile URL
    assert "needs at least a name, an email or a phone" in result.errors[0].reason
    people = _by_name(await _all(transactions, scope))
    ana = people["Ana Souza"]
    assert (ana.company, ana.title, ana.emails, ana.met_at) == (
        "Fintech Labs",
        "Head of Sales",
        ["ana@fintech.io"],
        "LinkedIn",
    )
    assert "linkedin" in ana.tags and "https://www.linkedin.com/in/anasouza" in (ana.notes or "")
    assert "12 Mar 2024" in (ana.notes or "")
    assert people["Björn Öberg"].company == "Nordic Payments, AB" and people["Björn Öberg"].emails == []
    assert people["Mei Lin"].title == "Partner, Growth"
    assert all(c.source == "import" for c in people.values())


async def test_import_contacts_reads_google_contacts_columns_and_multi_values(transactions, scope):
    result = await _import(transactions, scope, DATA / "google_contacts.csv")
    assert result.format == "google"
    assert (result.records, result.created, result.errors) == (3, 3, [])
    assert result.columns["E-mail 1 - Value"] == "emails" and result.columns["Organization Name"] == "company"
    assert result.unmapped_columns == ["Nickname", "Birthday"]  # columns with data we do not keep
    assert [(w.record, w.reason) for w in result.warnings] == [
        (3, "phone 'call me maybe' dropped: not a phone number")
    ]
    people = _by_name(await _all(transactions, scope))
    carla = people["Carla Rossi"]
    assert carla.emails == ["carla@rossi-figli.it", "carla.rossi@gmail.com"]
    assert carla.phones == ["+393471234567", "+390212345678"]
    assert (carla.company, carla.title, carla.website) == (
        "Rossi & Figli S.r.l.",
        "Amministratrice",
        "rossi-figli.it",
    )
    assert carla.address == "Via Roma 1, 20121 Milano MI, Italia"
    assert carla.notes == "Met at the Milan fair.\nWants a quote."
    assert carla.tags == ["fiera milano"]  # Google's "* myContacts" system group is left out
    dev = people["Dev Patel"]
    assert dev.emails == ["dev@acme-robotics.io", "dev.patel@acme-robotics.io"]  # " ::: " separated
    assert dev.phones == ["+16505550199", "+16505550100"]
    assert people["Eve Nobody"].phones == []


async def test_import_contacts_reads_a_legacy_google_export(transactions, scope):
    result = await _import(transactions, scope, DATA / "google_contacts_legacy.csv")
    assert (result.format, result.created) == ("google", 1)
    (frank,) = await _all(transactions, scope)
    assert (frank.full_name, frank.company, frank.title) == (
        "Frank Zhang",
        "Zhang Supply Co.",
        "Sales Director",
    )
    assert frank.emails == ["frank@zhang-supply.cn"] and frank.phones == ["+861012345678"]
    assert frank.tags == ["suppliers"]


async def test_import_contacts_reads_vcard_21_quoted_printable_charsets_and_apple_groups(transactions, scope):
    result = await _import(transactions, scope, DATA / "phone_export_v21.vcf")
    assert (result.format, result.records, result.created, result.errors, result.warnings) == (
        "vcard",
        3,
        3,
        [],
        [],
    )
    people = _by_name(await _all(transactions, scope))
    jurgen = people["Jürgen Müller"]
    assert (jurgen.given_name, jurgen.family_name) == ("Jürgen", "Müller")
    assert (jurgen.company, jurgen.title) == ("Müller & Söhne GmbH", "Geschäftsführer")
    assert jurgen.phones == ["+4915123456789", "+49891234567"]
    assert jurgen.emails == ["juergen@mueller-soehne.de"]
    assert jurgen.notes == "Trafen uns auf der Messe in München.\nWill ein Angebot für 2026; bitte bis März."
    assert jurgen.address == "Leopoldstraße 1, München, 80802, Deutschland"
    assert people["Lucía García"].phones == ["+34612345678"]  # an ISO-8859-1 card
    ngozi = people["Ngozi Okafor"]
    assert (ngozi.emails, ngozi.website, ngozi.tags) == (
        ["ngozi@lagosfintech.ng"],
        "lagosfintech.ng",
        ["fintech", "africa"],
    )
    # ORG's first component is the company; the department after it is kept in the notes.
    assert ngozi.company == "Lagos Fintech"
    assert ngozi.notes == "Asked about pricing, and an API; follow up\nin April.\n\nDepartment: Partnerships"


async def test_import_contacts_reads_a_line_that_is_not_utf8_as_windows_1252_and_says_so(transactions, scope):
    # Line 3 was saved by Excel on Windows (é as the single byte 0xE9), the others are UTF-8.
    result = await _import(transactions, scope, DATA / "bad_encoding.csv")
    assert (result.records, result.created, result.errors) == (3, 3, [])
    (notice,) = result.notices
    assert notice.startswith("1 line (first: line 3) were not valid UTF-8 and were read as Windows-1252")
    assert sorted(c.full_name for c in await _all(transactions, scope)) == [
        "Ana Souza",
        "José García",
        "Zoë Adams",
    ]
    people = _by_name(await _all(transactions, scope))
    assert people["José García"].company == "Café SA" and people["Zoë Adams"].company == "Ørsted"


async def test_a_line_that_is_neither_utf8_nor_windows_1252_is_that_rows_error(transactions, scope, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"Name,Email\r\nAna,ana@x.io\r\nBad \x81\x8d,bad@x.io\r\nBo,bo@x.io\r\n")
    result = await _import(transactions, scope, path)
    assert (result.created, [(e.record, e.line) for e in result.errors]) == (2, [(2, 3)])
    assert "neither UTF-8 nor Windows-1252 (byte 0x81 on line 3)" in result.errors[0].reason
    # A file that declares UTF-8 with a byte-order mark gets no guessing.
    marked = tmp_path / "marked.csv"
    marked.write_bytes(b"\xef\xbb\xbfName,Email\r\nJos\xe9,jose@x.io\r\nBo,bo@y.io\r\n")
    result = await _import(transactions, scope, marked)
    assert (result.created, result.notices) == (1, [])
    assert "not valid UTF-8 although the file starts with a UTF-8 mark" in result.errors[0].reason


async def test_import_contacts_reports_ragged_rows_and_bad_values_by_line(transactions, scope):
    result = await _import(transactions, scope, DATA / "ragged.csv")
    assert (result.records, result.created) == (5, 4)
    assert [(e.record, e.line) for e in result.errors] == [(3, 4)]
    assert "has 5 cells but the header has 3" in result.errors[0].reason
    assert [(w.record, w.line) for w in result.warnings] == [(5, 7), (5, 7)]
    people = _by_name(await _all(transactions, scope))
    assert people["Bob Stone"].emails == ["bob@stone.io"]  # a short row is fine
    assert people['Dana "D" Li'].emails == ["dana@li.cn"]
    assert people["Eve Lone"].emails == [] and people["Eve Lone"].phones == []


async def test_import_contacts_skips_each_broken_line_and_reports_each_broken_card(transactions, scope):
    result = await _import(transactions, scope, DATA / "broken.vcf")
    assert (result.records, result.created) == (7, 3)
    warnings = {w.record: w.reason for w in result.warnings}
    # A line that cannot be read costs that line only, named in a warning.
    assert warnings[2] == (
        "line 9 skipped: 'THIS LINE HAS NO COLON' has no ':' between a property name and its value"
    )
    assert warnings[3] == "line 13: FN skipped: its value has an unknown CHARSET 'KLINGON'"
    assert warnings[4].startswith("line 17: FN skipped: its value is not valid utf-8 (byte 0xFF)")
    reasons = {e.record: (e.line, e.reason) for e in result.errors}
    assert sorted(reasons) == [3, 4, 5, 7]  # 3 and 4 lost their only name, 5 never had one
    assert "needs at least a name, an email or a phone" in reasons[3][1]
    assert reasons[7][0] == 28 and "without END:VCARD" in reasons[7][1]
    assert sorted(c.full_name for c in await _all(transactions, scope)) == [
        "Good One",
        "No Colon Here",
        "Second Good",
    ]


async def test_importing_the_same_file_twice_creates_nothing_new(transactions, scope):
    first = await _import(transactions, scope, DATA / "google_contacts.csv")
    again = await _import(transactions, scope, DATA / "google_contacts.csv")
    assert (first.created, again.created, again.merged, again.skipped) == (3, 0, 0, 3)
    assert len(await _all(transactions, scope)) == 3
    async with transactions(write=False) as session:
        merges = (await session.execute(select(ContactChange).where(ContactChange.action == "merged"))).all()
    assert merges == []  # nothing new, so no history entry either


async def test_import_merges_new_details_into_existing_contacts_like_add_contact(transactions, scope):
    async with transactions(write=True) as session:
        existing = await contacts.add_contact(
            session,
            scope,
            data=ContactCreate(full_name="Ana Souza", emails=["ana@fintech.io"], company="Fintech Labs"),
        )
    text = "Name,Email,Phone,Title,Company\r\nAna S.,ANA@fintech.io,+1 415 555 0100,CEO,Other Co\r\n"
    result = await _import(transactions, scope, text)
    assert (result.created, result.merged, result.skipped) == (0, 1, 0)
    (ana,) = await _all(transactions, scope)
    assert ana.id == existing.contact.id
    assert (ana.full_name, ana.company, ana.title, ana.phones) == (
        "Ana Souza",
        "Fintech Labs",
        "CEO",
        ["+14155550100"],
    )
    async with transactions(write=True) as session:
        detail = await contacts.get_contact(session, scope, contact_id=ana.id)
    merged = [h for h in detail.history if h.action == "merged"]
    assert merged and merged[0].detail["kept"]["company"] == "Other Co"


async def test_bulk_import_ends_exactly_like_adding_each_record_with_add_contact(
    transactions, scope, second_database_url, settings: Settings, clock: FixedClock
):
    # In-file duplicates (by email, phone and name+company), a record matching a stored contact,
    # and new records: the bulk path must give what add_contact gives record by record.
    text = (
        "Name,Email,Phone,Company,Notes,Tags\r\n"
        "Ana Souza,ana@fintech.io,,Fintech,first,a\r\n"
        "Bo Berg,bo@berg.se,+46 70 123 45 67,Berg AB,,b\r\n"
        "Ana S,ana@fintech.io,+1 415 555 0100,,second,c\r\n"
        "Bo Berg,,,Berg AB,same name and company,\r\n"
        "Cy Chan,cy@chan.hk,+46 70 123 45 67,,shares Bo's phone,\r\n"
        "Stored One,stored@example.com,,,,\r\n"
        "Di Diaz,di@diaz.mx,,,,\r\n"
    )
    seed = ContactCreate(full_name="Stored One", emails=["stored@example.com"], title="Existing")
    async with transactions(write=True) as session:
        await contacts.add_contact(session, scope, data=seed)
    bulk = await _import(transactions, scope, text, batch_size=4)

    other = await AppState.open(
        settings.model_copy(update={"database_url": second_database_url}), clock=clock
    )
    try:
        other_scope = Scope(workspace_id=other.local_workspace_id, settings=other.settings, clock=clock)

        def other_tx(*, write: bool):
            return other.db.transaction(workspace_id=other_scope.workspace_id, write=write)

        async with other_tx(write=True) as session:
            await contacts.add_contact(session, other_scope, data=seed)
        # follow_up=True sends every record through add_contact itself, one by one.
        one_by_one = await _import(other_tx, other_scope, text, follow_up=True)
        reference = await _all(other_tx, other_scope)
    finally:
        await other.close()
    assert (bulk.created, bulk.merged, bulk.skipped) == (
        one_by_one.created,
        one_by_one.merged,
        one_by_one.skipped,
    )
    fields = {"full_name", "company", "emails", "phones", "notes", "tags", "title", "score"}
    assert sorted(str(c.model_dump(include=fields)) for c in await _all(transactions, scope)) == sorted(
        str(c.model_dump(include=fields)) for c in reference
    )


_NEW_RECORDS = (
    "Name,Email,Work Email,Phone,Mobile,Company,Job Title,Website,Address,Notes,Tags\r\n"
    "José Müller-Øz,jose@muller.de,j.m@work.example.org,+49 30 1234567,+49 170 1234567,Müller GmbH,CTO,"
    'muller.de/team,"Hauptstr. 1, Berlin",'
    '"Met at the fintech meetup\r\nsecond line, with a comma",expo;2026\r\n'
    "Ana Souza,ANA@Fintech.io,,+1 415 555 0100,,Fintech,Head of Sales,https://fintech.io/,,,expo\r\n"
    "Bare Name,,,,,,,,,just a name,\r\n"
    'Kofi Okafor,kofi@gmail.com,,,,Okafor & Sons Ltd,Founder,,,Asked about pricing,vip;Expo;Café "Zürich"\r\n'
    "Søren Berg,,,+46 70 123 45 67,,Berg AB,Engineer,,,,\r\n"
    "Hana Chen,hana@chen.hk,,,,,,not a site,,,\r\n"
)


async def _stored(session: Any, workspace_id: str) -> dict[str, Any]:
    """Everything an import writes, as stored (raw columns; ids replaced by the contact's name)."""
    skip = {"pk", "id", "workspace_id"}
    columns = [c.name for c in ContactRow.__table__.columns if c.name not in skip]

    async def rows(sql: str) -> list[tuple[Any, ...]]:
        found = (await session.execute(text(sql), {"ws": workspace_id})).all()
        return sorted((tuple(str(v) for v in row) for row in found), key=str)

    return {
        "contacts": await rows(f"SELECT {', '.join(columns)} FROM contacts WHERE workspace_id = :ws"),
        "keys": await rows(
            "SELECT k.kind, k.value, c.full_name FROM contact_keys k JOIN contacts c ON c.id = k.contact_id "
            "WHERE k.workspace_id = :ws"
        ),
        "tags": await rows(
            "SELECT t.tag, c.full_name FROM contact_tags t JOIN contacts c ON c.pk = t.contact_pk "
            "WHERE t.workspace_id = :ws"
        ),
        "history": await rows(
            "SELECT h.action, h.detail, h.at, h.user_id, c.full_name FROM contact_changes h "
            "JOIN contacts c ON c.id = h.contact_id WHERE h.workspace_id = :ws"
        ),
        "counters": [
            await rows(
                f"SELECT {', '.join(c.name for c in table.columns if c.name != 'workspace_id')} "
                f"FROM {table.name} WHERE workspace_id = :ws"
            )
            for table in (PipelineCount.__table__, PipelineSpeed.__table__, PipelineReferrer.__table__)
        ],
    }


async def test_bulk_inserted_rows_equal_add_contacts_column_by_column_with_their_keys_search_and_counters(
    transactions, scope, second_database_url, settings: Settings, clock: FixedClock
):
    # Records that match nothing take the bulk insert (multi-row driver SQL); the reference store
    # gets the very same mapped records through add_contact, one by one.
    bulk = await _import(transactions, scope, _NEW_RECORDS, batch_size=4)
    assert (bulk.created, bulk.merged, bulk.skipped, bulk.errors_total) == (6, 0, 0, 0)
    queries = [
        "jose",
        "muller",
        "Müller",
        "fintech.io",
        "4153",
        "14155550100",
        "expo",
        "meetup",
        "soren",
        "okafor",
    ]
    other = await AppState.open(
        settings.model_copy(update={"database_url": second_database_url}), clock=clock
    )
    try:
        other_scope = Scope(workspace_id=other.local_workspace_id, settings=other.settings, clock=clock)
        source = ImportSource.from_content(_NEW_RECORDS, other.settings)
        for item in plan(source, other_scope, "auto").items:
            assert item.data is not None
            async with other.db.transaction(workspace_id=other_scope.workspace_id, write=True) as session:
                # As the import's own per-record path calls it (no follow-up unless asked).
                await contacts.add_contact(session, other_scope, data=item.data, schedule_followup=False)
        async with other.db.transaction(workspace_id=other_scope.workspace_id, write=False) as session:
            reference = await _stored(session, other_scope.workspace_id)
            reference_hits = [
                sorted(
                    c.full_name or ""
                    for c in (await contacts.search_contacts(session, other_scope, query=q)).items
                )
                for q in queries
            ]
    finally:
        await other.close()
    async with transactions(write=False) as session:
        stored = await _stored(session, scope.workspace_id)
        hits = [
            sorted(c.full_name or "" for c in (await contacts.search_contacts(session, scope, query=q)).items)
            for q in queries
        ]
    assert stored == reference
    assert len(stored["contacts"]) == 6 and len(stored["keys"]) == 5 + 4 + 4 and stored["counters"][0]
    assert hits == reference_hits
    assert all(hits[:3]) and hits[6] == ["Ana Souza", "José Müller-Øz", "Kofi Okafor"]


async def test_import_schedules_no_follow_ups_unless_asked(transactions, scope):
    await _import(transactions, scope, DATA / "linkedin_connections.csv")
    async with transactions(write=False) as session:
        assert (await session.execute(select(FollowUpRow))).all() == []
    result = await _import(transactions, scope, DATA / "google_contacts.csv", follow_up=True)
    assert result.follow_ups_scheduled
    async with transactions(write=False) as session:
        followups = (await session.execute(select(FollowUpRow))).scalars().all()
    assert len(followups) == 3 and {f.status for f in followups} == {"pending"}


async def test_dry_run_reports_what_would_happen_and_saves_nothing(transactions, scope):
    await _import(transactions, scope, DATA / "google_contacts.csv")
    text = (
        "Name,Email\r\nCarla Rossi,carla@rossi-figli.it\r\n"
        "New Person,new@example.com\r\nNew Person,new@example.com\r\n"
    )
    result = await _import(transactions, scope, text, dry_run=True)
    assert (result.dry_run, result.created, result.merged, result.skipped, result.committed_through) == (
        True,
        1,
        1,
        1,
        0,
    )
    assert len(await _all(transactions, scope)) == 3


async def test_a_50_mb_file_is_refused_with_a_clear_message(tmp_path, scope):
    big = tmp_path / "huge.csv"
    row = b"Someone Somebody,someone@example.com,+1 415 555 0100,Some Company Inc,Some title\r\n"
    with big.open("wb") as out:
        out.write(b"Name,Email,Phone,Company,Title\r\n")
        out.write(row * (50_000_000 // len(row) + 1))
    assert big.stat().st_size >= 50_000_000
    with pytest.raises(InvalidInput) as refused:
        ImportSource.from_file(big, scope.settings)
    message = str(refused.value)
    assert message.startswith("path: is 50.0 MB; imports are limited to 33.6 MB (LEAD_MCP_IMPORT_MAX_BYTES)")
    assert "Split the file" in message
    with pytest.raises(InvalidInput, match=r"^content: is "):
        ImportSource.from_content("x" * 40_000_000, scope.settings)


def test_paths_are_read_only_inside_the_scan_roots(tmp_path, settings: Settings):
    root = settings.scan_roots[0]
    inside = root / "contacts.csv"
    inside.write_text("Name\r\nAna\r\n")
    assert resolve_under_roots(str(inside), settings) == inside.resolve()
    assert resolve_under_roots("contacts.csv", settings) == inside.resolve()  # relative to the first root
    outside = tmp_path / "secret.csv"
    outside.write_text("Name\r\nEve\r\n")
    with pytest.raises(InvalidInput, match="outside the folders lead-mcp may read"):
        resolve_under_roots(str(outside), settings)
    with pytest.raises(InvalidInput, match="outside the folders lead-mcp may read"):
        resolve_under_roots(str(root / ".." / "secret.csv"), settings)
    link = root / "innocent.csv"
    os.symlink(outside, link)  # a link inside the root that points out of it
    with pytest.raises(InvalidInput, match="outside the folders lead-mcp may read"):
        resolve_under_roots(str(link), settings)
    with pytest.raises(InvalidInput, match="does not exist"):
        resolve_under_roots(str(root / "missing.csv"), settings)
    with pytest.raises(InvalidInput, match="not a regular file"):
        resolve_under_roots(str(root), settings)


async def _break_the_store(database_url: str) -> None:
    """Make every later insert into contacts fail, as a full disk or a dropped table would."""
    if database_url.startswith("sqlite"):
        raw = sqlite3.connect(database_url.split("///", 1)[1])
        raw.execute(
            "CREATE TRIGGER broken BEFORE INSERT ON contacts BEGIN INSERT INTO no_such_table VALUES (1); END"
        )
        raw.commit()
        raw.close()
        return
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(
            "CREATE FUNCTION broken() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = '53100'; END $$;"
            "CREATE TRIGGER broken BEFORE INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION broken();"
        )
    finally:
        await conn.close()


async def _repair_the_store(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        raw = sqlite3.connect(database_url.split("///", 1)[1])
        raw.execute("DROP TRIGGER broken")
        raw.commit()
        raw.close()
        return
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("DROP TRIGGER broken ON contacts; DROP FUNCTION broken();")
    finally:
        await conn.close()


async def test_a_store_failure_half_way_leaves_a_reported_prefix_and_a_rerun_completes(
    transactions, scope, database_url
):
    rows = "".join(f"Person {i},p{i}@example.com\r\n" for i in range(1, 121))
    text = "Name,Email\r\n" + rows
    seen: list[float] = []

    async def progress(done: int, total: int, message: str) -> None:
        seen.append(done)
        if len(seen) == 2:  # after the second batch is committed, the store breaks
            await _break_the_store(database_url)

    with pytest.raises(ImportInterrupted) as stopped:
        await _import(transactions, scope, text, batch_size=50, progress=progress)
    message = str(stopped.value)
    assert "stopped at record 101 (line 102)" in message
    assert "records 1 to 100 were saved (100 created, 0 merged, 0 skipped, 0 errors)" in message
    assert "nothing from record 101 on was saved" in message and "Run the same import again" in message
    saved = await _all(transactions, scope)
    assert sorted(int(c.full_name.split()[1]) for c in saved) == list(range(1, 101))

    await _repair_the_store(database_url)
    rerun = await _import(transactions, scope, text, batch_size=50)
    assert (rerun.created, rerun.skipped, rerun.committed_through) == (20, 100, 120)
    assert len(await _all(transactions, scope)) == 120


async def test_progress_is_reported_after_every_batch_and_only_grows(transactions, scope):
    text = "Name,Email\r\n" + "".join(f"P {i},p{i}@x.io\r\n" for i in range(250))
    reports: list[tuple[int, int, str]] = []

    async def progress(done: int, total: int, message: str) -> None:
        reports.append((done, total, message))

    result = await _import(transactions, scope, text, batch_size=100, progress=progress)
    assert result.committed_through == 250 and len(reports) == 3
    assert [r[0] for r in reports] == sorted({r[0] for r in reports}) and reports[-1][0] == reports[-1][1]
    assert reports[-1][2] == "250 records: 250 created, 0 merged, 0 skipped, 0 errors"


async def test_a_large_import_refreshes_the_planner_statistics_of_the_keys(transactions, scope, database_url):
    text = "Name,Email\r\n" + "".join(f"P{i} Q,p{i}@example.com\r\n" for i in range(5200))
    result = await _import(transactions, scope, text)
    assert (result.created, result.committed_through) == (5200, 5200)
    if database_url.startswith("sqlite"):
        # Without statistics SQLite answers add_contact's ORed key look-up by scanning every key.
        raw = sqlite3.connect(database_url.split("///", 1)[1])
        try:
            stats = raw.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'contact_keys'").fetchall()
            query = (
                "EXPLAIN QUERY PLAN SELECT contact_id FROM contact_keys WHERE "
                "(kind = ? AND value = ? OR kind = ? AND value = ?) AND workspace_id = ?"
            )
            plan_text = " ".join(str(r) for r in raw.execute(query, ("email", "a", "phone", "b", "w")))
        finally:
            raw.close()
        assert stats and "MULTI-INDEX OR" in plan_text
        return
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        analyzed = await conn.fetchval(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'contact_keys'"
        )
    finally:
        await conn.close()
    assert analyzed  # without it, key look-ups scan the whole workspace and big imports go quadratic


class _FailingDisk(ImportSource):
    """A file whose disk fails after ``good`` bytes (the OS reports EIO), as a dying USB stick does."""

    good: int = 0

    def _open(self) -> Any:
        data = self.content or b""
        good = self.good

        class Stream(io.BytesIO):
            def read(self, size: int | None = -1) -> bytes:
                if self.tell() >= good:
                    raise OSError(errno.EIO, "Input/output error")
                return super().read(size if size is not None and size >= 0 else good - self.tell())

            def readline(self, size: int | None = -1) -> bytes:
                if self.tell() >= good:
                    raise OSError(errno.EIO, "Input/output error")
                return super().readline(size)

            def __iter__(self) -> Any:
                return iter(self.readline, b"")

        return Stream(data)


async def test_a_read_failure_half_way_reports_the_saved_prefix_and_keeps_it(transactions, scope):
    text = "Name,Email\r\n" + "".join(f"Person {i},p{i}@example.com\r\n" for i in range(1, 2501))
    data = text.encode()
    source = _FailingDisk(label="usb", size=len(data), content=data)
    source.good = data.index(b"Person 1701,")  # the disk fails while the parse-ahead thread reads batch 2
    with pytest.raises(ImportInterrupted) as stopped:
        await import_contacts(transactions, scope, source=source)
    message = str(stopped.value)
    assert message.startswith("The import could not read the file after record 1700 (OSError: ")
    assert "records 1 to 1700 were saved (1700 created, 0 merged, 0 skipped, 0 errors)" in message
    assert "nothing after record 1700 was saved" in message
    async with transactions(write=False) as session:
        report = await pipeline_report(session, scope)
        stored = (await session.execute(select(func.count()).select_from(ContactRow))).scalar_one()
    assert stored == report.contacts == 1700


SEEDS = sorted(p for p in DATA.iterdir() if p.suffix in {".csv", ".vcf"})
TOKENS = [
    b"\r\n", b"\n", b"\r", b";", b",", b":", b'"', b"=", b"\\", b"\t", b"\x00", b"\xff", b"\xc3",
    b"BEGIN:VCARD\r\n", b"END:VCARD\r\n", b"AGENT:\r\n", b"=\r\n", b"item1.", b"TEL;", b"CHARSET=",
    b"ENCODING=QUOTED-PRINTABLE:", b"N:;;;;;;;;;;;\r\n", b"ADR:" + b";" * 30 + b"\r\n", "🚀".encode(),
    b"example.com:abc", b"tel:+1-415-555-0100;ext=12", b"X-LEADMCP-DEAL:", b"\xef\xbb\xbf", b":abc",
    b";CHARSET=QUOTED-PRINTABLE",
]  # fmt: skip
LINES = [
    b"NOTE;CHARSET=QUOTED-PRINTABLE:a=3Db\r\n", b"FN;CHARSET=KLINGON:x\r\n", b"AGENT:\r\n",
    b"BEGIN:VCARD\r\n", b"END:VCARD\r\n", b"GARBAGE LINE\r\n", b"TEL:tel:+1-415-555-0100;ext=1\r\n",
    b"URL:example.com:abc\r\n", b"PHOTO;ENCODING=BASE64:AAAA\r\n", b"X-LEADMCP-DEAL-SIZE:12\r\n",
    b"N:;;;;;;;;;;;\r\n", b'Ana,"open\r\n', b"Bo,bo@x.io,x.io:99999\r\n", b";;;;;;\r\n", b"\r\n",
]  # fmt: skip
MUTATION = st.tuples(
    st.sampled_from(["insert", "delete", "bytes", "line"]),
    st.floats(0, 1),
    st.sampled_from(TOKENS),
    st.binary(min_size=1, max_size=5),
    st.integers(1, 20),
    st.sampled_from(LINES),
)
FUZZ_SCOPE = Scope(
    workspace_id="fuzz", settings=Settings(database_url="sqlite+aiosqlite:///unused.db"), clock=SystemClock()
)


@hypothesis_settings(max_examples=400, deadline=None, derandomize=True)
@given(seed=st.sampled_from(SEEDS), mutations=st.lists(MUTATION, min_size=1, max_size=12))
def test_mutated_sample_files_give_per_record_errors_or_a_clear_file_error(seed: Path, mutations: list):
    data = bytearray(seed.read_bytes())
    for op, where, token, noise, length, line in mutations:
        at = int(where * len(data))
        if op == "line":  # a whole line, at the start of a line
            at = data.find(b"\n", at) + 1
            data[at:at] = line
        elif op == "insert":
            data[at:at] = token
        elif op == "delete":
            del data[at : at + length]
        else:
            data[at:at] = noise
    source = ImportSource(label="fuzz", size=len(data), content=bytes(data))
    try:
        read = plan(source, FUZZ_SCOPE, "auto")
        for item in read.items:
            assert (item.error is None) == (item.prepared is not None), item
            # An error caught as "cannot be imported (SomeError ...)" would be a bug the fuzz found.
            assert item.error is None or not item.error.startswith("cannot be imported ("), item.error
    except LeadError as exc:  # a clear whole-file error: it names the argument and the fix
        assert str(exc).startswith(("content:", "format:")), str(exc)


async def test_a_european_excel_file_with_semicolons_commas_in_notes_and_windows_1252_imports(
    transactions, scope
):
    result = await _import(transactions, scope, DATA / "excel_semicolon_cp1252.csv")
    assert (result.format, result.records, result.created, result.errors) == ("csv", 3, 3, [])
    assert result.columns == {
        "Name": "full_name",
        "E-Mail": "emails",
        "Phone": "phones",
        "Company": "company",
        "Notes": "notes",
    }
    assert result.notices and "read as Windows-1252" in result.notices[0]
    people = _by_name(await _all(transactions, scope))
    assert people["Müller, Hans"].notes == "Mag Kaffee, Tee, Kuchen und mehr, viel mehr"
    assert people["José García"].company == "Café SA"
    assert people["José García"].notes == "Zwei Zeilen;\nzweite, Zeile"
    assert people["Anna Berg"].phones == ["+49407654321"]


async def test_a_csv_whose_lines_end_in_a_bare_cr_imports(transactions, scope):
    result = await _import(transactions, scope, DATA / "excel_mac_cr.csv")
    assert (result.records, result.created, result.errors) == (2, 2, [])
    assert [(w.record, w.line) for w in result.warnings] == []
    people = _by_name(await _all(transactions, scope))
    assert people["Ana Souza"].notes == "two\nlines" and people["Bo Berg"].company == "Berg AB"


async def test_an_unclosed_quote_is_reported_on_its_line_and_the_rows_after_it_still_import(
    transactions, scope
):
    rows = "".join(f"P{i} Q,p{i}@example.com\r\n" for i in range(300))
    text = "Name,Email\r\nAna,ana@x.io\r\n" + 'Bad "Quote",bad@x.io\r\nOpen,"open@x.io\r\n' + rows
    result = await _import(transactions, scope, text)
    assert (result.records, result.created) == (303, 302)
    (error,) = result.errors
    assert (error.record, error.line) == (3, 4)
    assert error.reason.startswith('has a quote (") opened on line 4 that is never closed')
    async with transactions(write=False) as session:
        assert (await session.execute(select(func.count()).select_from(ContactRow))).scalar_one() == 302


async def test_an_outlook_export_keeps_one_address_and_does_not_take_the_account_for_the_company(
    transactions, scope
):
    result = await _import(transactions, scope, DATA / "outlook_contacts.csv")
    assert (result.records, result.created, result.errors) == (2, 2, [])
    assert "Account" in result.unmapped_columns and "Account" not in result.columns
    people = _by_name(await _all(transactions, scope))
    john = people["John Q Public"]
    # Business address only: Outlook's Home columns are another address, never merged into it.
    assert john.address == "1 Microsoft Way, Redmond WA 98052, United States of America"
    assert john.company == "Contoso Ltd" and john.title == "Account Manager"
    assert john.notes == "Met at Ignite\n\nDepartment: Sales"
    assert john.emails == ["john@contoso.com", "jq@home.example"] and john.tags == ["customers", "vip"]
    mary = people["Mary Major"]
    assert mary.address == "7 Oak Ave, Portland OR 97201, United States of America"  # no business one
    assert mary.company is None and mary.phones == ["+15035550133"]


async def test_vcard_org_department_and_tel_uri_extensions_are_read_sensibly(transactions, scope):
    text = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Johnny Appleseed\r\nORG:Apple Inc.;Retail;Genius Bar\r\n"
        "TEL;TYPE=WORK:+1 408 555 1234\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ext Person\r\n"
        'TEL;VALUE=uri;TYPE="work,voice";PREF=1:tel:+1-415-555-0100;ext=102\r\n'
        "ORG:Semi\\;Colon Corp\r\nEND:VCARD\r\n"
    )
    result = await _import(transactions, scope, text)
    assert (result.created, result.errors) == (2, [])
    assert [(w.record, w.reason) for w in result.warnings] == [
        (
            2,
            "phone '+1-415-555-0100': extension '102' dropped "
            "(phones are stored as international numbers without extensions)",
        )
    ]
    people = _by_name(await _all(transactions, scope))
    assert people["Johnny Appleseed"].company == "Apple Inc."
    assert people["Johnny Appleseed"].notes == "Department: Retail, Genius Bar"
    assert people["Ext Person"].phones == ["+14155550100"]
    assert people["Ext Person"].company == "Semi;Colon Corp"  # an escaped ; is part of the name


async def test_a_vcard_line_that_cannot_be_read_costs_only_that_line_and_an_agent_keeps_its_boss(
    transactions, scope
):
    text = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good Person\r\nEMAIL:gp@x.io\r\nGARBAGE LINE\r\n"
        "TITLE;CHARSET=NOPE:Chief\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Boss\r\nEMAIL:boss@x.io\r\nAGENT:\r\n"
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Assistant\r\nEMAIL:asst@x.io\r\nEND:VCARD\r\n"
        "TEL:+1 415 555 0100\r\nEND:VCARD\r\n"
    )
    result = await _import(transactions, scope, text)
    assert (result.records, result.created, result.errors) == (3, 3, [])
    assert [(w.record, w.line, w.reason) for w in result.warnings] == [
        (1, 1, "line 5 skipped: 'GARBAGE LINE' has no ':' between a property name and its value"),
        (1, 1, "line 6: TITLE skipped: its value has an unknown CHARSET 'NOPE'"),
    ]
    people = _by_name(await _all(transactions, scope))
    assert people["Good Person"].emails == ["gp@x.io"]
    assert people["Boss"].emails == ["boss@x.io"] and people["Boss"].phones == ["+14155550100"]
    assert people["Assistant"].emails == ["asst@x.io"]
