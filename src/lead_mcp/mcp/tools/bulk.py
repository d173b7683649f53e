"""Bulk changes: tags, stage or owner for many contacts at once."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from lead_mcp.domain import BulkUpdateResult, Source, Stage
from lead_mcp.mcp.unit import IDEMPOTENT_WRITE, unit
from lead_mcp.services import bulk

TagList = Annotated[list[Annotated[str, Field(max_length=100)]] | None, Field(max_length=50)]


def register(server: MCPServer[Any]) -> None:
    """Add the bulk tool to a server."""

    @server.tool(annotations=IDEMPOTENT_WRITE)
    async def bulk_update(
        ctx: Context[Any, Any],
        contact_ids: Annotated[
            list[Annotated[str, Field(max_length=64)]] | None,
            Field(description="Select these contacts (ids from search_contacts).", max_length=1000),
        ] = None,
        query: Annotated[
            str | None,
            Field(
                description="Select contacts matching these words, as search_contacts does.", max_length=500
            ),
        ] = None,
        stage: Annotated[Stage | None, Field(description="Select contacts at this stage.")] = None,
        tag: Annotated[
            str | None, Field(description="Select contacts with this tag.", max_length=100)
        ] = None,
        source: Annotated[Source | None, Field(description="Select contacts from this source.")] = None,
        add_tags: Annotated[TagList, Field(description="Tags to add to every selected contact.")] = None,
        remove_tags: Annotated[
            TagList, Field(description="Tags to remove from every selected contact.")
        ] = None,
        set_stage: Annotated[
            Stage | None, Field(description="Move every selected contact to this stage.")
        ] = None,
        set_owner: Annotated[
            str | None,
            Field(
                description="Give the selected contacts to this user (email or id); '' clears the owner.",
                max_length=320,
            ),
        ] = None,
        dry_run: Annotated[
            bool,
            Field(
                description="true (default): only count what would change. Show the count to the user, then "
                "call again with dry_run=false."
            ),
        ] = True,
    ) -> BulkUpdateResult:
        """Change tags, stage or owner of many contacts at once, selected by ids or like search_contacts.

        Run it first as it is (a dry run) to get how many contacts match and would change, tell the user,
        then repeat the same call with dry_run=false. All changes happen in one transaction, up to 10,000
        contacts, and each is kept in the contact's history.
        """
        async with unit(ctx, write=not dry_run) as (session, scope):
            return await bulk.bulk_update(
                session,
                scope,
                contact_ids=contact_ids,
                query=query,
                stage=stage,
                tag=tag,
                source=source,
                add_tags=add_tags,
                remove_tags=remove_tags,
                set_stage=set_stage,
                set_owner=set_owner,
                dry_run=dry_run,
            )
