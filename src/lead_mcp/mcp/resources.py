"""Resources an application can load as context: a contact, and the follow-ups due today.

``lead://contacts/{id}`` (a template) is the contact with its touches,
follow-ups and history, as JSON; ``lead://followups/due`` is today's due list
(overdue first). The card and vCard resources belong to their own features.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from pydantic import BaseModel

from lead_mcp.errors import NotFound
from lead_mcp.mcp.unit import lead_server, unit
from lead_mcp.services import contacts, followups
from lead_mcp.services.scope import Scope

if TYPE_CHECKING:
    pass

JSON = "application/json"
CONTACT_TEMPLATE = "lead://contacts/{id}"
DUE_URI = "lead://followups/due"
DUE_LIMIT = 50

M = TypeVar("M", bound=BaseModel)


async def _read(ctx: Context[Any, Any], make: Callable[[Any, Scope], Awaitable[M]]) -> str:
    """Run one read in its own transaction; a lead error becomes a resource error the client can read."""
    try:
        async with unit(ctx, write=False) as (session, scope):
            model = await make(session, scope)
    except ToolError as exc:
        if isinstance(exc.__cause__, NotFound):
            raise ResourceNotFoundError(str(exc)) from exc
        raise ResourceError(str(exc)) from exc
    return model.model_dump_json(indent=2)


def register(server: MCPServer[Any]) -> None:
    """Add the contact and due-list resources to a server."""
    lead = lead_server(server)

    @server.resource(
        CONTACT_TEMPLATE,
        name="contact",
        title="Contact",
        description="One contact with its recent touches, follow-ups and change history (JSON); "
        "the same record get_contact returns.",
        mime_type=JSON,
    )
    async def contact(id: str, ctx: Context[Any, Any]) -> str:
        return await _read(ctx, lambda session, scope: contacts.get_contact(session, scope, contact_id=id))

    async def due_followups(ctx: Context[Any, Any]) -> str:
        return await _read(
            ctx,
            lambda session, scope: followups.list_due_followups(
                session, scope, within_days=0, limit=DUE_LIMIT
            ),
        )

    lead.add_static_resource(
        DUE_URI,
        due_followups,
        name="due_followups",
        title="Follow-ups due today",
        description="Who to follow up with today, overdue first, then by due time and lead score (JSON, up "
        "to "
        f"{DUE_LIMIT}); list_due_followups gives more days and further pages.",
        mime_type=JSON,
    )
