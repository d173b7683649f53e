"""Seats, passwords, tokens and rate limits in the store (both databases)."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest

from lead_mcp.clock import FixedClock
from lead_mcp.db import migrate
from lead_mcp.db.engine import Database
from lead_mcp.db.tables import AuthToken
from lead_mcp.domain import Role
from lead_mcp.errors import Conflict, InvalidInput
from lead_mcp.services import accounts, ratelimit, tokens

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def db(database_url: str):
    await migrate.upgrade(database_url)
    store = Database(database_url, pool_size=5, max_overflow=5)
    yield store
    await store.dispose()


async def test_passwords_are_stored_as_argon2id_and_checked(db: Database, clock: FixedClock) -> None:
    async with db.transaction(all_workspaces=True) as session:
        ws = await accounts.create_workspace(session, clock, name="Acme")
        await accounts.add_user(
            session, clock, workspace_id=ws.id, email="Ana@Example.com", password=PASSWORD
        )
    async with db.transaction(all_workspaces=True, write=False) as session:
        row = await accounts.find_seat(session, email="ana@example.com")
        assert row.password_hash and row.password_hash.startswith("$argon2id$")
        assert PASSWORD not in row.password_hash
        assert [
            s.id for s in await accounts.authenticate(session, email="ANA@example.com", password=PASSWORD)
        ] == [row.id]
        assert await accounts.authenticate(session, email="ana@example.com", password="wrong password") == []
        assert await accounts.authenticate(session, email="nobody@example.com", password=PASSWORD) == []
    with pytest.raises(InvalidInput, match="password"):
        await accounts.hash_password("short")


async def test_an_email_has_one_seat_per_workspace_but_may_sit_in_several(
    db: Database, clock: FixedClock
) -> None:
    async with db.transaction(all_workspaces=True) as session:
        first = await accounts.create_workspace(session, clock, name="One")
        second = await accounts.create_workspace(session, clock, name="Two")
        await accounts.add_user(
            session, clock, workspace_id=first.id, email="sam@example.com", password=PASSWORD
        )
        await accounts.add_user(
            session,
            clock,
            workspace_id=second.id,
            email="sam@example.com",
            role=Role.OWNER,
            password=PASSWORD,
        )
        with pytest.raises(Conflict, match="already has a seat"):
            await accounts.add_user(session, clock, workspace_id=first.id, email="sam@example.com")
        seats = await accounts.authenticate(session, email="sam@example.com", password=PASSWORD)
        assert {s.workspace_id for s in seats} == {first.id, second.id}
        with pytest.raises(InvalidInput, match="--workspace"):
            await accounts.find_seat(session, email="sam@example.com")


async def test_a_personal_token_works_until_revoked_or_expired(db: Database, clock: FixedClock) -> None:
    async with db.transaction(all_workspaces=True) as session:
        ws = await accounts.create_workspace(session, clock, name="Acme")
        seat = await accounts.add_user(session, clock, workspace_id=ws.id, email="pat@example.com")
        forever, info = await tokens.create_personal_token(
            session, clock, user_id=seat.id, scopes=["leads:read"]
        )
        brief, _ = await tokens.create_personal_token(
            session, clock, user_id=seat.id, scopes=["leads:write", "leads:read"], expires_in_days=1
        )
    assert forever.startswith("lmcp_pat_")
    async with db.transaction(all_workspaces=True, write=False) as session:
        stored = await tokens.find_token(session, forever)
        assert (
            stored is not None
            and stored.token_hash == tokens.digest(forever)
            and forever not in stored.token_hash
        )
        principal = await tokens.verify_bearer(session, clock, forever)
        assert (
            principal is not None and principal.scopes == ["leads:read"] and principal.workspace_id == ws.id
        )
        assert (await tokens.verify_bearer(session, clock, brief)).scopes == ["leads:read", "leads:write"]
    clock.advance(timedelta(days=2))
    async with db.transaction(all_workspaces=True) as session:
        assert await tokens.verify_bearer(session, clock, brief) is None
        assert await tokens.verify_bearer(session, clock, forever) is not None
        await tokens.revoke_by_id(session, clock, token_id=info.id)
        assert await tokens.verify_bearer(session, clock, forever) is None
        assert await tokens.verify_bearer(session, clock, "lmcp_pat_guess") is None
    with pytest.raises(InvalidInput, match="unknown scope"):
        tokens.check_scopes(["admin"])


async def test_removing_a_seat_kills_its_tokens(db: Database, clock: FixedClock) -> None:
    async with db.transaction(all_workspaces=True) as session:
        ws = await accounts.create_workspace(session, clock, name="Acme")
        seat = await accounts.add_user(session, clock, workspace_id=ws.id, email="gone@example.com")
        token, _ = await tokens.create_personal_token(session, clock, user_id=seat.id, scopes=["leads:read"])
    async with db.transaction(all_workspaces=True) as session:
        await accounts.remove_user(session, workspace_id=ws.id, email="gone@example.com")
    async with db.transaction(all_workspaces=True, write=False) as session:
        assert await tokens.verify_bearer(session, clock, token) is None
        assert await tokens.find_token(session, token) is None


async def test_rate_limit_hits_from_two_processes_at_once_are_all_counted(
    database_url: str, db: Database, clock: FixedClock
) -> None:
    other = Database(database_url, pool_size=5, max_overflow=5)  # a second replica's engine
    counts: list[int] = []

    async def one_hit(store: Database) -> None:
        async with store.transaction(all_workspaces=True) as session:
            counts.append(
                await ratelimit.hit(session, clock, key="signin:ip:203.0.113.7", window_seconds=900)
            )

    try:
        async with anyio.create_task_group() as group:
            for index in range(20):
                group.start_soon(one_hit, db if index % 2 else other)
    finally:
        await other.dispose()
    assert sorted(counts) == list(range(1, 21))
    async with db.transaction(all_workspaces=True, write=False) as session:
        assert await ratelimit.hits(session, clock, key="signin:ip:203.0.113.7", window_seconds=900) == 20
    clock.advance(timedelta(minutes=15))
    async with db.transaction(all_workspaces=True) as session:
        assert await ratelimit.hit(session, clock, key="signin:ip:203.0.113.7", window_seconds=900) == 1


async def test_tokens_rows_belong_to_the_seat_workspace(db: Database, clock: FixedClock) -> None:
    async with db.transaction(all_workspaces=True) as session:
        ws = await accounts.create_workspace(session, clock, name="Acme")
        seat = await accounts.add_user(session, clock, workspace_id=ws.id, email="own@example.com")
        await tokens.create_personal_token(session, clock, user_id=seat.id, scopes=["leads:read"])
    # Another workspace's session sees none of them (the session guard covers token rows too).
    async with db.transaction(workspace_id="00000000-0000-4000-8000-000000000000", write=False) as session:
        from sqlalchemy import select

        assert (await session.execute(select(AuthToken))).scalars().all() == []
