"""``lead-mcp card export DIR``: a static copy of the card that any static web host can serve.

The folder holds ``index.html`` (the page, with its stylesheet inline and no
script), ``{slug}.vcf``, ``qr.svg``, ``qr.png``, ``nfc.ndef``, the photo when
there is one (else, with ``--url``, ``og.png``: the drawn link-preview
picture), and a ``_headers`` file with the security headers for hosts that
read it (Netlify, Cloudflare Pages). A static host cannot take form posts, so
the copy has no lead form: when the live server is public, its "Leave your
details" button opens the live page's form instead.

The QR code, NFC record, canonical link and the vCard's ``SOURCE`` all point
at where the copy will be served (``--url``). Without ``--url`` they would
point at the live server; when that is a loopback address (nobody else can
open it) the export is refused and asks for ``--url``.
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
from lead_mcp.web import og_image
from lead_mcp.web.card_page import export_headers_file, initials, render_card

PHOTO_SUFFIXES = {"image/png": "png", "image/jpeg": "jpg"}


@dataclass
class ExportResult:
    """What an export wrote."""

    directory: Path
    files: list[Path]
    url: str


def _file_url(target: str, name: str) -> str:
    """The URL of a file of the copy, beside its index.html at ``target``."""
    base = target.split("?", 1)[0].split("#", 1)[0]
    if base.endswith(".html"):
        base = base.rsplit("/", 1)[0]
    return f"{base.rstrip('/')}/{name}"


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
    if url is not None and (
        not url.startswith(("https://", "http://")) or any(c.isspace() or ord(c) < 32 for c in url)
    ):
        raise InvalidInput(
            "--url",
            f"{url!r} is not an http(s) URL",
            "Give where the copy will live, e.g. https://ana.example.com/",
        )
    if url is None and settings.public_base_is_loopback:
        raise InvalidInput(
            "--url",
            f"without it the QR code, NFC record and links would open {settings.public_base_url}, "
            "a loopback address that only this computer can reach",
            "Give where the copy will be served, e.g. --url https://ana.example.com/ "
            "(or set LEAD_MCP_PUBLIC_BASE_URL to the server's public address)",
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
    elif url:  # no photo: the drawn preview picture, for link previews of the copy
        role = " at ".join(p for p in (card.title, card.company) if p)
        write("og.png", og_image.preview_png(initials(card.full_name), card.full_name, role, card.theme))
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
        og_image=_file_url(target, photo_name or "og.png") if url else None,
        og_image_generated=photo_name is None,
        live_form_href=live_form,
        meta_csp=True,
    )
    write("index.html", html)
    vcf_name = f"{card.slug}.vcf"
    vcf_source = _file_url(target, vcf_name) if url else None  # None: the live server's own .vcf
    vcf = cards.card_vcard(
        card, settings, photo=public.photo, photo_type=public.photo_type, source_url=vcf_source
    )
    write(vcf_name, vcf)
    write("qr.svg", qr.svg(qr_target, title=f"QR code: {card.full_name}"))
    write("qr.png", qr.png(qr_target))
    write("nfc.ndef", qr.ndef_uri_message(f"{target}{'&' if '?' in target else '?'}src=nfc"))
    write("_headers", export_headers_file())
    return ExportResult(directory=directory, files=written, url=target)
