"""Two `lead-mcp serve` replicas on one real PostgreSQL behave as one server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlsplit

import anyio
import asyncpg
import httpx
import pytest

from lead_mcp.db import migrate
from tests.e2e.browser import REDIRECT_URI, Pkce, authorize_url, query_of
from tests.e2e.harness import Served, bearer_client, free_port, seed_seat, serve, start, stop, wait_ready

PASSWORD = "correct horse battery staple"
CLIENTS = 20


@pytest.fixture
def replicas(pg_database_url: str) -> Iterator[tuple[Served, Served]]:
    """Two replicas behind one public URL (as behind a load balancer), on one PostgreSQL database."""
    public = f"http://127.0.0.1:{free_port()}"
    with ExitStack() as stack:
        first = stack.enter_context(serve(pg_database_url, public_base_url=public))
        second = stack.enter_context(serve(pg_database_url, public_base_url=public))
        yield first, second


def _local(served: Served, public_url: str) -> str:
    """A public URL rewritten to reach this replica directly."""
    parts = urlsplit(public_url)
    return served.url + parts.path + (f"?{parts.query}" if parts.query else "")


async def _ok(client: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content)
    assert result.structured_content is not None
    return result.structured_content


async def test_two_replicas_starting_together_on_an_empty_database_migrate_it_once(empty_pg_database_url):
    starting = [start(empty_pg_database_url), start(empty_pg_database_url)]
    try:
        for served, ready in starting:
            wait_ready(served, ready)
    finally:
        for served, _ in starting:
            stop(served)
    assert await migrate.current_revision(empty_pg_database_url) == migrate.head_revision()
    dsn = empty_pg_database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM workspaces WHERE is_local") == 1
        assert await conn.fetchval("SELECT count(*) FROM server_secrets") == 1
    finally:
        await conn.close()


async def test_a_write_through_one_replica_is_read_through_the_other(replicas, pg_database_url):
    first, second = replicas
    seat = await seed_seat(pg_database_url, workspace=None, email="replica@example.com")
    async with bearer_client(_local(first, first.public_base_url + "/mcp"), seat.token) as one:
        added = await _ok(
            one, "add_contact", {"full_name": "Rita Replica", "email": "rita@replica.example.com"}
        )
    async with bearer_client(_local(second, second.public_base_url + "/mcp"), seat.token) as two:
        found = await _ok(two, "search_contacts", {"query": "rita@replica.example.com"})
        detail = await _ok(two, "get_contact", {"contact_id": added["contact"]["id"]})
    assert [c["id"] for c in found["items"]] == [added["contact"]["id"]]
    assert detail["contact"]["owner_id"] == seat.user_id


async def test_each_step_of_a_sign_in_may_reach_a_different_replica(replicas, pg_database_url):
    first, second = replicas
    email = f"hop-{uuid.uuid4().hex[:6]}@example.com"
    seat = await seed_seat(pg_database_url, workspace=None, email=email, password=PASSWORD)
    issuer = first.public_base_url
    async with httpx.AsyncClient(timeout=30) as http:
        client = (
            await http.post(_local(second, f"{issuer}/register"), json={"redirect_uris": [REDIRECT_URI]})
        ).json()
        pkce = Pkce.make()
        url = authorize_url(issuer, client["client_id"], pkce, resource=f"{issuer}/mcp")
        to_sign_in = await http.get(_local(first, url))  # replica 1 answers /authorize
        assert to_sign_in.status_code == 302
        page = await http.get(_local(second, to_sign_in.headers["location"]))  # replica 2 shows the form
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        request_id = page.text.split('name="request" value="', 1)[1].split('"', 1)[0]
        posted = await http.post(  # replica 1 checks the form and issues the code
            _local(first, f"{issuer}/oauth/signin"),
            data={
                "request": request_id,
                "csrf": csrf,
                "email": email,
                "password": PASSWORD,
                "decision": "allow",
                "allow_write": "1",
            },
        )
        assert posted.status_code == 303, posted.text
        code = query_of(posted.headers["location"])["code"]
        tokens = await http.post(  # replica 2 redeems it
            _local(second, f"{issuer}/token"),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
                "code_verifier": pkce.verifier,
            },
        )
        assert tokens.status_code == 200, tokens.text
    async with bearer_client(_local(first, f"{issuer}/mcp"), tokens.json()["access_token"]) as one:
        assert (await _ok(one, "whoami", {}))["user"]["id"] == seat.user_id


async def test_twenty_concurrent_clients_across_both_replicas_lose_and_double_nothing(
    replicas, pg_database_url
):
    first, second = replicas
    seat = await seed_seat(pg_database_url, workspace=None, email="crowd@example.com")
    shared_ids: list[str] = []
    own_ids: list[str] = []

    async def one_client(index: int) -> None:
        served = first if index % 2 == 0 else second
        async with bearer_client(_local(served, served.public_base_url + "/mcp"), seat.token) as client:
            own = await _ok(
                client,
                "add_contact",
                {"full_name": f"Person {index:02d}", "email": f"p{index}@crowd.example.com"},
            )
            shared = await _ok(
                client,
                "add_contact",
                {"full_name": "Sam Shared", "email": "sam@shared.example.com", "tags": [f"from-{index}"]},
            )
            await _ok(
                client,
                "log_interaction",
                {"contact_id": shared["contact"]["id"], "kind": "note", "summary": f"note {index}"},
            )
        own_ids.append(own["contact"]["id"])
        shared_ids.append(shared["contact"]["id"])

    async with anyio.create_task_group() as group:
        for index in range(CLIENTS):
            group.start_soon(one_client, index)

    assert len(set(own_ids)) == CLIENTS
    assert len(set(shared_ids)) == 1
    async with bearer_client(_local(second, second.public_base_url + "/mcp"), seat.token) as reader:
        everyone = await _ok(reader, "search_contacts", {"limit": 200})
        assert len(everyone["items"]) == CLIENTS + 1
        assert len({c["id"] for c in everyone["items"]}) == CLIENTS + 1
        shared = await _ok(reader, "search_contacts", {"query": "sam@shared.example.com"})
        assert len(shared["items"]) == 1
        detail = await _ok(reader, "get_contact", {"contact_id": shared_ids[0]})
    assert sorted(i["summary"] for i in detail["interactions"]) == sorted(f"note {i}" for i in range(CLIENTS))
    assert sorted(detail["contact"]["tags"]) == sorted(f"from-{i}" for i in range(CLIENTS))
