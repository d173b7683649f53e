"""Custom-field tools: define the typed properties contacts can carry, and list them."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from lead_mcp.domain import CustomFieldList, CustomFieldType
from lead_mcp.mcp.unit import IDEMPOTENT_WRITE, READ_ONLY, unit
from lead_mcp.services import custom_fields


def register(server: MCPServer[Any]) -> None:
    """Add the custom-field tools to a server."""

    @server.tool(annotations=IDEMPOTENT_WRITE)
    async def define_custom_field(
        ctx: Context[Any, Any],
        label: Annotated[
            str, Field(description="The name people see, e.g. 'Industry' or 'Deal size'.", max_length=100)
        ],
        type: Annotated[
            CustomFieldType,
            Field(description="text, number, date (values as YYYY-MM-DD) or choice (one of `choices`)."),
        ],
        key: Annotated[
            str | None,
            Field(
                description="Key the values are stored under (lower-case, digits, underscores); default: "
                "made "
                "from the label ('Deal size' -> 'deal_size').",
                max_length=40,
            ),
        ] = None,
        choices: Annotated[
            list[Annotated[str, Field(max_length=100)]] | None,
            Field(
                description="The allowed values of a choice field, e.g. ['fintech', 'retail'].",
                max_length=100,
            ),
        ] = None,
        description: Annotated[
            str | None, Field(description="What the field means, for whoever fills it in.", max_length=500)
        ] = None,
    ) -> CustomFieldList:
        """Create a custom field contacts can carry (e.g. Industry, Deal size, Renewal date), or update one.

        Then set values with add_contact or update_contact: custom={'industry': 'fintech'}. Values are
        checked against the type and found by search_contacts. Defining an existing key again changes its
        label, description or choices (a choice field only gains choices; a type never changes).
        Returns all the workspace's custom fields.
        """
        async with unit(ctx, write=True) as (session, scope):
            return await custom_fields.define_custom_field(
                session, scope, label=label, type=type, key=key, choices=choices, description=description
            )

    @server.tool(annotations=READ_ONLY)
    async def list_custom_fields(ctx: Context[Any, Any]) -> CustomFieldList:
        """The custom fields defined for contacts: key, label, type and choices (use the keys in `custom`)."""
        async with unit(ctx, write=False) as (session, scope):
            return await custom_fields.list_custom_fields(session, scope)
