"""Card scanning tools: scan_card (photo to saved lead) and get_scan_link (the phone scan page)."""

from __future__ import annotations

import base64
import functools
import io
from typing import Annotated, Any

import segno
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import Field

from lead_mcp.domain import ScanCardResult, ScanLink
from lead_mcp.mcp.unit import WRITE, scoped, unit
from lead_mcp.services import scanning

SCAN = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)


def register(server: MCPServer[Any]) -> None:
    """Add the scanning tools to a server."""

    @server.tool(annotations=SCAN)
    async def scan_card(
        ctx: Context[Any, Any],
        image_base64: Annotated[
            str | None,
            Field(
                description="The photo's bytes, base64-encoded (PNG, JPEG or WebP; small photos only).",
                max_length=4_000_000,
            ),
        ] = None,
        image_path: Annotated[
            str | None,
            Field(
                description="A photo file, or a folder of photos, inside the user's scan folders "
                "(Downloads, Desktop, Pictures by default). A folder scans every image in it.",
                max_length=4096,
            ),
        ] = None,
        image_url: Annotated[
            str | None, Field(description="A public http(s) URL of the photo.", max_length=2048)
        ] = None,
        save: Annotated[
            bool, Field(description="Save the card as a lead (merged into an existing contact if it is one).")
        ] = True,
        tags: Annotated[
            list[Annotated[str, Field(max_length=100)]] | None,
            Field(description="Labels for the saved lead, e.g. ['websummit'].", max_length=50),
        ] = None,
        met_at: Annotated[
            str | None,
            Field(description="Event or place where you met, e.g. 'Web Summit 2026'.", max_length=300),
        ] = None,
    ) -> ScanCardResult:
        """Read a photo of a paper business card (offline OCR) and save the person as a lead.

        Give exactly one of image_path (best for real photos: a file or a whole folder under the
        scan folders), image_url or image_base64. Returns the fields read (name, title, company,
        emails, phones in E.164, website, address) with a confidence per field and the raw lines,
        and with save=true the created or merged contact with a follow-up due today. Check fields
        with low confidence against `lines` and fix them with update_contact. The same image file
        scanned twice is recognised (already_scanned). For cards on the user's phone, call
        get_scan_link instead.
        """
        async with scoped(ctx) as (state, scope):
            reader = scanning.shared_reader(state.extras, state.settings)
            transactions = functools.partial(state.db.transaction, workspace_id=scope.workspace_id)
            return await scanning.scan_card(
                transactions,
                scope,
                reader=reader,
                image_base64=image_base64,
                image_path=image_path,
                image_url=image_url,
                save=save,
                tags=tags,
                met_at=met_at,
                progress=ctx.report_progress,
            )

    @server.resource("lead://scans/{scan_id}.jpg", mime_type="image/jpeg", title="Scanned card image")
    async def scan_image(scan_id: str, ctx: Context[Any, Any]) -> bytes:
        """The straightened photo of a scanned card (scan_card's scan_id), to check what was read."""
        async with unit(ctx, write=False) as (session, scope):
            return await scanning.get_scan_image(session, scope, scan_id=scan_id)

    @server.tool(annotations=WRITE)
    async def get_scan_link(
        ctx: Context[Any, Any],
        valid_hours: Annotated[
            int | None, Field(description="Hours the link works; default 24.", ge=1, le=720)
        ] = None,
        tags: Annotated[
            list[Annotated[str, Field(max_length=100)]] | None,
            Field(description="Labels every lead scanned through this link gets.", max_length=50),
        ] = None,
        met_at: Annotated[
            str | None,
            Field(description="Event or place for every lead scanned through the link.", max_length=300),
        ] = None,
    ) -> Annotated[CallToolResult, ScanLink]:
        """A private link (and its QR code) to a page where the user photographs cards with their phone.

        Each photo taken or picked on that page is scanned and saved as a lead, with the result
        shown on the page. Show the QR code or the URL to the user; the link expires (default
        24 hours) and only adds leads to this workspace. The phone must reach this server's
        public address (LEAD_MCP_PUBLIC_BASE_URL).
        """
        async with unit(ctx, write=True) as (session, scope):
            link, _token = await scanning.get_scan_link(
                session, scope, valid_hours=valid_hours, tags=tags, met_at=met_at
            )
        png = io.BytesIO()
        segno.make(link.url, error="m").save(png, kind="png", scale=6, border=2)
        text = (
            f"Scan page: {link.url} (valid until {link.expires_at.isoformat()}). "
            "Open it on the phone or scan the QR."
        )
        if scope.settings.public_base_is_loopback:
            text += (
                " Note: the public base URL is loopback, so only this computer can open it; set "
                "LEAD_MCP_PUBLIC_BASE_URL to an address the phone reaches."
            )
        return CallToolResult(
            content=[
                TextContent(type="text", text=text),
                ImageContent(
                    type="image", data=base64.b64encode(png.getvalue()).decode(), mime_type="image/png"
                ),
            ],
            structured_content=link.model_dump(mode="json"),
        )
