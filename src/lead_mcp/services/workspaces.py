"""Workspaces: the tenant every row belongs to.

stdio mode and unauthenticated HTTP use one local workspace.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import Clock
from lead_mcp.db.tables import Workspace, new_id

LOCAL_WORKSPACE_NAME = "Local"
# A fixed id, so two processes starting on an empty store at once create one local workspace, not two.
LOCAL_WORKSPACE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "lead-mcp:local-workspace"))


async def ensure_local_workspace(session: AsyncSession, clock: Clock) -> str:
    """The id of the local workspace, created on first use."""
    found = (await session.execute(select(Workspace.id).where(Workspace.id == LOCAL_WORKSPACE_ID))).scalar()
    if found:
        return found
    try:
        async with session.begin_nested():
            session.add(
                Workspace(
                    id=LOCAL_WORKSPACE_ID, name=LOCAL_WORKSPACE_NAME, is_local=True, created_at=clock.now()
                )
            )
    except IntegrityError:  # a concurrent first start created it
        pass
    return LOCAL_WORKSPACE_ID


async def create_workspace(session: AsyncSession, clock: Clock, *, name: str) -> str:
    """A new workspace; returns its id."""
    workspace = Workspace(
        id=new_id(), name=name.strip() or "Workspace", is_local=False, created_at=clock.now()
    )
    session.add(workspace)
    await session.flush()
    return workspace.id
