"""``lead-mcp card export DIR``: a static copy of the card that any static web host can serve.

The folder holds ``index.html`` (the page, with its stylesheet inline and no
script), ``{slug}.vcf``, ``qr.svg``, ``qr.png``, ``nfc.ndef``, the photo when
there is one, and a ``_headers`` file with the security headers for hosts
that read it (Netlify, Cloudflare Pages). A static host cannot take form
posts, so the copy has no lead form: when the live server is public, its
"Leave your details" button opens the live page's form instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from lead_mcp.config import Settings
from lead_mcp.errors import InvalidInput
from lead_mcp.integrations import qr
from lead_mcp.mcp.state import AppState
from lead_mcp.services import cards
from lead_mcp.services.scope import Scope
from lead_mcp.web.card_page import export_headers_file, render_card

PHOTO_SUFFIXES = {"image/png": "png", "image/jpeg": "jpg"}


@dataclass
class ExportResult:
    """What an export wrote."""

    directory: Path
    files: list[Path]
    url: str


async def _load_card(settings: Settings, workspace_id: str | None) -> cards.PublicCard:
    state = await AppState.open(settings)
    try:
        scope = Scope(
            workspace_id=workspace_id or state.local_workspace_id, settings=settings, clock=state.clock
        )
        async with state.db.transaction(workspace_id=scope.workspace_id, write=False) as session:
            return await cards.load_own_public_card(session, scope)
    finally:
        await state.close()


def export_card(
    settings: Settings, directory: Path, *, url: str | None = None, workspace_id: str | None = None
) -> ExportResult:
    """Write the static copy of a workspace's card (default: the local workspace) into ``directory``."""
    if url is not None and not url.startswith(("https://", "http://")):
        raise InvalidInput(
            "--url",
            f"{url!r} is not an http(s) URL",
            "Give where the copy will live, e.g. https://ana.example.com/",
        )
    public = asyncio.run(_load_card(settings, workspace_id))
    card = public.card
    live_url = cards.page_url(settings, card.slug)
    target = url or live_url
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(name: str, data: bytes | str) -> None:
        path = directory / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        written.append(path)

    photo_name = None
    if public.photo and public.photo_type:
        photo_name = f"photo.{PHOTO_SUFFIXES.get(public.photo_type, 'jpg')}"
        write(photo_name, public.photo)
    qr_target = f"{target}{'&' if '?' in target else '?'}src=qr"
    live_form = None
    if card.published and not settings.public_base_is_loopback:
        live_form = f"{live_url}#contact"
    html = render_card(
        card,
        settings,
        vcf_href=f"{card.slug}.vcf",
        photo_href=photo_name,
        qr_png_href="qr.png",
        form=None,
        canonical_url=target,
        qr_target=qr_target,
        og_image=f"{target.rstrip('/')}/{photo_name}" if photo_name and url else None,
        live_form_href=live_form,
        meta_csp=True,
    )
    write("index.html", html)
    write(
        f"{card.slug}.vcf", cards.card_vcard(card, settings, photo=public.photo, photo_type=public.photo_type)
    )
    write("qr.svg", qr.svg(qr_target, title=f"QR code: {card.full_name}"))
    write("qr.png", qr.png(qr_target))
    write("nfc.ndef", qr.ndef_uri_message(f"{target}{'&' if '?' in target else '?'}src=nfc"))
    write("_headers", export_headers_file())
    return ExportResult(directory=directory, files=written, url=target)
