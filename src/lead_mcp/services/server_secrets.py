"""Secrets the server generates once and keeps in the database, so every replica shares them."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import Clock
from lead_mcp.db.tables import ServerSecret

SECRET_BYTES = 32
REQUEST_STATE_SECRET = "request_state"  # noqa: S105 - the name of a secret, not one


async def get_or_create_secret(session: AsyncSession, clock: Clock, name: str) -> str:
    """The stored secret called ``name``; a random one is generated and stored on first use."""
    found = (await session.execute(select(ServerSecret.value).where(ServerSecret.name == name))).scalar()
    if found:
        return found
    value = secrets.token_urlsafe(SECRET_BYTES)
    try:
        async with session.begin_nested():
            session.add(ServerSecret(name=name, value=value, created_at=clock.now()))
    except IntegrityError:  # another replica generated it at the same moment: use theirs
        pass
    stored = (await session.execute(select(ServerSecret.value).where(ServerSecret.name == name))).scalar_one()
    return stored
