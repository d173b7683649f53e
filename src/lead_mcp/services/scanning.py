"""scan_card: a card photo (bytes, a file or folder under the scan roots, or a URL) to a saved lead.

The slow part, OCR, runs in a worker pool and outside any database transaction, so a scan
never holds a write lock (SQLite) and never blocks other tool calls. Each card is then saved
in its own short transaction through ``add_contact``'s de-duplication (source ``card_scan``,
first follow-up due today), and the straightened card image is kept in ``card_scans`` with
the SHA-256 of the file, so the same file scanned again is recognised instead of re-read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import logging
import os
import secrets
import stat
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.config import Settings
from lead_mcp.db.tables import CardScanRow, ContactRow, ScanLinkRow
from lead_mcp.domain import (
    CardFields,
    CardScan,
    ContactCreate,
    FieldConfidence,
    ScanCardResult,
    ScanLine,
    ScanLink,
    SkippedImage,
    Source,
)
from lead_mcp.errors import ExternalServiceError, InvalidInput, NotFound
from lead_mcp.integrations import ocr, web_fetch
from lead_mcp.integrations.ocr import imaging
from lead_mcp.services import card_fields, normalize
from lead_mcp.services.contacts import add_contact
from lead_mcp.services.records import contact_model
from lead_mcp.services.scope import Scope

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
MAX_FOLDER_IMAGES = 500
KEPT_IMAGE_LONG_SIDE = 1600
Progress = Callable[[float, float | None, str | None], Awaitable[None]]
Transactions = Callable[..., AbstractAsyncContextManager[AsyncSession]]


# ---------------------------------------------------------------------------------------------
# Reading cards (OCR off the event loop)


@dataclass
class Reading:
    """What was read from one image."""

    fields: CardFields
    confidence: FieldConfidence
    lines: list[ScanLine]
    engine: str
    kept_image: bytes


class CardReader:
    """The OCR engine (loaded once, lazily) and the worker pool it runs in."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool = ocr.new_pool(settings.ocr_workers or None)
        self._engine: ocr.OcrEngine | None = None
        self._lock = threading.Lock()

    def _load(self) -> ocr.OcrEngine:
        with self._lock:
            if self._engine is None:
                self._engine = ocr.load_engine(self.settings)
            return self._engine

    def _read(self, data: bytes) -> Reading:
        image = imaging.decode(
            data, max_bytes=self.settings.scan_max_bytes, max_pixels=self.settings.scan_max_pixels
        )
        engine = self._load()
        text = ocr.read_card(engine, image)
        found = card_fields.extract(text.lines, default_region=self.settings.default_region)
        return Reading(
            fields=_fields(found),
            confidence=_confidence(found),
            lines=[
                ScanLine(text=s.text, box=list(s.box), confidence=round(s.confidence, 2), role=s.role)
                for s in sorted(found.segments, key=lambda s: (s.box[1], s.box[0]))
            ],
            engine=engine.name,
            kept_image=_kept_image(text.prepared.color),
        )

    async def read(self, data: bytes, *, field: str) -> Reading:
        """OCR and field extraction in the worker pool; bad images raise InvalidInput naming ``field``."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, self._read, data)
        except imaging.ImageRejected as exc:
            raise InvalidInput(
                field, f"the image {exc}", "Give a PNG, JPEG or WebP photo of the card"
            ) from None

    def close(self) -> None:
        """Stop the pool and release the engine."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._engine is not None:
            self._engine.close()


def shared_reader(extras: dict[str, Any], settings: Settings) -> CardReader:
    """The process's CardReader, kept in the app state's extras."""
    reader = extras.get("card_reader")
    if reader is None:
        reader = extras["card_reader"] = CardReader(settings)
    assert isinstance(reader, CardReader)
    return reader


def _fields(found: card_fields.Extraction) -> CardFields:
    return CardFields(
        full_name=found.full_name,
        given_name=found.given_name,
        family_name=found.family_name,
        title=found.title,
        company=found.company,
        emails=found.emails,
        phones=found.phones,
        website=found.website,
        address=found.address,
    )


def _confidence(found: card_fields.Extraction) -> FieldConfidence:
    values = {k: float(v) for k, v in found.confidence.items() if k in FieldConfidence.model_fields}
    filled = [v for v in values.values()]
    has_contact = bool(found.emails or found.phones or found.website)
    overall = (sum(filled) / len(filled)) * min(1.0, len(filled) / 5) if filled and has_contact else 0.0
    return FieldConfidence(**values, overall=round(overall, 2))


def _kept_image(image: Any) -> bytes:
    """The straightened card as a JPEG small enough to keep with the contact."""
    copy = image.copy()
    copy.thumbnail((KEPT_IMAGE_LONG_SIDE, KEPT_IMAGE_LONG_SIDE))
    out = io.BytesIO()
    copy.convert("RGB").save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Getting the image bytes (all untrusted)


@dataclass
class ImageSource:
    """One image to scan: where it came from and how to get its bytes."""

    kind: str  # base64, path, url, upload
    name: str | None
    data: bytes | None = None
    path: Path | None = None


def decode_base64(raw: str, settings: Settings) -> bytes:
    """Bytes of a base64 (or data: URL) argument, size-checked before decoding."""
    text = raw.strip()
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    text = "".join(text.split())
    if len(text) * 3 // 4 > settings.scan_max_bytes:
        raise InvalidInput(
            "image_base64",
            f"is larger than the limit of {settings.scan_max_bytes:,} bytes",
            "Send a smaller photo, or save it under a scan folder and pass image_path",
        )
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        try:
            data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise InvalidInput(
                "image_base64", "is not valid base64", "Send the image file's bytes base64-encoded"
            ) from None
    if imaging.sniff_format(data) is None:
        raise InvalidInput(
            "image_base64", "is not a PNG, JPEG or WebP image", "Send the photo file itself, base64-encoded"
        )
    return data


def _roots(settings: Settings) -> list[Path]:
    roots = []
    for root in settings.scan_roots:
        try:
            roots.append(root.expanduser().resolve(strict=True))
        except OSError:
            continue
    return roots


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def resolve_scan_path(raw: str, settings: Settings) -> Path:
    """A real file or folder under the scan roots (symlinks resolved); anything else is refused alike."""
    roots = _roots(settings)
    shown = ", ".join(str(r) for r in settings.scan_roots) or "(none configured)"
    refused = InvalidInput(
        "image_path",
        f"is not an image file or folder inside the scan folders ({shown})",
        "Save the photo under one of them (LEAD_MCP_SCAN_ROOTS sets them) and pass that path",
    )
    if not roots or not raw.strip() or "\x00" in raw:
        raise refused
    candidate = Path(raw.strip()).expanduser()
    if ".." in candidate.parts:
        raise InvalidInput(
            "image_path", "may not contain '..'", "Pass the file's full path inside a scan folder"
        )
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    try:
        resolved = candidate.resolve(strict=True)
        mode = resolved.stat().st_mode
    except (OSError, RuntimeError):
        raise refused from None
    if not _under(resolved, roots) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise refused
    return resolved


def read_file(path: Path, settings: Settings, *, field: str = "image_path") -> bytes:
    """A regular file's bytes, at most the size limit (opened without following a swapped-in link)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        raise InvalidInput(
            field, "could not be opened", "Check the file is a readable image inside a scan folder"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InvalidInput(field, "is not a regular file", "Pass an image file")
        data = handle.read(settings.scan_max_bytes + 1)
    if len(data) > settings.scan_max_bytes:
        raise InvalidInput(
            field, f"is larger than the limit of {settings.scan_max_bytes:,} bytes", "Use a smaller photo"
        )
    return data


def folder_images(folder: Path, settings: Settings) -> list[Path]:
    """The image files directly inside a folder, by name, each checked to resolve under the scan roots."""
    roots = _roots(settings)
    found = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            resolved = entry.resolve(strict=True)
            if _under(resolved, roots) and stat.S_ISREG(resolved.stat().st_mode):
                found.append(resolved)
        except OSError:
            continue
        if len(found) >= MAX_FOLDER_IMAGES:
            break
    return found


async def fetch_url(url: str, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> bytes:
    """An image from a URL, refusing non-public addresses (see integrations/web_fetch)."""
    try:
        data, _ = await web_fetch.fetch_bytes(
            url,
            max_bytes=settings.scan_max_bytes,
            timeout=settings.scan_url_timeout,
            allowed_networks=settings.url_allowed_networks,
            transport=transport,
        )
    except web_fetch.FetchRefused as exc:
        raise InvalidInput("image_url", f"refused: {exc}", "Give a public http(s) URL of the image") from None
    except web_fetch.FetchFailed as exc:
        raise ExternalServiceError(f"image_url: {exc}; check the URL or send the image another way") from None
    except TimeoutError:
        raise ExternalServiceError(
            f"image_url: fetching took longer than {settings.scan_url_timeout:g} s; "
            "try again or send the file"
        ) from None
    if imaging.sniff_format(data) is None:
        raise InvalidInput(
            "image_url", "did not return a PNG, JPEG or WebP image", "Give the URL of the image itself"
        )
    return data


# ---------------------------------------------------------------------------------------------
# Saving


def _valid(values: list[str], check: Callable[[str], str]) -> list[str]:
    """The values the store accepts (an OCR slip must not fail the whole save)."""
    kept = []
    for value in values:
        try:
            kept.append(check(value))
        except InvalidInput:
            continue
    return kept


def _contact_data(fields: CardFields, tags: list[str], met_at: str | None, region: str) -> ContactCreate:
    website = None
    if fields.website:
        try:
            website = normalize.normalize_website(fields.website)
        except InvalidInput:
            website = None
    return ContactCreate(
        full_name=fields.full_name,
        given_name=fields.given_name,
        family_name=fields.family_name,
        title=fields.title,
        company=fields.company,
        emails=_valid(fields.emails, normalize.normalize_email),
        phones=_valid(fields.phones, lambda p: normalize.normalize_phone(p, region)),
        website=website,
        address=fields.address,
        tags=tags,
        met_at=met_at,
        source=Source.CARD_SCAN,
        notes=None,
    )


async def _known_scan(session: AsyncSession, sha256: str) -> tuple[CardScanRow, ContactRow] | None:
    row = (
        await session.execute(select(CardScanRow).where(CardScanRow.sha256 == sha256))
    ).scalar_one_or_none()
    if row is None or row.contact_id is None:
        return None
    contact = (
        await session.execute(
            select(ContactRow).where(ContactRow.id == row.contact_id, ContactRow.deleted_at.is_(None))
        )
    ).scalar_one_or_none()
    return (row, contact) if contact is not None else None


def _from_known(row: CardScanRow, contact: ContactRow, name: str | None) -> CardScan:
    reading = row.reading or {}
    return CardScan(
        fields=CardFields.model_validate(reading.get("fields", {})),
        confidence=FieldConfidence.model_validate(reading.get("confidence", {})),
        lines=[ScanLine.model_validate(line) for line in reading.get("lines", [])],
        engine=row.engine,
        contact=contact_model(contact),
        created=False,
        duplicate_of=contact.id,
        scan_id=row.id,
        image_sha256=row.sha256,
        source=name,
        already_scanned=True,
        note="This exact image was scanned before; the stored result is returned and nothing was changed.",
    )


async def save_reading(
    session: AsyncSession,
    scope: Scope,
    *,
    reading: Reading,
    sha256: str,
    source: ImageSource,
    save: bool,
    tags: list[str],
    met_at: str | None,
) -> CardScan:
    """Store a reading: the contact (created or merged, follow-up due today) and the kept card image."""
    result = CardScan(
        fields=reading.fields,
        confidence=reading.confidence,
        lines=reading.lines,
        engine=reading.engine,
        image_sha256=sha256,
        source=source.name,
    )
    if not save:
        return result
    known = await _known_scan(session, sha256)
    if known is not None:
        return _from_known(*known, source.name)
    fields = reading.fields
    if not (fields.full_name or fields.emails or fields.phones):
        result.note = (
            "Nothing was saved: no name, email or phone could be read. "
            "Check the photo (focus, light) or add the contact by hand."
        )
        return result
    added = await add_contact(
        session,
        scope,
        data=_contact_data(fields, tags, met_at, scope.settings.default_region),
        followup_in_days=0,
    )
    scan = (
        await session.execute(select(CardScanRow).where(CardScanRow.sha256 == sha256))
    ).scalar_one_or_none()
    stored = {
        "fields": fields.model_dump(mode="json"),
        "confidence": reading.confidence.model_dump(mode="json"),
        "lines": [line.model_dump(mode="json") for line in reading.lines],
    }
    if scan is None:
        scan = CardScanRow(workspace_id=scope.workspace_id, sha256=sha256, created_at=scope.now())
        session.add(scan)
    scan.contact_id = added.contact.id
    scan.image = reading.kept_image
    scan.image_type = "image/jpeg"
    scan.source = source.kind
    scan.source_name = (source.name or "")[:500] or None
    scan.engine = reading.engine
    scan.reading = stored
    await session.flush()
    result.contact = added.contact
    result.created = added.created
    result.duplicate_of = added.duplicate_of
    result.followup = added.followup
    result.scan_id = scan.id
    return result


# ---------------------------------------------------------------------------------------------
# The use case


async def _noop(progress: float, total: float | None, message: str | None) -> None:
    return None


async def scan_card(
    transactions: Transactions,
    scope: Scope,
    *,
    reader: CardReader,
    image_base64: str | None = None,
    image_path: str | None = None,
    image_url: str | None = None,
    save: bool = True,
    tags: list[str] | None = None,
    met_at: str | None = None,
    progress: Progress | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> ScanCardResult:
    """Scan one card image, or every image in a folder, and save each as a de-duplicated lead."""
    report = progress or _noop
    given = [
        name
        for name, value in (
            ("image_base64", image_base64),
            ("image_path", image_path),
            ("image_url", image_url),
        )
        if value
    ]
    if len(given) != 1:
        raise InvalidInput(
            "image_base64",
            "give exactly one of image_base64, image_path or image_url"
            + (f" (got {', '.join(given)})" if given else ""),
            "Pass a path under the scan folders for big photos, a public URL, or the bytes base64-encoded",
        )
    clean_tags = [normalize.normalize_tag(t) for t in (tags or []) if t and t.strip()]
    clean_met_at = normalize.clean_text(met_at)
    settings = scope.settings

    if image_base64:
        sources = [ImageSource("base64", None, data=decode_base64(image_base64, settings))]
        field = "image_base64"
    elif image_url:
        await report(0, None, "fetching the image")
        sources = [
            ImageSource("url", image_url[:500], data=await fetch_url(image_url, settings, http_transport))
        ]
        field = "image_url"
    else:
        assert image_path is not None
        path = resolve_scan_path(image_path, settings)
        field = "image_path"
        if path.is_dir():
            return await _scan_folder(
                transactions,
                scope,
                reader=reader,
                folder=path,
                save=save,
                tags=clean_tags,
                met_at=clean_met_at,
                report=report,
            )
        sources = [ImageSource("path", path.name, data=read_file(path, settings))]

    source = sources[0]
    assert source.data is not None
    sha256 = hashlib.sha256(source.data).hexdigest()
    if save:
        async with transactions(write=False) as session:
            known = await _known_scan(session, sha256)
            if known is not None:
                return ScanCardResult(**_from_known(*known, source.name).model_dump())
    await report(1, 3, "reading the card")
    reading = await reader.read(source.data, field=field)
    await report(2, 3, "saving the lead" if save else "done")
    async with transactions(write=True) as session:
        card = await save_reading(
            session,
            scope,
            reading=reading,
            sha256=sha256,
            source=source,
            save=save,
            tags=clean_tags,
            met_at=clean_met_at,
        )
    await report(3, 3, "done")
    return ScanCardResult(**card.model_dump())


async def _scan_folder(
    transactions: Transactions,
    scope: Scope,
    *,
    reader: CardReader,
    folder: Path,
    save: bool,
    tags: list[str],
    met_at: str | None,
    report: Progress,
) -> ScanCardResult:
    """Every image in a folder, one result per card; files scanned before are skipped by their hash."""
    settings = scope.settings
    files = folder_images(folder, settings)
    cards: list[CardScan] = []
    skipped: list[SkippedImage] = []
    engine_name = settings.ocr_engine.value
    total = len(files)
    await report(0, total, f"{total} images in {folder.name}")
    for index, path in enumerate(files):
        try:
            data = read_file(path, settings)
        except InvalidInput as exc:
            skipped.append(SkippedImage(name=path.name, reason=str(exc)))
            await report(index + 1, total, f"skipped {path.name}")
            continue
        sha256 = hashlib.sha256(data).hexdigest()
        if save:
            async with transactions(write=False) as session:
                known = await _known_scan(session, sha256)
            if known is not None:
                skipped.append(SkippedImage(name=path.name, reason="already scanned", contact_id=known[1].id))
                await report(index + 1, total, f"{path.name}: already scanned")
                continue
        try:
            reading = await reader.read(data, field="image_path")
        except InvalidInput as exc:
            skipped.append(SkippedImage(name=path.name, reason=str(exc).removeprefix("image_path: ")))
            await report(index + 1, total, f"skipped {path.name}")
            continue
        engine_name = reading.engine
        source = ImageSource("path", path.name)
        async with transactions(write=True) as session:
            card = await save_reading(
                session,
                scope,
                reading=reading,
                sha256=sha256,
                source=source,
                save=save,
                tags=tags,
                met_at=met_at,
            )
        cards.append(card)
        who = card.fields.full_name or card.fields.company or "no name read"
        await report(index + 1, total, f"{path.name}: {who}")
    note = None if cards or skipped else f"No PNG, JPEG or WebP images in {folder.name}."
    return ScanCardResult(
        fields=CardFields(),
        confidence=FieldConfidence(),
        lines=[],
        engine=engine_name,
        cards=cards,
        skipped=skipped,
        source=folder.name,
        note=note,
    )


# ---------------------------------------------------------------------------------------------
# Phone scan links


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def get_scan_link(
    session: AsyncSession,
    scope: Scope,
    *,
    valid_hours: int | None = None,
    tags: list[str] | None = None,
    met_at: str | None = None,
) -> tuple[ScanLink, str]:
    """A new phone scan page link for this workspace, and its token (only the hash is stored)."""
    hours = valid_hours or scope.settings.scan_link_hours
    if not 1 <= hours <= 24 * 30:
        raise InvalidInput(
            "valid_hours", f"is {hours}; it must be 1 to {24 * 30}", "Give a number of hours, e.g. 24"
        )
    token = secrets.token_urlsafe(32)
    now = scope.now()
    clean_tags = [normalize.normalize_tag(t) for t in (tags or []) if t and t.strip()]
    row = ScanLinkRow(
        workspace_id=scope.workspace_id,
        token_hash=_token_hash(token),
        user_id=scope.user_id,
        tags=clean_tags,
        met_at=normalize.clean_text(met_at),
        uploads=0,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(row)
    await session.flush()
    url = f"{scope.settings.public_base_url}/scan/{token}"
    return ScanLink(
        url=url, expires_at=row.expires_at, valid_hours=hours, tags=clean_tags, met_at=row.met_at
    ), token


@dataclass
class OpenLink:
    """A valid scan link: whose workspace it writes to, with what tags."""

    id: str
    workspace_id: str
    user_id: str | None
    tags: list[str]
    met_at: str | None


async def open_scan_link(session: AsyncSession, scope_now: Any, token: str) -> OpenLink:
    """The link for a token (the token decides the workspace); NotFound if unknown or expired."""
    if not token or len(token) > 100:
        raise NotFound("This scan link is not valid.")
    row = (
        await session.execute(select(ScanLinkRow).where(ScanLinkRow.token_hash == _token_hash(token)))
    ).scalar_one_or_none()
    if row is None or row.expires_at <= scope_now:
        raise NotFound(
            "This scan link has expired or is not valid; ask your assistant for a new one (get_scan_link)."
        )
    return OpenLink(
        id=row.id, workspace_id=row.workspace_id, user_id=row.user_id, tags=list(row.tags), met_at=row.met_at
    )


async def count_upload(session: AsyncSession, link_id: str, count: int) -> None:
    """Add to a link's upload counter."""
    await session.execute(
        update(ScanLinkRow).where(ScanLinkRow.id == link_id).values(uploads=ScanLinkRow.uploads + count)
    )


async def scan_upload(
    transactions: Transactions,
    scope: Scope,
    *,
    reader: CardReader,
    data: bytes,
    name: str | None,
    tags: list[str],
    met_at: str | None,
) -> CardScan:
    """One photo uploaded from the phone scan page, scanned and saved."""
    sha256 = hashlib.sha256(data).hexdigest()
    async with transactions(write=False) as session:
        known = await _known_scan(session, sha256)
    if known is not None:
        return _from_known(*known, name)
    reading = await reader.read(data, field="photo")
    async with transactions(write=True) as session:
        return await save_reading(
            session,
            scope,
            reading=reading,
            sha256=sha256,
            source=ImageSource("upload", name),
            save=True,
            tags=tags,
            met_at=met_at,
        )


__all__ = [
    "CardReader",
    "OpenLink",
    "count_upload",
    "get_scan_link",
    "open_scan_link",
    "scan_card",
    "scan_upload",
    "shared_reader",
]


async def get_scan_image(session: AsyncSession, scope: Scope, *, scan_id: str) -> bytes:
    """The kept (straightened) image of a scanned card, as JPEG bytes."""
    row = None
    if 0 < len(scan_id) <= 64:
        row = (
            await session.execute(select(CardScanRow).where(CardScanRow.id == scan_id))
        ).scalar_one_or_none()
    if row is None or not row.image:
        raise NotFound(f"scan_id: no card scan {scan_id!r} in this workspace; scan_card returns scan_id")
    return bytes(row.image)
