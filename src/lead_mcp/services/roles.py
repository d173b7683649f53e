"""What a seat's role allows: members share the leads, the owner also runs the workspace.

Anyone with a seat may add, change, tag, schedule and (restorably) delete contacts,
and keeps a card of their own. Changes that reach every seat or cannot be undone
are the owner's: erasing a contact for good, pushing the workspace to HubSpot,
defining custom fields and cadences, and handing many contacts to someone at once.
A member asking for one gets ``PermissionDenied`` naming the owner to ask.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.tables import User
from lead_mcp.domain import Role
from lead_mcp.errors import PermissionDenied
from lead_mcp.services.scope import Scope


async def require_owner(session: AsyncSession, scope: Scope, action: str) -> None:
    """Refuse ``action`` unless the caller owns the workspace; the message names whom to ask."""
    if scope.role is Role.OWNER:
        return
    owners = (
        (
            await session.execute(
                select(User.email).where(User.role == Role.OWNER.value).order_by(User.created_at)
            )
        )
        .scalars()
        .all()
    )
    ask = " or ".join(owners[:3]) if owners else "the workspace owner"
    raise PermissionDenied(
        f"only the workspace owner can {action}; ask {ask} (your role: {scope.role.value})"
    )
