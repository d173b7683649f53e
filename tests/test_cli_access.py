"""`lead-mcp workspace | user | token`: the administrator's commands, run as real subprocesses."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from lead_mcp.clock import SystemClock
from lead_mcp.config import Settings
from lead_mcp.db.engine import Database
from lead_mcp.domain import ALL_SCOPES
from lead_mcp.errors import NotFound
from lead_mcp.services import accounts, calendar, cards, scanning, tokens
from lead_mcp.services.cards import CardInput
from lead_mcp.services.scope import Scope
from tests.e2e.servers import LEAD_MCP, lead_env

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def run(database_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """One `lead-mcp` command against the given store."""
    return subprocess.run(
        [LEAD_MCP, *args],
        input=stdin,
        env=lead_env(database_url=database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_workspace_seat_and_token_commands(database_url: str, tmp_path: Path) -> None:
    created = run(database_url, "workspace", "create", "Acme sales")
    assert created.returncode == 0, created.stderr
    workspace = created.stdout.strip()
    assert UUID.match(workspace) and created.stdout.count("\n") == 1
    assert "Acme sales" in created.stderr

    added = run(
        database_url,
        "user",
        "add",
        "Ana@Example.com",
        "--workspace",
        workspace,
        "--role",
        "owner",
        "--password-stdin",
        stdin="correct horse battery staple\n",
    )
    assert added.returncode == 0, added.stderr
    assert UUID.match(added.stdout.strip())
    assert "ana@example.com as owner" in added.stderr and "can sign in with a password" in added.stderr
    short = run(
        database_url,
        "user",
        "add",
        "tom@example.com",
        "--workspace",
        workspace,
        "--password-stdin",
        stdin="123\n",
    )
    assert short.returncode == 1 and "password" in short.stderr and short.stdout == ""
    assert run(database_url, "user", "add", "tom@example.com", "--workspace", workspace).returncode == 0

    listed = run(database_url, "user", "list", "--workspace", workspace)
    assert [line.split("\t")[1:3] for line in listed.stdout.splitlines()] == [
        ["ana@example.com", "owner"],
        ["tom@example.com", "member"],
    ]

    made = run(
        database_url,
        "token",
        "create",
        "--user",
        "ana@example.com",
        "--scope",
        "leads:read",
        "--name",
        "report",
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert made.stdout == token + "\n" and token.startswith("lmcp_pat_")
    token_id = re.search(r"token ([0-9a-f-]{36})", made.stderr)
    assert token_id and "leads:read" in made.stderr and token not in made.stderr

    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with db.transaction(all_workspaces=True, write=False) as session:
            principal = await tokens.verify_bearer(session, SystemClock(), token)
        assert principal is not None
        assert principal.scopes == ["leads:read"] and principal.workspace_id == workspace
        both = run(database_url, "token", "create", "--user", "tom@example.com")
        async with db.transaction(all_workspaces=True, write=False) as session:
            assert (await tokens.verify_bearer(session, SystemClock(), both.stdout.strip())).scopes == [
                "leads:read",
                "leads:write",
            ]

        assert "active" in run(database_url, "token", "list", "--user", "ana@example.com").stdout
        revoked = run(database_url, "token", "revoke", token_id.group(1))
        assert revoked.returncode == 0 and revoked.stdout == ""
        assert "revoked" in run(database_url, "token", "list", "--user", "ana@example.com").stdout
        async with db.transaction(all_workspaces=True, write=False) as session:
            assert await tokens.verify_bearer(session, SystemClock(), token) is None
    finally:
        await db.dispose()

    removed = run(database_url, "user", "remove", "tom@example.com", "--workspace", workspace)
    assert removed.returncode == 0 and "removed tom@example.com" in removed.stderr
    missing = run(database_url, "token", "create", "--user", "tom@example.com")
    assert (
        missing.returncode == 1 and missing.stdout == "" and "no seat for tom@example.com" in missing.stderr
    )
    assert workspace in run(database_url, "workspace", "list").stdout


async def test_removing_a_seat_closes_every_way_in_it_had_and_unpublishes_its_card(
    database_url: str, tmp_path: Path
) -> None:
    workspace = run(database_url, "workspace", "create", "Team").stdout.strip()
    for email, role in (("ana@example.com", "owner"), ("tom@example.com", "member")):
        assert (
            run(database_url, "user", "add", email, "--workspace", workspace, "--role", role).returncode == 0
        )
    settings = Settings(database_url=database_url, public_base_url="https://crm.example.com")
    clock = SystemClock()
    db = Database(database_url, pool_size=1, max_overflow=0)
    ways: dict[str, dict[str, str]] = {}
    try:
        for email in ("ana@example.com", "tom@example.com"):
            async with db.transaction(all_workspaces=True) as session:
                seat = await accounts.find_seat(session, email=email, workspace_id=workspace)
                personal, _ = await tokens.create_personal_token(
                    session, clock, user_id=seat.id, scopes=ALL_SCOPES, name="script"
                )
            scope = Scope(workspace_id=workspace, settings=settings, clock=clock, user_id=seat.id)
            async with db.transaction(workspace_id=workspace) as session:
                _, scan_token = await scanning.get_scan_link(session, scope)
                feed = await calendar.calendar_feed_url(session, scope)
                await cards.publish_card(
                    session, scope, data=CardInput(full_name=email, slug=email.split("@")[0])
                )
            assert feed.url is not None
            ways[email] = {
                "token": personal,
                "scan": scan_token,
                "feed": feed.url.rsplit("/", 1)[1][: -len(".ics")],
            }

        removed = run(database_url, "user", "remove", "tom@example.com", "--workspace", workspace)
        assert removed.returncode == 0, removed.stderr

        now = clock.now()
        async with db.transaction(all_workspaces=True, write=True) as session:
            for email, alive in (("ana@example.com", True), ("tom@example.com", False)):
                way = ways[email]
                assert (await tokens.verify_bearer(session, clock, way["token"]) is not None) is alive
                assert (await calendar.open_feed(session, way["feed"], now) is not None) is alive
                try:
                    await scanning.open_scan_link(session, now, way["scan"])
                    link_open = True
                except NotFound:
                    link_open = False
                assert link_open is alive, email
            ana_card = await cards.find_public_card(session, "ana")
            tom_card = await cards.find_public_card(session, "tom")
        assert ana_card[0] is cards.Lookup.FOUND
        assert tom_card[0] is cards.Lookup.GONE  # 410, and the slug stays reserved
    finally:
        await db.dispose()
