"""Exchange tools: export_vcard, export_csv, import_contacts, sync_hubspot; the .vcf and export resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Annotated, Any, Literal

import httpx
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp_types import CallToolResult, ResourceLink, TextContent, ToolAnnotations
from pydantic import Field
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.domain import ExportResult, ImportResult, SyncResult
from lead_mcp.errors import InvalidInput, LeadError, NotFound
from lead_mcp.integrations.http import outbound_client
from lead_mcp.integrations.hubspot import HubSpotClient
from lead_mcp.mcp.state import AppState
from lead_mcp.mcp.unit import READ_ONLY, WRITE, app_state, resolve_scope, unit
from lead_mcp.services import exchange
from lead_mcp.services import hubspot as hubspot_service
from lead_mcp.services.exchange import ImportSource, Transactions
from lead_mcp.services.scope import Scope

SYNC = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)

ContactIds = Annotated[
    list[Annotated[str, Field(max_length=64)]] | None,
    Field(
        description="Ids of the contacts to include (from search_contacts); omit for all.", max_length=10_000
    ),
]
Query = Annotated[
    str | None,
    Field(
        description="Plain words to select contacts, as in search_contacts (name, company, domain...). "
        "Give contact_ids or query, not both; neither means every contact.",
        max_length=500,
    ),
]


@asynccontextmanager
async def batches(ctx: Context[Any, Any]) -> AsyncIterator[tuple[Transactions, Scope, AppState]]:
    """Like ``unit`` for work that commits in several transactions (imports, big exports, syncs)."""
    state = app_state(ctx)
    try:
        scope = resolve_scope(ctx)

        def transactions(*, write: bool) -> AbstractAsyncContextManager[AsyncSession]:
            return state.db.transaction(workspace_id=scope.workspace_id, write=write)

        yield transactions, scope, state
    except LeadError as exc:
        raise ToolError(str(exc)) from exc
    except OperationalError as exc:
        raise ToolError(
            "The store is busy or unreachable right now. Try the same call again in a moment."
        ) from exc
    except DBAPIError as exc:
        raise ToolError("The store refused a change (a constraint failed). Call the tool again.") from exc


@asynccontextmanager
async def _resource_unit(ctx: Context[Any, Any]) -> AsyncIterator[tuple[AsyncSession, Scope]]:
    """``unit`` for resource reads: errors reach the client as a ResourceError with their message.

    An unknown or deleted id is a ResourceNotFoundError (the protocol's not-found answer).
    """
    try:
        async with unit(ctx, write=False) as opened:
            yield opened
    except ToolError as exc:
        if isinstance(exc.__cause__, NotFound):
            raise ResourceNotFoundError(str(exc)) from exc
        raise ResourceError(str(exc)) from exc


def _reporter(ctx: Context[Any, Any]) -> Any:
    async def report(done: int, total: int | None, message: str | None = None) -> None:
        await ctx.report_progress(done, total, message)

    return report


def _export_result(result: ExportResult) -> CallToolResult:
    mime = "text/vcard" if result.format == "vcard" else "text/csv"
    if result.content is not None:
        blocks: list[Any] = [TextContent(type="text", text=result.content or "(no contacts to export)")]
    else:
        assert result.resource_uri is not None
        blocks = [
            TextContent(
                type="text",
                text=f"Exported {result.count} contacts ({result.bytes / 1_000_000:.1f} MB). Too big to "
                f"show inline: read the resource {result.resource_uri} (available until "
                f"{result.expires_at:%Y-%m-%d %H:%M} UTC).",
            ),
            ResourceLink(
                type="resource_link",
                uri=result.resource_uri,
                name=result.filename,
                mime_type=mime,
                size=result.bytes,
                description=f"{result.count} contacts as {result.format}",
            ),
        ]
    return CallToolResult(content=blocks, structured_content=result.model_dump(mode="json"))


def register(server: MCPServer[Any]) -> None:
    """Add the exchange tools and resources to a server."""

    @server.tool(annotations=READ_ONLY)
    async def export_vcard(
        ctx: Context[Any, Any],
        contact_ids: ContactIds = None,
        query: Query = None,
        version: Annotated[
            Literal["3.0", "4.0"], Field(description="vCard version: 3.0 (every address book) or 4.0.")
        ] = "3.0",
    ) -> Annotated[CallToolResult, ExportResult]:
        """Export contacts as a .vcf file that Apple Contacts, Google Contacts and Outlook import.

        One card per contact with name, company, title, every email and phone, web site, address,
        notes, tags and custom fields. A small export (up to 1,000 contacts, and only while the text
        fits in about 80,000 characters) comes back as text; a bigger one comes back as a resource
        link (lead://exports/...) to read. Save the text as a .vcf file for the user.
        """
        async with batches(ctx) as (transactions, scope, _state):
            result = await exchange.export_vcard(
                transactions,
                scope,
                contact_ids=contact_ids,
                query=query,
                version=version,
                progress=_reporter(ctx),
            )
        return _export_result(result)

    @server.tool(annotations=READ_ONLY)
    async def export_csv(
        ctx: Context[Any, Any],
        contact_ids: ContactIds = None,
        query: Query = None,
        bom: Annotated[
            bool, Field(description="Start with a UTF-8 byte-order mark so Excel reads accents right.")
        ] = False,
    ) -> Annotated[CallToolResult, ExportResult]:
        """Export contacts as a spreadsheet-safe CSV (UTF-8, one row per contact).

        Lists (emails, phones, tags) are joined with "; "; custom fields follow as columns titled by
        their labels. Cells that a spreadsheet would run as a formula are prefixed with ' (the value
        stays readable). A small export (up to 1,000 contacts, and only while the text fits in about
        80,000 characters) comes back as text; a bigger one as a resource link to read.
        """
        async with batches(ctx) as (transactions, scope, _state):
            result = await exchange.export_csv(
                transactions, scope, contact_ids=contact_ids, query=query, bom=bom, progress=_reporter(ctx)
            )
        return _export_result(result)

    @server.tool(annotations=WRITE)
    async def import_contacts(
        ctx: Context[Any, Any],
        content: Annotated[
            str | None,
            Field(
                description="The file's text: a .vcf (vCard 2.1/3.0/4.0) or a .csv (any CSV with a header, "
                "LinkedIn Connections.csv, Google Contacts export). For big files use path instead.",
                max_length=64_000_000,
            ),
        ] = None,
        path: Annotated[
            str | None,
            Field(
                description="Path of the file on this machine, inside the folders lead-mcp may read "
                "(LEAD_MCP_SCAN_ROOTS, e.g. ~/Downloads/Connections.csv).",
                max_length=4096,
            ),
        ] = None,
        format: Annotated[
            Literal["auto", "vcard", "csv", "linkedin", "google"],
            Field(description="How to read it; auto (default) tells from the content."),
        ] = "auto",
        follow_up: Annotated[
            bool,
            Field(
                description="Schedule a first follow-up (due today) for each new contact. Default false: "
                "an import should not flood the due list."
            ),
        ] = False,
        dry_run: Annotated[
            bool,
            Field(description="Only report what would be created, merged, skipped or refused; save nothing."),
        ] = False,
    ) -> ImportResult:
        """Import contacts from a vCard or CSV file: duplicates are merged, never doubled.

        Give content (the text) or path (a file under the allowed folders). Each record goes
        through the same matching as add_contact (email, phone, or name at the same company):
        new people are created, known ones get the new details merged in, identical ones are
        skipped. Bad records are listed in errors with their line and reason; the rest still
        import. Imports commit in batches: committed_through says which records are saved.
        """
        async with batches(ctx) as (transactions, scope, state):
            if (content is None) == (path is None):
                raise InvalidInput(
                    "content", "give content or path (one of them)", "Pass the text, or a file path"
                )
            if content is not None:
                source = ImportSource.from_content(content, state.settings)
            else:
                assert path is not None
                real = exchange.resolve_under_roots(path, state.settings)
                source = ImportSource.from_file(real, state.settings)
            return await exchange.import_contacts(
                transactions,
                scope,
                source=source,
                format=format,
                follow_up=follow_up,
                dry_run=dry_run,
                progress=_reporter(ctx),
            )

    @server.tool(annotations=SYNC)
    async def sync_hubspot(
        ctx: Context[Any, Any],
        contact_ids: ContactIds = None,
        since: Annotated[
            str | None,
            Field(
                description="Push contacts changed since this ISO date or date-time (e.g. 2026-03-01). "
                "Omit both this and contact_ids to push everything new or changed since its last push.",
                max_length=40,
            ),
        ] = None,
    ) -> SyncResult:
        """Push contacts into HubSpot (one way), matched by email; safe to run again.

        Sends name, email, phone, company, job title, web site, lifecycle stage and lead source,
        100 contacts per request, waiting out HubSpot's rate limits. Contacts unchanged since
        their last push are not sent again. Contacts without an email are listed in failed.
        Needs LEAD_MCP_HUBSPOT_TOKEN (a HubSpot private-app token).
        """
        async with batches(ctx) as (transactions, scope, state):
            given: httpx.AsyncClient | None = state.extras.get("http_client")
            timeout = state.settings.outbound_timeout_seconds
            holder = nullcontext(given) if given is not None else outbound_client(timeout)
            async with holder as http:
                client = HubSpotClient(
                    http,
                    token=state.settings.hubspot_token,
                    base_url=state.settings.hubspot_base_url,
                    timeout_seconds=timeout,
                )
                return await hubspot_service.sync_hubspot(
                    transactions,
                    scope,
                    hubspot=client,
                    contact_ids=contact_ids,
                    since=since,
                    progress=_reporter(ctx),
                )

    @server.resource(
        "lead://contacts/{contact_id}.vcf",
        mime_type="text/vcard",
        description="One contact as a vCard 3.0 file, ready to save or attach.",
    )
    async def contact_vcard(contact_id: str, ctx: Context[Any, Any]) -> str:
        """One contact as a vCard 3.0."""
        async with _resource_unit(ctx) as (session, scope):
            return await exchange.contact_vcard(session, scope, contact_id=contact_id)

    @server.resource(
        "lead://exports/{export_id}.vcf",
        mime_type="text/vcard",
        description="A large vCard export made by export_vcard (kept for 24 hours).",
    )
    async def vcard_export(export_id: str, ctx: Context[Any, Any]) -> str:
        """A stored vCard export."""
        async with _resource_unit(ctx) as (session, scope):
            return await exchange.read_export(session, scope, export_id=export_id, format="vcard")

    @server.resource(
        "lead://exports/{export_id}.csv",
        mime_type="text/csv",
        description="A large CSV export made by export_csv (kept for 24 hours).",
    )
    async def csv_export(export_id: str, ctx: Context[Any, Any]) -> str:
        """A stored CSV export."""
        async with _resource_unit(ctx) as (session, scope):
            return await exchange.read_export(session, scope, export_id=export_id, format="csv")
