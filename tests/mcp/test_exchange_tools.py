"""The exchange tools through the MCP client: exports inline and as resource links, resources,
imports from text and from files, progress, errors that name the field, and sync_hubspot."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.mcp.server import build_server
from mcp import Client
from tests.exchange_support import DATA, ical_parse, second_database_url  # noqa: F401 (fixture)
from tests.fake_hubspot import FakeHubSpot, serve
from tests.helpers import call, call_error


def _rows(count: int) -> str:
    return "Name,Email,Company\r\n" + "".join(
        f"Person {i},p{i}@example.com,Co {i % 7}\r\n" for i in range(count)
    )


async def test_export_vcard_returns_up_to_1000_contacts_inline(client: Client):
    await call(
        client, "add_contact", {"full_name": "Ana Souza", "email": "ana@fintech.io", "company": "Fintech"}
    )
    result = await client.call_tool("export_vcard", {"version": "4.0"})
    assert not result.is_error
    data = result.structured_content
    assert (data["format"], data["version"], data["count"], data["resource_uri"]) == ("vcard", "4.0", 1, None)
    assert data["filename"] == "lead-mcp-contacts-2026-03-10.vcf"
    assert result.content[0].text == data["content"]
    (card,) = ical_parse(data["content"])
    assert card["version"] == "4.0"
    assert data["bytes"] == len(data["content"].encode())


async def test_export_vcard_of_more_than_1000_contacts_is_a_resource_link(client: Client):
    imported = await call(client, "import_contacts", {"content": _rows(1001)})
    assert imported["created"] == 1001
    result = await client.call_tool("export_vcard", {})
    data = result.structured_content
    assert data["count"] == 1001 and data["content"] is None
    assert data["resource_uri"].startswith("lead://exports/") and data["resource_uri"].endswith(".vcf")
    link = next(block for block in result.content if block.type == "resource_link")
    assert (link.uri, link.mime_type, link.size) == (data["resource_uri"], "text/vcard", data["bytes"])
    read = await client.read_resource(data["resource_uri"])
    text = read.contents[0].text
    assert len(text.encode()) == data["bytes"] and text.count("BEGIN:VCARD\r\n") == 1001
    assert len(ical_parse(text)) == 1001

    csv_result = await client.call_tool("export_csv", {"query": "example.com", "bom": True})
    csv_data = csv_result.structured_content
    assert csv_data["count"] == 1001 and csv_data["resource_uri"].endswith(".csv")
    csv_text = (await client.read_resource(csv_data["resource_uri"])).contents[0].text
    assert csv_text.startswith("\ufeffID,Full Name,")


async def test_missing_export_resource_says_to_export_again(client: Client):
    with pytest.raises(Exception, match="does not exist or has expired"):
        await client.read_resource("lead://exports/00000000-0000-0000-0000-000000000000.vcf")


async def test_contact_vcf_resource_is_one_vcard(client: Client):
    added = await call(client, "add_contact", {"full_name": "山田 太郎", "phone": "+81 90-1234-5678"})
    read = await client.read_resource(f"lead://contacts/{added['contact']['id']}.vcf")
    (content,) = read.contents
    assert content.mime_type == "text/vcard"
    (card,) = ical_parse(content.text)
    assert [p["values"] for p in card["properties"] if p["name"] == "fn"] == [["山田 太郎"]]


async def test_export_csv_neutralises_formulas_but_keeps_values_readable(client: Client):
    await call(
        client,
        "add_contact",
        {
            "full_name": '=HYPERLINK("http://evil.example")',
            "email": "eve@evil.example",
            "phone": "+1 415 555 0100",
            "company": "@SUM(1+1)",
            "notes": "-2+3",
            "tags": ["a", "b"],
        },
    )
    data = (await client.call_tool("export_csv", {})).structured_content
    rows = list(csv.reader(io.StringIO(data["content"])))
    header, row = rows[0], rows[1]
    cell = dict(zip(header, row, strict=True))
    assert cell["Full Name"] == '\'=HYPERLINK("http://evil.example")'
    assert cell["Company"] == "'@SUM(1+1)" and cell["Notes"] == "'-2+3" and cell["Phones"] == "'+14155550100"
    assert cell["Tags"] == "a; b" and cell["Emails"] == "eve@evil.example"
    assert data["content"].endswith("\r\n") and not data["content"].startswith("\ufeff")
    for value in row:
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))
    # Our own import reads its export back, neutralised cells included.
    reimported = await call(client, "import_contacts", {"content": data["content"], "dry_run": True})
    assert (reimported["skipped"], reimported["errors"]) == (1, [])


async def test_export_tools_are_read_only_and_sync_is_open_world(client: Client):
    tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("export_vcard", "export_csv"):
        assert tools[name].annotations.read_only_hint is True
        assert tools[name].annotations.destructive_hint is False
    assert tools["import_contacts"].annotations.read_only_hint is False
    sync = tools["sync_hubspot"].annotations
    assert (sync.open_world_hint, sync.read_only_hint, sync.idempotent_hint, sync.destructive_hint) == (
        True,
        False,
        True,
        False,
    )
    for name in ("export_vcard", "export_csv", "import_contacts", "sync_hubspot"):
        assert tools[name].output_schema is not None


async def test_export_with_ids_and_query_errors_name_the_field(client: Client):
    assert "query: give contact_ids or query, not both" in await call_error(
        client, "export_vcard", {"contact_ids": ["x"], "query": "ana"}
    )
    assert "contact_ids: no contact 'nope' in this workspace" in await call_error(
        client, "export_csv", {"contact_ids": ["nope"]}
    )
    assert "version" in await call_error(client, "export_vcard", {"version": "2.1"})


async def test_import_contacts_from_a_file_under_the_scan_roots(client: Client, settings: Settings):
    target = settings.scan_roots[0] / "Connections.csv"
    target.write_bytes((DATA / "linkedin_connections.csv").read_bytes())
    reports: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        reports.append((done, total, message))

    result = await client.call_tool("import_contacts", {"path": str(target)}, progress_callback=progress)
    data = result.structured_content
    assert (data["format"], data["created"], data["committed_through"]) == ("linkedin", 3, 4)
    assert reports and reports[-1][0] == reports[-1][1] == target.stat().st_size
    assert "4 records: 3 created" in (reports[-1][2] or "")


async def test_import_contacts_refuses_paths_outside_the_scan_roots_and_big_files(
    client: Client, settings: Settings, tmp_path: Path
):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("Name\nAna\n")
    message = await call_error(client, "import_contacts", {"path": str(outside)})
    assert "path:" in message and "outside the folders lead-mcp may read" in message
    assert "LEAD_MCP_SCAN_ROOTS" in message
    big = settings.scan_roots[0] / "big.csv"
    with big.open("wb") as out:
        out.write(b"Name,Email\n")
        out.truncate(50_000_000)
    message = await call_error(client, "import_contacts", {"path": str(big)})
    assert "path: is 50.0 MB; imports are limited to 33.6 MB" in message
    assert "content: give content or path" in await call_error(client, "import_contacts", {})
    assert "found no header row" in await call_error(client, "import_contacts", {"content": "hello\nworld\n"})


async def test_import_contacts_then_search_finds_the_people(client: Client):
    result = await call(
        client, "import_contacts", {"content": (DATA / "google_contacts.csv").read_text("utf-8")}
    )
    assert (result["format"], result["created"]) == ("google", 3)
    page = await call(client, "search_contacts", {"query": "rossi-figli.it"})
    assert [c["full_name"] for c in page["items"]] == ["Carla Rossi"]
    due = await call(client, "list_due_followups", {})
    assert due["items"] == []  # imports do not flood the due list


@pytest.fixture
def hubspot() -> Iterator[FakeHubSpot]:
    yield from serve(FakeHubSpot())


async def test_sync_hubspot_tool_pushes_to_the_configured_portal(
    settings: Settings, clock: FixedClock, hubspot
):
    configured = settings.model_copy(
        update={"hubspot_token": SecretStr(hubspot.token), "hubspot_base_url": hubspot.url}
    )
    async with Client(build_server(configured, clock=clock), raise_exceptions=True) as client:
        await call(
            client, "add_contact", {"full_name": "Ana Souza", "email": "ana@fintech.io", "title": "CEO"}
        )
        await call(client, "add_contact", {"full_name": "No Mail", "phone": "+1 415 555 0100"})
        result = await call(client, "sync_hubspot", {})
        assert (result["pushed"], result["created"], result["failed_total"]) == (1, 1, 1)
        assert result["failed"][0]["full_name"] == "No Mail"
        assert hubspot.contacts["ana@fintech.io"]["properties"]["jobtitle"] == "CEO"
        again = await call(client, "sync_hubspot", {})
        assert again["pushed"] == 0
        assert "since: " in await call_error(client, "sync_hubspot", {"since": "yesterday-ish"})
    unconfigured = settings.model_copy(update={"hubspot_token": None})
    async with Client(build_server(unconfigured, clock=clock), raise_exceptions=True) as client:
        assert "LEAD_MCP_HUBSPOT_TOKEN is not set" in await call_error(client, "sync_hubspot", {})


async def test_other_calls_are_answered_while_an_import_runs(client: Client):
    import anyio

    text = "Name,Email,Phone\r\n" + "".join(
        f"Person {i},p{i}@example.com,+1 415 {200 + i // 10000:03d} {i % 10000:04d}\r\n" for i in range(3500)
    )
    first_batch = anyio.Event()
    finished: list[str] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        first_batch.set()

    async def run_import() -> None:
        result = await call_progress(client, text, progress)
        finished.append(f"import {result['created']}")

    async with anyio.create_task_group() as group:
        group.start_soon(run_import)
        await first_batch.wait()
        page = await call(client, "search_contacts", {"query": "Person", "limit": 5})
        finished.append("search")
    assert finished == ["search", "import 3500"]
    assert len(page["items"]) == 5  # the first committed batch is already searchable


async def call_progress(client: Client, text: str, progress) -> dict:
    result = await client.call_tool("import_contacts", {"content": text}, progress_callback=progress)
    assert not result.is_error
    return result.structured_content


async def test_imported_contacts_count_in_pipeline_report_exactly_as_a_recount(
    client: Client, settings: Settings
):
    from tests.mcp.test_pipeline_report import _counter_rows, _recount

    await call(client, "add_contact", {"full_name": "Manual One", "email": "manual@example.com"})
    # 1,200 new rows (bulk inserts, two batches), one merging into the manual contact, one in-file duplicate.
    text = (
        _rows(1200)
        + "Manual One,manual@example.com,Manual Co\r\n"
        + "Person 5,p5@example.com;p5b@example.com,Co 5\r\n"
    )
    imported = await call(client, "import_contacts", {"content": text})
    assert (imported["created"], imported["merged"]) == (1200, 2)
    report = await call(client, "pipeline_report", {})
    assert report["contacts"] == 1201
    assert (report["by_source"]["import"], report["by_source"]["manual"]) == (1200, 1)
    assert report["by_stage"]["lead"] == 1201
    maintained = await _counter_rows(settings.database_url)
    assert maintained == await _recount(settings.database_url)


async def test_a_web_address_with_a_bad_port_is_refused_by_add_contact_and_dropped_by_import(client: Client):
    message = await call_error(client, "add_contact", {"full_name": "Web Port", "website": "example.com:abc"})
    assert "website: 'example.com:abc' is not a web address" in message
    rows = "".join(f"P{i} Q,p{i}@example.com,\r\n" for i in range(1500))
    bad = "P1200 Q,p1200@x.io,x.io:abc"
    text = "Name,Email,Website\r\n" + rows.replace("P1200 Q,p1200@example.com,", bad)
    result = await call(client, "import_contacts", {"content": text})
    assert (result["created"], result["committed_through"], result["errors"]) == (1500, 1500, [])
    assert [(w["record"], w["reason"]) for w in result["warnings"]] == [
        (1201, "website 'x.io:abc' dropped: not a web address")
    ]
    assert (await call(client, "pipeline_report", {}))["contacts"] == 1500


async def test_our_own_csv_export_reads_back_with_commas_and_semicolons_inside_list_values(
    client: Client,
    settings: Settings,
    clock: FixedClock,
    second_database_url: str,  # noqa: F811 (the fixture)
):
    other_url = second_database_url
    added = await call(
        client,
        "add_contact",
        {
            "full_name": "José Müller-Öz",
            "email": "jose@cafe.pt",
            "company": "Café, S.A.; Lisboa",
            "tags": ["vip", "lisbon, pt", "a;b"],
            "notes": "First, line\nSecond; =SUM(1)",
        },
    )
    exported = await call(client, "export_csv", {})
    fresh = settings.model_copy(update={"database_url": other_url})
    async with Client(build_server(fresh, clock=clock), raise_exceptions=True) as other:
        result = await call(other, "import_contacts", {"content": exported["content"]})
        assert (result["created"], result["errors"], result["unmapped_columns"]) == (1, [], [])
        (item,) = (await call(other, "search_contacts", {}))["items"]
        copy = (await call(other, "get_contact", {"contact_id": item["id"]}))["contact"]
    original = added["contact"]
    for name in ("full_name", "company", "emails", "tags", "notes"):
        assert copy[name] == original[name], name
    assert copy["tags"] == ["vip", "lisbon, pt", "a;b"]


CUSTOM_FIELDS = [
    {"label": "Industry", "type": "choice", "choices": ["Fintech", "Retail"]},
    {"label": "Deal size", "type": "number"},
    {"label": "Renewal", "type": "date"},
    {"label": "Pitch", "type": "text"},
    {"label": "Category", "type": "text"},  # reads as the Tags column: exported as "Category [category]"
    {"label": "=Risk", "type": "text"},  # a formula-looking title is neutralised like any cell
]
CUSTOM_VALUES = {
    "industry": "Fintech",
    "deal_size": 12000.5,
    "renewal": "2026-12-01",
    "pitch": "Wants an API, soon; asks for a discount\nsecond line 日本語のメモ。" * 5,
    "category": "partner",
    "risk": "-low",
}


async def _define(client: Client, clock: FixedClock) -> None:
    for definition in CUSTOM_FIELDS:
        await call(client, "define_custom_field", definition)
        clock.advance(timedelta(seconds=1))  # exports list the fields in the order they were made


async def test_custom_fields_leave_in_csv_columns_and_vcard_x_properties_and_come_back(
    client: Client,
    settings: Settings,
    clock: FixedClock,
    second_database_url: str,  # noqa: F811 (the fixture)
):
    await _define(client, clock)
    added = await call(
        client,
        "add_contact",
        {"full_name": "Ana Souza", "email": "ana@fintech.io", "custom": CUSTOM_VALUES},
    )
    assert added["contact"]["custom"] == CUSTOM_VALUES
    await call(client, "add_contact", {"full_name": "No Custom", "email": "plain@example.com"})

    csv_text = (await call(client, "export_csv", {}))["content"]
    header, *rows = list(csv.reader(io.StringIO(csv_text)))
    assert header[-6:] == ["Industry", "Deal size", "Renewal", "Pitch", "Category [category]", "'=Risk"]
    cells = dict(zip(header, rows[0], strict=True))
    assert (cells["Industry"], cells["Deal size"], cells["Renewal"]) == ("Fintech", "12000.5", "2026-12-01")
    assert cells["Pitch"] == CUSTOM_VALUES["pitch"] and cells["'=Risk"] == "'-low"
    assert rows[1][-6:] == [""] * 6

    cards = {}
    for version in ("3.0", "4.0"):
        text = (await call(client, "export_vcard", {"version": version}))["content"]
        assert max(len(line) for line in text.encode().split(b"\r\n")) <= 75
        (ana, _plain) = ical_parse(text)
        cards[version] = text
        found = {p["name"]: p["values"] for p in ana["properties"] if p["name"].startswith("x-leadmcp-")}
        if version == "3.0":  # ical.js reads 3.0 text by RFC 6350's rules, where "\;" is no escape
            found = {name: [v.replace("\\;", ";") for v in values] for name, values in found.items()}
        assert found == {
            "x-leadmcp-industry": ["Fintech"],
            "x-leadmcp-deal-size": ["12000.5"],
            "x-leadmcp-renewal": ["2026-12-01"],
            "x-leadmcp-pitch": [CUSTOM_VALUES["pitch"]],
            "x-leadmcp-category": ["partner"],
            "x-leadmcp-risk": ["-low"],
        }, version

    fresh = settings.model_copy(update={"database_url": second_database_url})
    async with Client(build_server(fresh, clock=clock), raise_exceptions=True) as other:
        # Not defined here yet: the columns are reported as unmapped, the properties ignored.
        dry = await call(other, "import_contacts", {"content": csv_text, "dry_run": True})
        assert dry["unmapped_columns"] == header[-6:]
        await _define(other, clock)
        for content in (csv_text, cards["3.0"], cards["4.0"]):
            result = await call(other, "import_contacts", {"content": content})
            assert (result["errors"], result["warnings"], result["unmapped_columns"]) == ([], [], [])
            page = await call(other, "search_contacts", {"query": "ana@fintech.io"})
            (item,) = page["items"]
            contact = (await call(other, "get_contact", {"contact_id": item["id"]}))["contact"]
            assert contact["custom"] == CUSTOM_VALUES
            await call(other, "delete_contact", {"contact_id": item["id"], "confirm": True, "erase": True})


async def test_an_export_under_1000_contacts_too_big_for_one_result_is_a_resource_link(client: Client):
    from lead_mcp.services.sizing import RESULT_BUDGET_CHARS

    note = "Met at the fair; wants a quote, soon. " * 50  # about 1,900 characters per contact
    text = "Name,Email,Notes\r\n" + "".join(f'Person {i},p{i}@example.com,"{note}"\r\n' for i in range(60))
    assert (await call(client, "import_contacts", {"content": text}))["created"] == 60
    for tool, extension in (("export_vcard", ".vcf"), ("export_csv", ".csv")):
        result = await client.call_tool(tool, {})
        data = result.structured_content
        assert (data["count"], data["content"]) == (60, None), tool
        assert data["resource_uri"].endswith(extension)
        assert sum(len(getattr(block, "text", "")) for block in result.content) < 1_000
        stored = (await client.read_resource(data["resource_uri"])).contents[0].text
        assert len(stored.encode()) == data["bytes"] > RESULT_BUDGET_CHARS
        assert all(f"p{i}@example.com" in stored for i in range(60))
    # A query that picks fewer of them fits: it stays inline, and the whole result within the budget.
    small = await client.call_tool("export_vcard", {"query": "p1@example.com"})
    inline = small.structured_content
    assert inline["count"] == 1 and inline["resource_uri"] is None and "FN:Person 1\r\n" in inline["content"]
    assert len(json.dumps(inline)) <= RESULT_BUDGET_CHARS


async def test_sync_hubspot_gives_up_on_a_silent_hubspot_within_the_outbound_timeout_setting(
    settings: Settings, clock: FixedClock, hubspot
):
    import time

    configured = settings.model_copy(
        update={
            "hubspot_token": SecretStr(hubspot.token),
            "hubspot_base_url": hubspot.url,
            "outbound_timeout_seconds": 1,
        }
    )
    async with Client(build_server(configured, clock=clock), raise_exceptions=True) as client:
        await call(client, "add_contact", {"full_name": "Ana Souza", "email": "ana@fintech.io"})
        hubspot.silent = True
        started = time.monotonic()
        message = await call_error(client, "sync_hubspot", {})
        elapsed = time.monotonic() - started
    assert 1 <= elapsed < 3
    assert "HubSpot did not answer GET /crm/v3/properties/contacts/lead_mcp_source within 1 s" in message
    assert "LEAD_MCP_OUTBOUND_TIMEOUT_SECONDS" in message and "Run sync_hubspot again later" in message
    assert hubspot.token not in message and len(hubspot.requests) == 1


async def test_exports_and_syncs_report_progress_that_grows_to_the_total(
    settings: Settings, clock: FixedClock, hubspot
):
    configured = settings.model_copy(
        update={"hubspot_token": SecretStr(hubspot.token), "hubspot_base_url": hubspot.url}
    )
    async with Client(build_server(configured, clock=clock), raise_exceptions=True) as client:
        assert (await call(client, "import_contacts", {"content": _rows(2500)}))["created"] == 2500
        for tool in ("export_vcard", "export_csv", "sync_hubspot"):
            reports: list[tuple[float, float | None]] = []

            async def progress(done: float, total: float | None, message: str | None) -> None:
                reports.append((done, total))  # noqa: B023

            result = await client.call_tool(tool, {}, progress_callback=progress)
            assert not result.is_error, tool
            assert len(reports) >= 3, tool  # one report per page of contacts
            assert [done for done, _ in reports] == sorted(done for done, _ in reports), tool
            assert reports[-1] == (2500, 2500), tool
    assert len(hubspot.contacts) == 2500
