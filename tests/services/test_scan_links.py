"""Phone scan links: unguessable, stored hashed, bound to one workspace, and they expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lead_mcp.config import Settings
from lead_mcp.db.engine import Database
from lead_mcp.db.tables import ScanLinkRow
from lead_mcp.errors import NotFound
from lead_mcp.services import scanning
from lead_mcp.services.scope import Scope
from lead_mcp.services.workspaces import create_workspace


async def test_scan_links_expire_and_only_their_hash_is_stored(settings: Settings, clock):
    db = Database(settings.database_url)
    try:
        async with db.transaction(all_workspaces=True) as session:
            workspace = await create_workspace(session, clock, name="Team")
        scope = Scope(workspace_id=workspace, settings=settings, clock=clock)
        async with db.transaction(workspace_id=workspace) as session:
            link, token = await scanning.get_scan_link(session, scope, tags=["Fair"], met_at="Fair")
        assert link.url.endswith("/scan/" + token) and len(token) >= 40
        assert link.expires_at == clock.now() + timedelta(hours=24) and link.tags == ["fair"]
        async with db.transaction(all_workspaces=True, write=False) as session:
            stored = (await session.execute(select(ScanLinkRow))).scalars().all()
            assert [row.token_hash for row in stored] != [token] and token not in str(stored[0].__dict__)
            opened = await scanning.open_scan_link(session, clock.now() + timedelta(hours=23), token)
            assert opened.workspace_id == workspace and opened.tags == ["fair"]
            with pytest.raises(NotFound, match="expired"):
                await scanning.open_scan_link(session, clock.now() + timedelta(hours=24, seconds=1), token)
            with pytest.raises(NotFound):
                await scanning.open_scan_link(
                    session, clock.now(), token[:-1] + ("A" if token[-1] != "A" else "B")
                )
    finally:
        await db.dispose()
