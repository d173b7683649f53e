"""Who the caller is: the seat, its workspace, its role and the scopes of this connection."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.tables import User, Workspace
from lead_mcp.domain import Role, WhoAmI, WhoAmIUser, WhoAmIWorkspace
from lead_mcp.errors import PermissionDenied
from lead_mcp.services.scope import Scope


async def whoami(session: AsyncSession, scope: Scope, *, auth: str, read_only_mode: bool) -> WhoAmI:
    """The caller's seat (none for the local workspace), workspace, role and scopes."""
    workspace = (
        await session.execute(select(Workspace).where(Workspace.id == scope.workspace_id))
    ).scalar_one()
    user = None
    role = Role.OWNER
    if scope.user_id is not None:
        row = (await session.execute(select(User).where(User.id == scope.user_id))).scalar_one_or_none()
        if row is None:
            raise PermissionDenied("This seat was removed from the workspace; ask its owner to add you again")
        user = WhoAmIUser(id=row.id, email=row.email, name=row.name)
        role = Role(row.role)
    return WhoAmI(
        user=user,
        workspace=WhoAmIWorkspace(id=workspace.id, name=workspace.name),
        role=role,
        scopes=sorted(scope.scopes),
        auth=auth,
        read_only_mode=read_only_mode,
    )
