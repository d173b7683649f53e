"""sync_hubspot against a local fake HubSpot (real HTTP on a loopback port): what reaches it, retries
on 429/5xx, idempotency, the failure report, and a token that never shows."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from lead_mcp.db.tables import HubSpotLink
from lead_mcp.domain import ContactCreate, ContactUpdate, Stage
from lead_mcp.errors import ExternalServiceError, SetupError
from lead_mcp.integrations.hubspot import HubSpotClient
from lead_mcp.services import contacts
from lead_mcp.services.exchange import ImportSource, import_contacts
from lead_mcp.services.hubspot import sync_hubspot
from lead_mcp.services.scope import Scope
from tests.fake_hubspot import FakeHubSpot, serve


@pytest.fixture
def hubspot() -> Iterator[FakeHubSpot]:
    """A fake HubSpot portal served on a free loopback port."""
    yield from serve(FakeHubSpot())


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def _client(
    http: httpx.AsyncClient, fake: FakeHubSpot, token: str | None = None, **options: Any
) -> HubSpotClient:
    options.setdefault("backoff_base", 0.01)
    return HubSpotClient(http, token=SecretStr(token or fake.token), base_url=fake.url, **options)


async def _people(transactions: Any, scope: Scope, with_email: int, without_email: int = 0) -> None:
    rows = [
        f"Person {i},Last{i},p{i}@example.com,+1 415 555 {i:04d},Company {i},Engineer"
        for i in range(with_email)
    ]
    rows += [f"Phone Only {i},,,+1 212 555 {i:04d},," for i in range(without_email)]
    text = "First Name,Last Name,Email,Phone,Company,Title\r\n" + "\r\n".join(rows) + "\r\n"
    result = await import_contacts(
        transactions, scope, source=ImportSource.from_content(text, scope.settings)
    )
    assert result.created == with_email + without_email


async def test_sync_hubspot_upserts_by_email_in_batches_of_at_most_100(transactions, scope, hubspot, http):
    await _people(transactions, scope, with_email=230, without_email=2)
    result = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))

    assert (result.pushed, result.created, result.updated, result.unchanged) == (230, 230, 0, 0)
    assert sorted(f.full_name or "" for f in result.failed) == ["Phone Only 0", "Phone Only 1"]
    assert {(f.email, f.reason) for f in result.failed} == {
        (None, "no email address: HubSpot matches contacts by email; add one with update_contact")
    }
    upserts = hubspot.upserts()
    assert [len(r.body["inputs"]) for r in upserts] == [100, 100, 30]
    assert all(r.authorization == f"Bearer {hubspot.token}" for r in hubspot.requests)
    first = upserts[0].body["inputs"][0]
    assert first == {
        "id": "p0@example.com",
        "idProperty": "email",
        "properties": {
            "email": "p0@example.com",
            "firstname": "Person 0",
            "lastname": "Last0",
            "phone": "+14155550000",
            "company": "Company 0",
            "jobtitle": "Engineer",
            "lifecyclestage": "lead",
            "lead_mcp_source": "import",
        },
    }
    # The source property did not exist: it was looked up, then created once.
    assert [(r.method, r.path) for r in hubspot.requests[:2]] == [
        ("GET", "/crm/v3/properties/contacts/lead_mcp_source"),
        ("POST", "/crm/v3/properties/contacts"),
    ]
    assert len(hubspot.contacts) == 230
    async with transactions(write=False) as session:
        links = (await session.execute(select(HubSpotLink))).scalars().all()
    assert len(links) == 230 and {link.pushed_at for link in links} == {scope.now()}
    assert {link.hubspot_id for link in links} == {c["id"] for c in hubspot.contacts.values()}


async def test_sync_hubspot_is_idempotent_and_pushes_only_what_changed(
    transactions, scope, hubspot, http, clock
):
    await _people(transactions, scope, with_email=3)
    await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    sent = len(hubspot.upserts())

    again = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert (again.pushed, again.unchanged, again.failed) == (0, 0, [])  # nothing new or changed since
    explicit = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot), since="2026-01-01")
    assert (explicit.pushed, explicit.unchanged) == (0, 3)  # looked at, but identical to what was pushed
    assert len(hubspot.upserts()) == sent

    clock.advance(__import__("datetime").timedelta(hours=1))
    async with transactions(write=True) as session:
        page = await contacts.search_contacts(session, scope, query="p1@example.com")
        await contacts.update_contact(
            session, scope, contact_id=page.items[0].id, changes=ContactUpdate(title="CTO", stage=Stage.SQL)
        )
    changed = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert (changed.pushed, changed.created, changed.updated) == (1, 0, 1)
    (last,) = hubspot.upserts()[sent:]
    assert last.body["inputs"][0]["properties"]["jobtitle"] == "CTO"
    assert last.body["inputs"][0]["properties"]["lifecyclestage"] == "salesqualifiedlead"
    assert hubspot.contacts["p1@example.com"]["properties"]["jobtitle"] == "CTO"
    later = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot), since="2099-01-01")
    assert (later.pushed, later.unchanged) == (0, 0)


async def test_sync_hubspot_waits_out_retry_after_and_retries_server_errors(
    transactions, scope, hubspot, http
):
    await _people(transactions, scope, with_email=2)
    hubspot.properties.add("lead_mcp_source")
    hubspot.cue(429, **{"Retry-After": "1"})  # the first call (the property lookup) is rate limited,
    hubspot.cue(502)  # then meets two server errors before it goes through
    hubspot.cue(503)
    client = _client(http, hubspot)
    result = await sync_hubspot(transactions, scope, hubspot=client)
    assert (result.pushed, result.requests, result.retries) == (2, 5, 3)
    times = [r.at for r in hubspot.requests]
    assert times[1] - times[0] >= 1.0  # Retry-After: 1 was honoured
    assert client.counters.waits == [1.0, 0.02, 0.04]  # then exponential back-off (attempts 2 and 3)
    assert len(hubspot.contacts) == 2


async def test_sync_hubspot_gives_up_after_the_retry_cap_and_keeps_nothing_half_done(
    transactions, scope, hubspot, http
):
    await _people(transactions, scope, with_email=2)
    hubspot.properties.add("lead_mcp_source")
    for _ in range(6):
        hubspot.cue(502)
    with pytest.raises(ExternalServiceError) as failed:
        await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot, backoff_cap=0.05))
    assert "kept answering 502 after 5 attempts" in str(failed.value)
    assert "Run sync_hubspot again later" in str(failed.value)
    async with transactions(write=False) as session:
        assert (await session.execute(select(HubSpotLink))).all() == []
    hubspot.cues.clear()
    retried = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert retried.pushed == 2


async def test_sync_hubspot_reports_each_contact_hubspot_refuses_and_pushes_the_rest(
    transactions, scope, hubspot, http
):
    await _people(transactions, scope, with_email=5)
    hubspot.blocked_emails.add("p3@example.com")
    result = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert result.pushed == 4
    (failure,) = result.failed
    assert failure.email == "p3@example.com"
    assert failure.reason.startswith("HubSpot answered 400: Property values were not valid")
    assert "INVALID_EMAIL" in failure.reason
    assert sorted(hubspot.contacts) == [
        "p0@example.com",
        "p1@example.com",
        "p2@example.com",
        "p4@example.com",
    ]


async def test_sync_hubspot_pushes_without_the_source_when_the_property_cannot_be_made(
    transactions, scope, hubspot, http
):
    await _people(transactions, scope, with_email=1)
    hubspot.may_create_properties = False
    result = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert result.pushed == 1
    assert "lead_mcp_source" not in hubspot.upserts()[0].body["inputs"][0]["properties"]
    assert "crm.schemas.contacts.write" in result.warnings[0]


async def test_sync_hubspot_never_shows_the_token_in_errors_or_logs(
    transactions, scope, hubspot, http, caplog
):
    caplog.set_level(logging.DEBUG)
    await _people(transactions, scope, with_email=1)
    wrong = "pat-na1-wrong-secret-9999"
    with pytest.raises(ExternalServiceError) as refused:
        await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot, token=wrong))
    assert "refused the token (401)" in str(refused.value) and "LEAD_MCP_HUBSPOT_TOKEN" in str(refused.value)
    hubspot.properties.add("lead_mcp_source")
    hubspot.cue(429, **{"Retry-After": "0"})
    await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert hubspot.requests[-1].authorization == f"Bearer {hubspot.token}"
    for secret in (wrong, hubspot.token):
        assert secret not in str(refused.value)
        assert secret not in caplog.text
    assert "HTTP Request: POST" in caplog.text  # httpx did log the calls, without the header


async def test_sync_hubspot_without_a_token_says_how_to_get_one(http):
    with pytest.raises(SetupError, match="LEAD_MCP_HUBSPOT_TOKEN is not set: create a HubSpot private app"):
        HubSpotClient(http, token=None, base_url="https://api.hubapi.com")


async def test_sync_hubspot_pushes_exactly_the_given_contacts(transactions, scope, hubspot, http):
    async with transactions(write=True) as session:
        one = await contacts.add_contact(
            session, scope, data=ContactCreate(full_name="Una One", emails=["una@x.io"])
        )
        await contacts.add_contact(
            session, scope, data=ContactCreate(full_name="Two Tu", emails=["two@x.io"])
        )
    result = await sync_hubspot(
        transactions, scope, hubspot=_client(http, hubspot), contact_ids=[one.contact.id]
    )
    assert result.pushed == 1 and list(hubspot.contacts) == ["una@x.io"]
    props = hubspot.contacts["una@x.io"]["properties"]
    assert (props["firstname"], props["lastname"], props["lead_mcp_source"]) == ("Una", "One", "manual")


async def _one(transactions: Any, scope: Scope, **fields: Any) -> str:
    async with transactions(write=True) as session:
        added = await contacts.add_contact(session, scope, data=ContactCreate(**fields))
    return added.contact.id


async def _change(transactions: Any, scope: Scope, contact_id: str, clock: Any, **changes: Any) -> None:
    clock.advance(timedelta(minutes=5))
    async with transactions(write=True) as session:
        await contacts.update_contact(session, scope, contact_id=contact_id, changes=ContactUpdate(**changes))


async def test_a_changed_email_updates_the_same_hubspot_contact_by_id(
    transactions, scope, hubspot, http, clock
):
    ana = await _one(transactions, scope, full_name="Ana Souza", emails=["ana@old.io"], company="X")
    first = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert first.created == 1
    hubspot_id = hubspot.contacts["ana@old.io"]["id"]

    await _change(transactions, scope, ana, clock, emails=["ana@new.io"])
    moved = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert (moved.pushed, moved.created, moved.updated, moved.failed) == (1, 0, 1, [])
    assert list(hubspot.contacts) == ["ana@new.io"] and hubspot.contacts["ana@new.io"]["id"] == hubspot_id
    (update,) = hubspot.updates()
    assert update.body["inputs"][0]["id"] == hubspot_id
    assert update.body["inputs"][0]["properties"]["email"] == "ana@new.io"
    again = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot), since="2026-01-01")
    assert (again.pushed, again.unchanged) == (0, 1)  # the link now holds the new email

    # Deleted in HubSpot meanwhile: the update finds no such id, so the contact is upserted anew.
    hubspot.contacts.clear()
    await _change(transactions, scope, ana, clock, emails=["ana@newer.io"])
    recreated = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert (recreated.created, recreated.updated, recreated.failed) == (1, 0, [])
    assert list(hubspot.contacts) == ["ana@newer.io"]


async def test_a_changed_email_another_hubspot_contact_has_is_reported(
    transactions, scope, hubspot, http, clock
):
    ana = await _one(transactions, scope, full_name="Ana Souza", emails=["ana@old.io"])
    await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    # Someone created another contact with this email in HubSpot itself.
    hubspot.contacts["bo@berg.se"] = {"id": "999", "createdAt": "", "properties": {"email": "bo@berg.se"}}
    await _change(transactions, scope, ana, clock, emails=["bo@berg.se"])
    result = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    (failure,) = result.failed
    assert failure.email == "bo@berg.se" and "already exists" in failure.reason
    assert sorted(hubspot.contacts) == ["ana@old.io", "bo@berg.se"]  # nothing merged or doubled


async def test_a_lifecycle_stage_moved_back_is_cleared_then_set_because_hubspot_only_moves_forward(
    transactions, scope, hubspot, http, clock
):
    ana = await _one(transactions, scope, full_name="Ana Souza", emails=["ana@x.io"])
    await _change(transactions, scope, ana, clock, stage=Stage.CUSTOMER)
    await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert hubspot.contacts["ana@x.io"]["properties"]["lifecyclestage"] == "customer"

    await _change(transactions, scope, ana, clock, stage=Stage.SQL)  # a correction in lead-mcp
    result = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert hubspot.contacts["ana@x.io"]["properties"]["lifecyclestage"] == "salesqualifiedlead"
    assert result.updated == 1 and result.failed == []
    assert result.warnings == [
        "1 contact(s) moved back to an earlier lifecycle stage: HubSpot only moves a stage forward, "
        "so it was cleared and set again"
    ]
    # The upsert was ignored for the stage; then two separate updates: clear, set.
    assert [r.body["inputs"][0]["properties"] for r in hubspot.updates()] == [
        {"lifecyclestage": ""},
        {"lifecyclestage": "salesqualifiedlead"},
    ]
    # Forward again needs no reset.
    await _change(transactions, scope, ana, clock, stage=Stage.OPPORTUNITY)
    forward = await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot))
    assert forward.warnings == [] and len(hubspot.updates()) == 2


async def test_a_silent_hubspot_fails_within_the_deadline_without_retrying(
    transactions, scope, hubspot, http
):
    await _one(transactions, scope, full_name="Ana Souza", emails=["ana@x.io"])
    hubspot.properties.add("lead_mcp_source")
    hubspot.silent = True
    started = time.monotonic()
    with pytest.raises(ExternalServiceError) as failed:
        await sync_hubspot(transactions, scope, hubspot=_client(http, hubspot, timeout_seconds=0.5))
    assert time.monotonic() - started < 2.5
    message = str(failed.value)
    assert message.startswith(
        "HubSpot did not answer GET /crm/v3/properties/contacts/lead_mcp_source within 0.5 s"
    )
    assert "LEAD_MCP_OUTBOUND_TIMEOUT_SECONDS" in message and hubspot.token not in message
    assert len(hubspot.requests) == 1  # a silent server is not asked again and again
