"""Suggestions as the user types: contacts by id prefix, tags and places already in use."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.tables import ContactRow, ContactTag
from lead_mcp.services.connector import contact_title


async def contacts_by_id_prefix(session: AsyncSession, prefix: str, *, limit: int) -> list[tuple[str, str]]:
    """Live contacts whose id starts with ``prefix``: (id, readable title), in id order."""
    rows = (
        await session.execute(
            select(
                ContactRow.id,
                ContactRow.full_name,
                ContactRow.emails,
                ContactRow.phones,
                ContactRow.title,
                ContactRow.company,
            )
            .where(ContactRow.deleted_at.is_(None), ContactRow.id.startswith(prefix.lower(), autoescape=True))
            .order_by(ContactRow.id)
            .limit(limit)
        )
    ).all()
    return [
        (row.id, contact_title(row.full_name, row.emails or [], row.phones or [], row.title, row.company))
        for row in rows
    ]


async def tags_starting(session: AsyncSession, prefix: str, *, limit: int) -> list[str]:
    """Tags on live contacts that start with ``prefix`` (tags are stored lower-case)."""
    folded = " ".join(prefix.split()).lower()
    found = await session.execute(
        select(ContactTag.tag)
        .distinct()
        .join(ContactRow, ContactRow.pk == ContactTag.contact_pk)
        .where(ContactRow.deleted_at.is_(None), ContactTag.tag.startswith(folded, autoescape=True))
        .order_by(ContactTag.tag)
        .limit(limit)
    )
    return list(found.scalars().all())


async def places_starting(session: AsyncSession, prefix: str, *, scan: int = 500) -> list[str]:
    """Events and places used in ``met_at`` that start with ``prefix`` (case-insensitive)."""
    folded = prefix.strip().lower()
    found = await session.execute(
        select(ContactRow.met_at)
        .distinct()
        .where(ContactRow.deleted_at.is_(None), ContactRow.met_at.is_not(None))
        .order_by(ContactRow.met_at)
        .limit(scan)
    )
    return [p for p in found.scalars().all() if p and p.lower().startswith(folded)]
