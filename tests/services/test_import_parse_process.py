"""A large import parsed in a child process stores what the in-thread parser stores; the child ends."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.domain import ContactCreate, CustomFieldType
from lead_mcp.mcp.state import AppState
from lead_mcp.services import contacts, custom_fields, followups
from lead_mcp.services.exchange import ImportInterrupted, ImportSource, import_contacts
from lead_mcp.services.exchange.imports import custom_definitions, plan
from lead_mcp.services.exchange.parse_process import PROCESS_MIN_BYTES
from lead_mcp.services.scope import Scope
from tests.exchange_support import DATA
from tests.services.test_import_contacts import _break_the_store, _repair_the_store, _stored

SAMPLES = [
    "linkedin_connections.csv",
    "google_contacts.csv",
    "outlook_contacts.csv",
    "excel_semicolon_cp1252.csv",  # not UTF-8: the notice about Windows-1252 lines comes from the child
    "ragged.csv",
    "bad_encoding.csv",
    "phone_export_v21.vcf",
    "broken.vcf",
]
PARSERS = ("lead-mcp-import-parser",)


def _parsers() -> list[str]:
    return [p.name for p in multiprocessing.active_children() if p.name in PARSERS]


async def _import_into(url: str, settings: Settings, clock: FixedClock, path: Path, **options: Any) -> Any:
    state = await AppState.open(settings.model_copy(update={"database_url": url}), clock=clock)
    try:
        scope = Scope(workspace_id=state.local_workspace_id, settings=state.settings, clock=clock)

        def transactions(*, write: bool) -> Any:
            return state.db.transaction(workspace_id=scope.workspace_id, write=write)

        source = ImportSource.from_file(path, state.settings)
        result = await import_contacts(transactions, scope, source=source, batch_size=2, **options)
        async with state.db.transaction(workspace_id=scope.workspace_id, write=False) as session:
            return result, await _stored(session, scope.workspace_id)
    finally:
        await state.close()


@pytest.mark.parametrize("sample", SAMPLES)
async def test_a_child_parser_stores_and_reports_exactly_what_the_thread_does(
    sample: str, settings: Settings, clock: FixedClock, database_url: str, second_database_url: str
) -> None:
    in_thread = await _import_into(database_url, settings, clock, DATA / sample, parse_in_process=False)
    in_child = await _import_into(second_database_url, settings, clock, DATA / sample, parse_in_process=True)
    assert in_child[0].model_dump() == in_thread[0].model_dump()
    assert in_child[1] == in_thread[1]
    assert in_thread[0].records > 0
    assert _parsers() == []


async def test_records_a_child_parsed_that_merge_are_stored_as_the_thread_stores_them(
    settings: Settings, clock: FixedClock, database_url: str, second_database_url: str, tmp_path: Path
) -> None:
    """A record that repeats one of its batch goes through add_contact's own path (add_prepared, from
    the fields parsing prepared); one that matches a stored contact is merged from those fields."""
    base = tmp_path / "base.csv"
    base.write_text("Name,Email,Company\r\nAna Lima,ana@lima.io,Lima\r\n", encoding="utf-8")
    again = tmp_path / "again.csv"
    again.write_text(
        "Name,Email,Phone,Company,Tags,Notes\r\n"
        "Bo Chen,bo@chen.io,,Chen,fair,\r\n"
        "Bo Chen,bo@chen.io,+1 415 555 0102,Chen,vip,\r\n"  # the row before it, in its batch
        "Ana Lima,ana@lima.io,+1 415 555 0101,Lima,fair,met again\r\n"  # a stored contact
        "Cy Diaz,cy@diaz.io,,,fair,\r\n",
        encoding="utf-8",
    )
    results = []
    for url, in_child in ((database_url, False), (second_database_url, True)):
        await _import_into(url, settings, clock, base, parse_in_process=False)
        results.append(await _import_into(url, settings, clock, again, parse_in_process=in_child))
    (thread_result, thread_rows), (child_result, child_rows) = results
    assert (thread_result.created, thread_result.merged) == (2, 2)
    assert child_result.model_dump() == thread_result.model_dump()
    assert child_rows == thread_rows


async def test_records_an_import_adds_one_by_one_are_stored_as_add_contact_stores_them(
    settings: Settings, clock: FixedClock, database_url: str, second_database_url: str, tmp_path: Path
) -> None:
    """follow_up=true sends every record through add_prepared, with the fields a child prepared: the
    store ends as add_contact of each parsed record leaves it (custom values, merges, repeats)."""
    path = tmp_path / "people.csv"
    path.write_text(
        "Name,Email,Phone,Company,Tags,Notes,Industry,Seats\r\n"
        "Ana Lima,ana@lima.io,+1 415 555 0101,Lima,fair,met again,Fintech,12\r\n"  # the stored contact
        "Bo Chen,BO@chen.io,,Chen,fair,,Retail,not a number\r\n"  # a value of the wrong type: dropped
        "Bo Chen,bo@chen.io,+44 20 7946 0958,Chen,vip,second visit,,3\r\n"  # the row before it
        "Cy Diaz,cy@diaz.io,(415) 555-0199,,fair;vip,,Health,\r\n"
        "Dee Eng,,+49 30 1234567,Eng GmbH,,,,7.5\r\n",
        encoding="utf-8",
    )
    stores = []
    for url, by_import in ((database_url, True), (second_database_url, False)):
        state = await AppState.open(settings.model_copy(update={"database_url": url}), clock=clock)
        try:
            scope = Scope(workspace_id=state.local_workspace_id, settings=state.settings, clock=clock)

            def transactions(*, write: bool, scope: Scope = scope, state: AppState = state) -> Any:
                return state.db.transaction(workspace_id=scope.workspace_id, write=write)

            async with transactions(write=True) as session:
                for label, kind in (("Industry", CustomFieldType.TEXT), ("Seats", CustomFieldType.NUMBER)):
                    await custom_fields.define_custom_field(session, scope, label=label, type=kind)
                await contacts.add_contact(
                    session, scope, data=ContactCreate(full_name="Ana Lima", emails=["ana@lima.io"])
                )
            if by_import:
                source = ImportSource.from_file(path, state.settings)
                result = await import_contacts(
                    transactions, scope, source=source, follow_up=True, parse_in_process=True, batch_size=3
                )
                assert (result.created, result.merged, result.errors_total) == (3, 2, 0)
            else:
                fields = await custom_definitions(transactions)
                for item in plan(ImportSource.from_file(path, state.settings), scope, "auto", fields).items:
                    assert item.data is not None
                    async with transactions(write=True) as session:
                        await contacts.add_contact(session, scope, data=item.data, schedule_followup=True)
            async with transactions(write=False) as session:
                stored = await _stored(session, scope.workspace_id)
                due = (await followups.list_due_followups(session, scope, within_days=30)).items
                stored["followups"] = sorted((f.contact.full_name, str(f.due_at), f.step) for f in due)
            stores.append(stored)
        finally:
            await state.close()
    imported, reference = stores
    assert len(imported["followups"]) == 4 and any("Fintech" in str(row) for row in imported["contacts"])
    assert imported == reference


async def test_a_big_file_is_parsed_in_a_child_that_ends_with_the_import(
    transactions: Any, scope: Scope, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    # 2 MiB in 8,000 records (long notes): big enough for a child, few enough to import quickly.
    note = "met at the trade fair, asked for a demo and the price list; " * 4
    rows = [f'Person {i},p{i}@example.com,+1 415 5{i:06d},Co {i % 300},"{note}{i}"' for i in range(8_000)]
    path.write_text("Name,Email,Phone,Company,Notes\r\n" + "\r\n".join(rows) + "\r\n", encoding="utf-8")
    assert path.stat().st_size >= PROCESS_MIN_BYTES
    seen: list[list[str]] = []

    async def progress(done: int, total: int, message: str) -> None:
        seen.append(_parsers())

    source = ImportSource.from_file(path, scope.settings)
    result = await import_contacts(transactions, scope, source=source, progress=progress)
    assert (result.records, result.created, result.errors_total) == (8_000, 8_000, 0)
    assert any(seen) and seen[0] == ["lead-mcp-import-parser"]  # parsing ran in the child...
    assert _parsers() == []  # ...which ended with the import

    small = ImportSource.from_content("Name,Email\r\nAna,ana@x.io\r\n", scope.settings)
    seen.clear()
    await import_contacts(transactions, scope, source=small, progress=progress)
    assert seen == [[]]  # a small file is parsed in a thread: no child for it


async def test_a_store_failure_stops_the_child_and_reports_the_saved_prefix(
    transactions: Any, scope: Scope, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text("Name,Email\r\n" + "".join(f"Person {i},p{i}@example.com\r\n" for i in range(1, 121)))
    seen: list[int] = []

    async def progress(done: int, total: int, message: str) -> None:
        seen.append(done)
        if len(seen) == 2:
            await _break_the_store(database_url)

    source = ImportSource.from_file(path, scope.settings)
    with pytest.raises(ImportInterrupted) as stopped:
        await import_contacts(
            transactions, scope, source=source, batch_size=50, progress=progress, parse_in_process=True
        )
    assert "records 1 to 100 were saved" in str(stopped.value)
    assert _parsers() == []
    await _repair_the_store(database_url)
