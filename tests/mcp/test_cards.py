"""publish_card, unpublish_card, card_stats and lead://card through the MCP client (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import io
import json

from PIL import Image

from lead_mcp.config import Settings
from lead_mcp.mcp.server import build_server
from tests.card_support import CARD, decode_qr
from tests.helpers import call, call_error


def png_bytes(color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(out, format="PNG")
    return out.getvalue()


async def test_publish_card_returns_links_and_a_qr_image_that_decodes_to_the_card_url(client):
    result = await client.call_tool("publish_card", CARD)
    assert not result.is_error
    data = result.structured_content
    assert data["slug"] == "ana-souza" and data["created"] is True
    assert data["url"] == "http://127.0.0.1:8765/c/ana-souza"
    assert data["vcard_url"] == "http://127.0.0.1:8765/c/ana-souza.vcf"
    assert data["qr_url"] == "http://127.0.0.1:8765/c/ana-souza/qr.png"
    assert data["nfc_url"] == "http://127.0.0.1:8765/c/ana-souza/nfc.ndef"
    card = data["card"]
    assert card["phone"] == "+14155550100" and card["website"] == "fintech.io/team"
    assert card["links"] == [
        {"label": "LinkedIn", "url": "https://linkedin.com/in/ana-souza"},
        {"label": "Book a call", "url": "https://cal.com/ana"},
    ]
    assert card["theme"] == "classic" and card["published"] is True and card["has_photo"] is False
    [image] = [block for block in result.content if block.type == "image"]
    assert image.mime_type == "image/png"
    assert decode_qr(base64.b64decode(image.data)) == ["http://127.0.0.1:8765/c/ana-souza?src=qr"]


async def test_publish_card_on_a_loopback_address_says_plainly_the_link_only_works_here(client):
    result = await client.call_tool("publish_card", {"full_name": "Ana Souza"})
    data = result.structured_content
    assert data["reachable_from_internet"] is False
    assert "only works on this computer" in data["notice"]
    assert "LEAD_MCP_PUBLIC_BASE_URL" in data["notice"] and "lead-mcp card export" in data["notice"]
    text = " ".join(block.text for block in result.content if block.type == "text")
    assert "IMPORTANT: This link only works on this computer" in text


async def test_publish_card_on_a_public_address_has_no_warning(settings, clock):
    public = settings.model_copy(update={"public_base_url": "https://cards.example.com"})
    from mcp import Client

    async with Client(build_server(public, clock=clock), raise_exceptions=True) as connected:
        result = await connected.call_tool("publish_card", {"full_name": "Ana Souza"})
    data = result.structured_content
    assert data["reachable_from_internet"] is True and data["notice"] is None
    assert data["url"] == "https://cards.example.com/c/ana-souza"
    [image] = [block for block in result.content if block.type == "image"]
    assert decode_qr(base64.b64decode(image.data)) == ["https://cards.example.com/c/ana-souza?src=qr"]


async def test_publishing_again_updates_the_same_card_and_keeps_what_was_left_out(client):
    first = await call(client, "publish_card", CARD)
    second = await call(
        client, "publish_card", {"full_name": "Ana Souza", "title": "CEO", "theme": "midnight", "bio": ""}
    )
    assert second["created"] is False and second["slug"] == first["slug"]
    card = second["card"]
    assert card["title"] == "CEO" and card["theme"] == "midnight" and card["bio"] is None
    assert card["company"] == CARD["company"] and card["email"] == "ana@fintech.io"
    assert card["created_at"] == first["card"]["created_at"]


async def test_publish_card_takes_a_photo_and_refuses_what_is_not_an_image(client):
    photo = base64.b64encode(png_bytes()).decode()
    with_photo = await call(client, "publish_card", {"full_name": "Ana Souza", "photo_base64": photo})
    assert with_photo["card"]["has_photo"] is True
    error = await call_error(
        client,
        "publish_card",
        {"full_name": "Ana Souza", "photo_base64": base64.b64encode(b"GIF89a....").decode()},
    )
    assert "photo_base64" in error and "PNG or JPEG" in error
    removed = await call(client, "publish_card", {"full_name": "Ana Souza", "photo_base64": ""})
    assert removed["card"]["has_photo"] is False


async def test_publish_card_refuses_bad_and_reserved_slugs_naming_the_field(client):
    for slug, words in (("admin", "reserved"), ("a", "not a valid slug"), ("Ana Souza!", "not a valid slug")):
        error = await call_error(client, "publish_card", {"full_name": "Ana Souza", "slug": slug})
        assert "slug: " in error and words in error, error
    error = await call_error(client, "publish_card", {"full_name": "Ana", "email": "not-an-email"})
    assert "email: " in error
    error = await call_error(client, "publish_card", {"full_name": "Ana", "links": ["javascript:alert(1)"]})
    assert "links: " in error
    error = await call_error(client, "publish_card", {"full_name": "Ana", "theme": "neon"})
    assert "theme" in error
    # Nothing was half-written: there is still no card.
    assert json.loads((await client.read_resource("lead://card")).contents[0].text)["card"] is None


async def test_slugs_are_derived_from_the_name_and_made_url_safe(client):
    data = await call(client, "publish_card", {"full_name": "José Müller-Öz"})
    assert data["slug"] == "jose-muller-oz"
    renamed = await call(client, "publish_card", {"full_name": "José Müller-Öz", "slug": "Jose"})
    assert renamed["slug"] == "jose" and renamed["card"]["former_slugs"] == ["jose-muller-oz"]


async def test_unpublish_card_then_publish_again_keeps_the_address(client):
    error = await call_error(client, "unpublish_card")
    assert "publish_card" in error
    published = await call(client, "publish_card", {"full_name": "Ana Souza"})
    result = await call(client, "unpublish_card")
    assert result["published"] is False and result["was_published"] is True
    assert (await call(client, "unpublish_card"))["was_published"] is False
    back = await call(client, "publish_card", {"full_name": "Ana Souza"})
    assert back["slug"] == published["slug"] and back["card"]["published"] is True


async def test_the_card_resource_shows_the_card_and_its_links(client):
    empty = json.loads((await client.read_resource("lead://card")).contents[0].text)
    assert empty["card"] is None and "publish_card" in empty["message"]
    await call(client, "publish_card", CARD)
    listed = [str(r.uri) for r in (await client.list_resources()).resources]
    assert "lead://card" in listed
    data = json.loads((await client.read_resource("lead://card")).contents[0].text)
    assert data["card"]["full_name"] == "Ana Souza" and data["url"].endswith("/c/ana-souza")


async def test_card_stats_is_read_only_and_empty_before_any_visit(client):
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert tools["card_stats"].annotations.read_only_hint is True
    assert tools["publish_card"].annotations.read_only_hint is False
    assert tools["publish_card"].output_schema is not None
    assert "card_stats" in tools and "unpublish_card" in tools
    await call(client, "publish_card", {"full_name": "Ana Souza"})
    stats = await call(client, "card_stats", {"days": 7})
    assert stats["since"] == "2026-03-04" and stats["until"] == "2026-03-10"
    assert stats["totals"]["views"] == 0 and stats["conversion_rate"] is None and stats["days"] == []
    assert "days" in await call_error(client, "card_stats", {"days": 0})


def test_consent_wording_is_a_setting_with_the_owner_filled_in():
    from pydantic import ValidationError

    from lead_mcp.services.cards import consent_text

    settings = Settings(card_consent_text="Yes, {owner} may call me back.")
    assert consent_text(settings, "Ana Souza") == "Yes, Ana Souza may call me back."
    try:
        Settings(card_consent_text="Hello {visitor}, tick here")
    except ValidationError as exc:
        assert "card_consent_text" in str(exc)
    else:
        raise AssertionError("an unknown placeholder must be refused")
