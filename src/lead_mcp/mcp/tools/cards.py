"""Card tools: publish the user's own business card page, take it down, read its analytics; lead://card."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ImageContent, TextContent
from pydantic import Field

from lead_mcp.domain import CardStats, CardTheme, PublishCardResult, UnpublishCardResult
from lead_mcp.errors import NotFound
from lead_mcp.integrations import qr
from lead_mcp.mcp.unit import IDEMPOTENT_WRITE, READ_ONLY, lead_server, unit
from lead_mcp.services import cards
from lead_mcp.services.cards import CardInput

CARD_URI = "lead://card"


def _clearable(description: str, max_length: int) -> Any:
    return Field(
        description=f"{description} Leave out to keep the current value; '' removes it.",
        max_length=max_length,
    )


def _summary(result: PublishCardResult) -> str:
    verb = "Published" if result.created else "Updated"
    lines = [
        f"{verb} the card of {result.card.full_name}: {result.url}",
        f"Save contact (vCard): {result.vcard_url}",
        f"QR code: {result.qr_url} (SVG for print: {result.qr_svg_url}); the image below is the same code.",
        f"NFC tag record: {result.nfc_url}",
    ]
    if result.notice:
        lines.append(f"IMPORTANT: {result.notice}")
    lines.append(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
    return "\n".join(lines)


def register(server: MCPServer[Any]) -> None:
    """Add the card tools and the lead://card resource to a server."""

    @server.tool(annotations=IDEMPOTENT_WRITE)
    async def publish_card(
        ctx: Context[Any, Any],
        full_name: Annotated[
            str, Field(description="Name shown on the card, e.g. 'Ana Souza'.", min_length=1, max_length=300)
        ],
        title: Annotated[str | None, _clearable("Job title, e.g. 'Founder'.", 300)] = None,
        company: Annotated[str | None, _clearable("Company or organisation.", 300)] = None,
        email: Annotated[str | None, _clearable("Email address visitors can write to.", 320)] = None,
        phone: Annotated[
            str | None, _clearable("Phone number with country code, e.g. +1 415 555 0100.", 40)
        ] = None,
        website: Annotated[str | None, _clearable("Web site, e.g. example.com.", 500)] = None,
        bio: Annotated[
            str | None, _clearable("A short bio: what you do and for whom (at most 1,000 characters).", 1000)
        ] = None,
        slug: Annotated[
            str | None,
            Field(
                description="Address of the page: /c/{slug}. 3-40 lower-case letters, digits and hyphens. "
                "Default: made from the name on first publish, then kept. Changing it keeps old links "
                "working.",
                max_length=40,
            ),
        ] = None,
        theme: Annotated[
            CardTheme | None,
            Field(
                description="Look of the page: classic (indigo), midnight (dark), forest (green), "
                "sunset (warm), mono (black and white). Default classic, then kept."
            ),
        ] = None,
        links: Annotated[
            list[Annotated[str, Field(max_length=600)]] | None,
            Field(
                description="Up to 6 links shown as buttons, e.g. 'https://linkedin.com/in/ana' or "
                "'Book a call | https://cal.com/ana'. Replaces the current links; [] removes them.",
                max_length=6,
            ),
        ] = None,
        photo_base64: Annotated[
            str | None,
            _clearable(
                "Square PNG or JPEG photo, base64 (at most 512 KB); without one the card shows initials.",
                700_000,
            ),
        ] = None,
    ) -> Annotated[CallToolResult, PublishCardResult]:
        """Publish the user's own digital business card as a web page with a QR code, and return its links.

        The page (at `url`) shows the card with a one-tap "Save contact" button (vCard), the QR code,
        the bio and links, and a form where visitors leave their details: each form post becomes a
        lead (source card_form) with a follow-up due today. Publishing again updates the same card;
        fields left out keep their value. The QR code comes back as an image; show it to the user.
        If the result has a `notice`, tell the user: it says when the link works only on this
        computer and how to publish it on the internet.
        """
        data = CardInput(
            full_name=full_name,
            title=title,
            company=company,
            email=email,
            phone=phone,
            website=website,
            bio=bio,
            slug=slug,
            theme=theme,
            links=links,
            photo_base64=photo_base64,
        )
        async with unit(ctx, write=True) as (session, scope):
            result = await cards.publish_card(session, scope, data=data)
        png = qr.png(cards.page_url(scope.settings, result.slug, "qr"))
        return CallToolResult(
            content=[
                TextContent(type="text", text=_summary(result)),
                ImageContent(type="image", data=base64.b64encode(png).decode("ascii"), mime_type="image/png"),
            ],
            structured_content=result.model_dump(mode="json"),
        )

    @server.tool(annotations=IDEMPOTENT_WRITE)
    async def unpublish_card(ctx: Context[Any, Any]) -> UnpublishCardResult:
        """Take the user's card page offline: its page, vCard and QR links answer 410 Gone.

        The card, its address and its statistics are kept; publish_card brings it back at the
        same address.
        """
        async with unit(ctx, write=True) as (session, scope):
            return await cards.unpublish_card(session, scope)

    @server.tool(annotations=READ_ONLY)
    async def card_stats(
        ctx: Context[Any, Any],
        days: Annotated[
            int, Field(description="How many days back, today included (1-366).", ge=1, le=366)
        ] = 30,
    ) -> CardStats:
        """How the user's card page is doing: views, QR scans, NFC taps, contact saves and form leads per day.

        Also gives totals, the conversion rate (form leads per view) and the save rate (vCard
        downloads per view). Nothing about individual visitors is stored or returned.
        """
        async with unit(ctx, write=False) as (session, scope):
            return await cards.card_stats(session, scope, days=days)

    async def card_resource(ctx: Context[Any, Any]) -> str:
        """The card and its links as JSON (or a note that there is none yet)."""
        async with unit(ctx, write=False) as (session, scope):
            try:
                card = await cards.get_card(session, scope)
            except NotFound as exc:
                return json.dumps({"card": None, "message": str(exc)})
            links = cards.card_links(scope.settings, card.slug)
        payload = {"card": card.model_dump(mode="json"), **links.model_dump(mode="json")}
        return json.dumps(payload, ensure_ascii=False, indent=2)

    lead_server(server).add_static_resource(
        CARD_URI,
        card_resource,
        name="card",
        title="Your business card",
        description="The user's published digital business card: fields, theme, page/vCard/QR links.",
        mime_type="application/json",
    )
