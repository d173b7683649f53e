"""Argument completion: contact names and ids, tags, stages, tones and places met, as the user types.

Only the arguments of lead-mcp's own prompts and contact resource templates are completed
(both templates: ``lead://contacts/{id}`` and ``lead://contacts/{contact_id}.vcf``); anything
else gets no suggestions.
"""

from __future__ import annotations

import re
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from lead_mcp.domain import Stage, Tone
from lead_mcp.mcp.unit import lead_server, unit
from lead_mcp.services import contacts, suggestions
from lead_mcp.services.connector import title_of

MAX_VALUES = 20
_ID_PREFIX = re.compile(r"^[0-9a-f]{4,8}(-[0-9a-f-]*)?$")
CONTACT_TEMPLATES = ("lead://contacts/{id}", "lead://contacts/{contact_id}.vcf")
CONTACT_ARGUMENTS = frozenset({"id", "contact_id"})
# The arguments each prompt takes (prompts.py); other prompts and arguments get no suggestions.
PROMPT_ARGUMENTS = {
    "follow_up_email": frozenset({"contact_id", "tone"}),
    "process_scanned_cards": frozenset({"met_at", "tag"}),
    "weekly_review": frozenset({"stage", "tag"}),
}


def _completion(values: list[str], more: bool) -> Completion:
    return Completion(values=values[:MAX_VALUES], has_more=more or len(values) > MAX_VALUES)


async def complete_contacts(ctx: Context[Any, Any], typed: str, *, labelled: bool) -> Completion:
    """Contacts whose name (or other words) start like ``typed``, or whose id starts with it."""
    text = typed.strip()
    async with unit(ctx, write=False) as (session, scope):
        if _ID_PREFIX.match(text.lower()):
            pairs = await suggestions.contacts_by_id_prefix(session, text, limit=MAX_VALUES + 1)
        else:
            page = await contacts.search_contacts(session, scope, query=text or None, limit=MAX_VALUES)
            pairs = [(c.id, title_of(c)) for c in page.items]
    # A prompt takes "Name — role (id)" (the prompt finds the id inside); a URI needs the bare id.
    values = [f"{label} ({contact_id})" if labelled else contact_id for contact_id, label in pairs]
    return _completion(values, len(pairs) > MAX_VALUES)


async def complete_tags(ctx: Context[Any, Any], typed: str) -> Completion:
    """Tags in use that start with ``typed``."""
    async with unit(ctx, write=False) as (session, _scope):
        tags = await suggestions.tags_starting(session, typed, limit=MAX_VALUES + 1)
    return _completion(tags, False)


async def complete_met_at(ctx: Context[Any, Any], typed: str) -> Completion:
    """Events and places already used in met_at that start with ``typed`` (case-insensitive)."""
    async with unit(ctx, write=False) as (session, _scope):
        places = await suggestions.places_starting(session, typed)
    return _completion(places, False)


def complete_stages(typed: str) -> Completion:
    """Pipeline stages that start with ``typed``, in pipeline order."""
    prefix = typed.strip().lower()
    return _completion([s.value for s in Stage if s.value.startswith(prefix)], False)


def complete_tones(typed: str) -> Completion:
    """Draft tones that start with ``typed``."""
    prefix = typed.strip().lower()
    return _completion([t.value for t in Tone if t.value.startswith(prefix)], False)


async def complete(
    ctx: Context[Any, Any],
    ref: PromptReference | ResourceTemplateReference,
    argument: CompletionArgument,
    context: CompletionContext | None,
) -> Completion | None:
    """Suggestions for the arguments of lead-mcp's prompts and resource templates."""
    typed = argument.value or ""
    if isinstance(ref, ResourceTemplateReference):
        if argument.name in CONTACT_ARGUMENTS and ref.uri in CONTACT_TEMPLATES:
            return await complete_contacts(ctx, typed, labelled=False)
        return None
    if argument.name not in PROMPT_ARGUMENTS.get(ref.name, frozenset()):
        return None
    if argument.name == "contact_id":
        return await complete_contacts(ctx, typed, labelled=True)
    if argument.name == "tag":
        return await complete_tags(ctx, typed)
    if argument.name == "stage":
        return complete_stages(typed)
    if argument.name == "met_at":
        return await complete_met_at(ctx, typed)
    if argument.name == "tone":
        return complete_tones(typed)
    return None


def register(server: MCPServer[Any]) -> None:
    """Add lead-mcp's completion source to a server."""
    lead_server(server).add_completer(complete)
