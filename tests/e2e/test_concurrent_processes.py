"""Many writers across several `lead-mcp serve` processes on one store: no "database is locked", no twins.

Three real server processes share one SQLite file (or one PostgreSQL database);
fifty MCP clients write through them at once. Every call must succeed (a busy
store is waited for, never reported), every acknowledged write must be there,
and the same email added by every writer through every process ends as one
contact. The store's invariants hold afterwards.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import anyio

from mcp import Client
from tests.e2e.servers import ServerProcess, servers, start_servers
from tests.helpers import call
from tests.invariants import store_violations

WRITERS = 50
CALLS_PER_WRITER = 6


async def _writer(index: int, server: ServerProcess, log: dict[str, Any]) -> None:
    rng = random.Random(index)
    async with Client(server.mcp_url) as client:
        mine = await call(
            client,
            "add_contact",
            {"full_name": f"Writer {index}", "email": f"writer{index}@procs.io", "company": "Procs"},
        )
        contact_id = mine["contact"]["id"]
        log["contacts"].add(contact_id)
        # Everybody adds the same person at the same time, each with their own phone number.
        shared = await call(
            client,
            "add_contact",
            {"full_name": "Shared Person", "email": "same@procs.io", "phone": f"+1415555{index:04d}"},
        )
        log["shared"].append(shared)
        for step in range(CALLS_PER_WRITER - 2):
            if step % 2 == 0:
                touched = await call(
                    client,
                    "log_interaction",
                    {"contact_id": contact_id, "kind": "call", "summary": f"call {step} from {index}"},
                )
                log["interactions"].add(touched["interaction"]["id"])
            else:
                await call(
                    client,
                    "schedule_followup",
                    {"contact_id": contact_id, "due": f"2026-04-{rng.randint(1, 28):02d}"},
                )


async def _run_writers(running: list[ServerProcess]) -> dict[str, Any]:
    log: dict[str, Any] = {"contacts": set(), "interactions": set(), "shared": []}
    async with anyio.create_task_group() as group:
        for index in range(WRITERS):
            group.start_soon(_writer, index, running[index % len(running)], log)
    return log


async def test_fifty_writers_through_three_server_processes_all_succeed_and_one_email_is_one_contact(
    database_url: str,
) -> None:
    with servers(3, database_url=database_url, log_level="WARNING") as running:
        log = await _run_writers(running)  # `call` fails the test on any isError ("database is locked"...)
        async with Client(running[0].mcp_url) as reader:
            shared = await call(reader, "search_contacts", {"query": "same@procs.io"})
            assert len(shared["items"]) == 1
            assert sum(r["created"] for r in log["shared"]) == 1
            assert {r["contact"]["id"] for r in log["shared"]} == {shared["items"][0]["id"]}
            assert len(shared["items"][0]["phones"]) == WRITERS  # no writer's merge was lost
            for contact_id in list(log["contacts"])[:10]:
                detail = await call(reader, "get_contact", {"contact_id": contact_id})
                assert len(detail["interactions"]) == (CALLS_PER_WRITER - 2) // 2
            page = await call(reader, "search_contacts", {"query": "procs", "limit": 200})
            assert {c["id"] for c in page["items"]} >= log["contacts"]
    assert len(log["interactions"]) == WRITERS * ((CALLS_PER_WRITER - 2) // 2)
    assert await store_violations(database_url) == []


async def test_three_servers_starting_at_once_on_a_new_sqlite_file_all_come_up(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'lead.db'}"  # no file yet: all three migrate it
    running = start_servers(3, database_url=url, log_level="WARNING")
    try:
        for server in running:
            async with Client(server.mcp_url) as client:
                await call(client, "add_contact", {"full_name": "Ana", "email": "ana@fresh.io"})
        async with Client(running[2].mcp_url) as client:
            page = await call(client, "search_contacts", {"query": "ana@fresh.io"})
        assert len(page["items"]) == 1
    finally:
        for server in running:
            server.stop()
    assert await store_violations(url) == []
