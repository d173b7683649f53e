"""Argument completion: contact names and ids, tags, stages and places met, as the user types."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)
from sqlalchemy import select

from lead_mcp.db.tables import ContactRow, ContactTag
from lead_mcp.domain import Stage
from lead_mcp.mcp.unit import lead_server, unit
from lead_mcp.services import contacts
from lead_mcp.services.connector import title_of

if TYPE_CHECKING:
    pass

MAX_VALUES = 20
_ID_PREFIX = re.compile(r"^[0-9a-f]{4,8}(-[0-9a-f-]*)?$")
CONTACT_TEMPLATES = ("lead://contacts/{id}",)


def _completion(values: list[str], more: bool) -> Completion:
    return Completion(values=values[:MAX_VALUES], has_more=more or len(values) > MAX_VALUES)


async def complete_contacts(ctx: Context[Any, Any], typed: str, *, labelled: bool) -> Completion:
    """Contacts whose name (or other words) start like ``typed``, or whose id starts with it."""
    text = typed.strip()
    async with unit(ctx, write=False) as (session, scope):
        if _ID_PREFIX.match(text.lower()):
            rows = (
                await session.execute(
                    select(ContactRow.id, ContactRow.full_name)
                    .where(
                        ContactRow.deleted_at.is_(None),
                        ContactRow.id.startswith(text.lower(), autoescape=True),
                    )
                    .order_by(ContactRow.id)
                    .limit(MAX_VALUES + 1)
                )
            ).all()
            pairs = [(contact_id, name or contact_id) for contact_id, name in rows]
        else:
            page = await contacts.search_contacts(session, scope, query=text or None, limit=MAX_VALUES)
            pairs = [(c.id, title_of(c)) for c in page.items]
    # A prompt takes "Name — role (id)" (the prompt finds the id inside); a URI needs the bare id.
    values = [f"{label} ({contact_id})" if labelled else contact_id for contact_id, label in pairs]
    return _completion(values, len(pairs) > MAX_VALUES)


async def complete_tags(ctx: Context[Any, Any], typed: str) -> Completion:
    """Tags in use that start with ``typed``."""
    prefix = " ".join(typed.split()).lower()
    async with unit(ctx, write=False) as (session, _scope):
        tags = (
            (
                await session.execute(
                    select(ContactTag.tag)
                    .distinct()
                    .join(ContactRow, ContactRow.pk == ContactTag.contact_pk)
                    .where(
                        ContactRow.deleted_at.is_(None), ContactTag.tag.startswith(prefix, autoescape=True)
                    )
                    .order_by(ContactTag.tag)
                    .limit(MAX_VALUES + 1)
                )
            )
            .scalars()
            .all()
        )
    return _completion(list(tags), False)


async def complete_met_at(ctx: Context[Any, Any], typed: str) -> Completion:
    """Events and places already used in met_at that start with ``typed`` (case-insensitive)."""
    prefix = typed.strip().lower()
    async with unit(ctx, write=False) as (session, _scope):
        places = (
            (
                await session.execute(
                    select(ContactRow.met_at)
                    .distinct()
                    .where(ContactRow.deleted_at.is_(None), ContactRow.met_at.is_not(None))
                    .order_by(ContactRow.met_at)
                    .limit(500)
                )
            )
            .scalars()
            .all()
        )
    matching = [p for p in places if p and p.lower().startswith(prefix)]
    return _completion(matching, False)


def complete_stages(typed: str) -> Completion:
    """Pipeline stages that start with ``typed``, in pipeline order."""
    prefix = typed.strip().lower()
    return _completion([s.value for s in Stage if s.value.startswith(prefix)], False)


async def complete(
    ctx: Context[Any, Any],
    ref: PromptReference | ResourceTemplateReference,
    argument: CompletionArgument,
    context: CompletionContext | None,
) -> Completion | None:
    """Suggestions for the arguments of lead-mcp's prompts and resource templates."""
    typed = argument.value or ""
    if isinstance(ref, ResourceTemplateReference):
        if argument.name == "id" and ref.uri.startswith(CONTACT_TEMPLATES):
            return await complete_contacts(ctx, typed, labelled=False)
        return None
    if argument.name == "contact_id":
        return await complete_contacts(ctx, typed, labelled=True)
    if argument.name == "tag":
        return await complete_tags(ctx, typed)
    if argument.name == "stage":
        return complete_stages(typed)
    if argument.name == "met_at":
        return await complete_met_at(ctx, typed)
    return None


def register(server: MCPServer[Any]) -> None:
    """Add lead-mcp's completion source to a server."""
    lead_server(server).add_completer(complete)
