"""Concurrent writers: the same email added at once from several clients ends in one contact."""

from __future__ import annotations

import anyio

from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.mcp.server import build_server
from mcp import Client
from tests.helpers import call


async def test_concurrent_add_contact_of_one_email_ends_in_one_contact(
    settings: Settings, clock: FixedClock
) -> None:
    results: list[dict] = []
    async with (
        Client(build_server(settings, clock=clock)) as first,
        Client(build_server(settings, clock=clock)) as second,
    ):  # two servers, two connection pools, one store

        async def add(client: Client, i: int) -> None:
            results.append(
                await call(
                    client,
                    "add_contact",
                    {"full_name": f"Ana {i}", "email": "ana@race.io", "phone": f"+1415555{i:04d}"},
                )
            )

        async with anyio.create_task_group() as group:
            for i in range(12):
                group.start_soon(add, first if i % 2 else second, i)
        page = await call(first, "search_contacts", {"query": "ana@race.io"})
    assert len(page["items"]) == 1
    assert sum(r["created"] for r in results) == 1
    assert {r["contact"]["id"] for r in results} == {page["items"][0]["id"]}
    assert len(page["items"][0]["phones"]) == 12  # every writer's phone was merged in, none lost


async def test_concurrent_completions_of_one_followup_complete_it_once(
    settings: Settings, clock: FixedClock
) -> None:
    async with (
        Client(build_server(settings, clock=clock)) as first,
        Client(build_server(settings, clock=clock)) as second,
    ):
        await call(first, "add_contact", {"full_name": "Ana", "email": "ana@race.io"})
        followup_id = (await call(first, "list_due_followups", {}))["items"][0]["followup_id"]
        outcomes: list[bool] = []

        async def complete(client: Client) -> None:
            result = await client.call_tool("complete_followup", {"followup_id": followup_id})
            outcomes.append(bool(result.is_error))

        async with anyio.create_task_group() as group:
            for i in range(6):
                group.start_soon(complete, first if i % 2 else second)
        contact = (await call(first, "search_contacts", {"query": "ana@race.io"}))["items"][0]
        detail = await call(first, "get_contact", {"contact_id": contact["id"]})
    assert sorted(outcomes) == [False, True, True, True, True, True]
    assert len(detail["interactions"]) == 1
    assert [f["step"] for f in detail["followups"] if f["status"] == "pending"] == [2]


async def test_fifty_concurrent_writers_over_three_connection_pools_all_succeed(
    settings: Settings, clock: FixedClock
) -> None:
    """Three servers in one process (three pools, three SQLite writers) and fifty writers: no busy errors."""
    from tests.invariants import store_violations

    async with (
        Client(build_server(settings, clock=clock)) as first,
        Client(build_server(settings, clock=clock)) as second,
        Client(build_server(settings, clock=clock)) as third,
    ):
        clients = [first, second, third]
        ids: list[str] = []

        async def writer(i: int) -> None:
            client = clients[i % 3]
            added = await call(
                client, "add_contact", {"full_name": f"Pool Writer {i}", "email": f"w{i}@pools.io"}
            )
            ids.append(added["contact"]["id"])
            await call(
                client,
                "log_interaction",
                {"contact_id": added["contact"]["id"], "kind": "email", "summary": "hi"},
            )
            await call(
                client,
                "add_contact",
                {"full_name": "Everybody", "email": "all@pools.io", "phone": f"+1415555{i:04d}"},
            )

        async with anyio.create_task_group() as group:
            for i in range(50):
                group.start_soon(writer, i)
        everybody = await call(first, "search_contacts", {"query": "all@pools.io"})
        assert len(everybody["items"]) == 1 and len(everybody["items"][0]["phones"]) == 50
        page = await call(second, "search_contacts", {"query": "pools.io", "limit": 200})
        assert {c["id"] for c in page["items"]} >= set(ids) and len(ids) == 50
    assert await store_violations(settings.database_url) == []
