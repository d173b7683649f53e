"""Safety and privacy tools: restore a deleted contact, record withdrawn consent, undo a wrong merge."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from lead_mcp.domain import ConsentResult, RestoreResult, UndoMergeResult
from lead_mcp.mcp.tools.contacts import ContactId
from lead_mcp.mcp.unit import IDEMPOTENT_WRITE, WRITE, unit
from lead_mcp.services import privacy


def register(server: MCPServer[Any]) -> None:
    """Add the privacy tools to a server."""

    @server.tool(annotations=WRITE)
    async def restore_contact(ctx: Context[Any, Any], contact_id: ContactId) -> RestoreResult:
        """Bring back a deleted contact (within 30 days of the delete, the default) with its follow-ups.

        If another contact took one of its emails or phones meanwhile, that value stays with the other
        contact and is listed in `clashes` (compare the two with get_contact).
        """
        async with unit(ctx, write=True) as (session, scope):
            return await privacy.restore_contact(session, scope, contact_id=contact_id)

    @server.tool(annotations=IDEMPOTENT_WRITE)
    async def withdraw_consent(
        ctx: Context[Any, Any],
        contact_id: ContactId,
        note: Annotated[
            str | None,
            Field(description="How they withdrew, e.g. 'Replied: please stop emailing me'.", max_length=1000),
        ] = None,
    ) -> ConsentResult:
        """Record that a person withdrew consent to be contacted.

        Their pending follow-ups are cancelled, no automatic follow-up is scheduled for them again, and
        the withdrawal is kept in their history. To remove their data entirely, use delete_contact with
        erase=true.
        """
        async with unit(ctx, write=True) as (session, scope):
            return await privacy.withdraw_consent(session, scope, contact_id=contact_id, note=note)

    @server.tool(annotations=WRITE)
    async def undo_merge(
        ctx: Context[Any, Any],
        contact_id: ContactId,
        change_id: Annotated[
            str | None,
            Field(
                description="Id of the 'merged' entry in get_contact's history; default: the newest merge "
                "not "
                "yet undone.",
                max_length=64,
            ),
        ] = None,
        split_off: Annotated[
            bool,
            Field(
                description="true (default): also make the merged-in details a contact of their own (the "
                "merge "
                "joined two different people). false: only take the merged values back out."
            ),
        ] = True,
    ) -> UndoMergeResult:
        """Undo a wrong merge: take back the values a duplicate add filled in, and split them off.

        Fields changed after the merge are left alone and listed in `skipped`. With split_off the details
        that came in become a new contact (emails or phones still held by a contact are set aside).
        """
        async with unit(ctx, write=True) as (session, scope):
            return await privacy.undo_merge(
                session, scope, contact_id=contact_id, change_id=change_id, split_off=split_off
            )
