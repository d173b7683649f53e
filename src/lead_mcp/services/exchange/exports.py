"""Export contacts as vCard (3.0/4.0) or CSV, streamed in batches so memory stays flat.

An export comes back inline when it has at most ``INLINE_MAX`` contacts and its
text fits in a tool result (``sizing.RESULT_BUDGET_CHARS`` of JSON: about 20k
tokens, since 1,000 full contacts can be 600k characters). A bigger export is
written, a chunk at a time, into ``exports``/``export_chunks`` and offered as
the resource ``lead://exports/{id}.vcf`` (or ``.csv``) for ``EXPORT_TTL``; one
that outgrows the budget while it is written moves there without starting over. Contacts are read
in one read transaction (a consistent snapshot) in keyset pages; each stored
chunk is written in its own short write transaction so other writers are not
held up, and the export is marked complete only after its last chunk, so a
half-written export is never served.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.search import fts5_query, pg_match, sqlite_fts
from lead_mcp.db.tables import ContactRow, CustomFieldRow, ExportChunk, ExportRow, new_id
from lead_mcp.domain import ExportResult
from lead_mcp.errors import InvalidInput, NotFound
from lead_mcp.services import normalize, sizing
from lead_mcp.services.exchange import tabular, vcard
from lead_mcp.services.exchange.imports import Transactions
from lead_mcp.services.records import dialect_name, load_contact
from lead_mcp.services.scope import Scope

INLINE_MAX = 1000
MAX_IDS = 10_000
TTL_HOURS = 24
EXPORT_TTL = timedelta(hours=TTL_HOURS)
PAGE = 1000
CHUNK_CHARS = 1_000_000
MIME = {"vcard": "text/vcard", "csv": "text/csv"}
EXTENSION = {"vcard": "vcf", "csv": "csv"}

_COLUMNS = (
    ContactRow.pk,
    ContactRow.id,
    ContactRow.full_name,
    ContactRow.given_name,
    ContactRow.family_name,
    ContactRow.company,
    ContactRow.title,
    ContactRow.emails,
    ContactRow.phones,
    ContactRow.website,
    ContactRow.address,
    ContactRow.notes,
    ContactRow.tags,
    ContactRow.stage,
    ContactRow.source,
    ContactRow.score,
    ContactRow.met_at,
    ContactRow.referred_by_id,
    ContactRow.created_at,
    ContactRow.updated_at,
    ContactRow.last_touch_at,
    ContactRow.next_followup_at,
    ContactRow.custom,
)

Progress = Callable[[int, int], Awaitable[None]]
Sink = Callable[[str], Awaitable[None]]


@dataclass
class Selection:
    """Which contacts an export covers: given ids, a plain-text query, or all."""

    contact_ids: list[str] | None = None
    phrases: list[list[str]] | None = None


async def select_contacts(
    session: AsyncSession, scope: Scope, *, contact_ids: Sequence[str] | None, query: str | None
) -> Selection:
    """Check the arguments (ids exist, query is searchable) and describe the selection."""
    if contact_ids and query and query.strip():
        raise InvalidInput(
            "query", "give contact_ids or query, not both", "Drop one of them; give neither for all"
        )
    if contact_ids:
        ids = list(dict.fromkeys(i.strip() for i in contact_ids if i and i.strip()))
        if len(ids) > MAX_IDS:
            raise InvalidInput(
                "contact_ids", f"has {len(ids)} ids; at most {MAX_IDS}", "Export by query or all"
            )
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            rows = await session.execute(
                select(ContactRow.id).where(
                    ContactRow.id.in_(ids[start : start + 500]), ContactRow.deleted_at.is_(None)
                )
            )
            found.update(rows.scalars())
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise InvalidInput(
                "contact_ids",
                f"no contact {shown} in this workspace",
                "Call search_contacts to find the right ids",
            )
        return Selection(contact_ids=ids)
    if query and query.strip():
        phrases = normalize.query_phrases(query, scope.settings.default_region)
        if not phrases:
            raise InvalidInput("query", "has no searchable words", "Give a name, company, email or phone")
        return Selection(phrases=phrases)
    return Selection()


def _filtered(session: AsyncSession, stmt: Any, selection: Selection) -> Any:
    stmt = stmt.where(ContactRow.deleted_at.is_(None))
    if selection.contact_ids is not None:
        stmt = stmt.where(ContactRow.id.in_(selection.contact_ids))
    if selection.phrases:
        if dialect_name(session) == "sqlite":
            stmt = stmt.join(sqlite_fts, sqlite_fts.c.rowid == ContactRow.pk).where(
                literal_column("contacts_fts").op("MATCH")(fts5_query(selection.phrases))
            )
        else:
            stmt = stmt.where(pg_match(selection.phrases))
    return stmt


async def count_selected(session: AsyncSession, selection: Selection) -> int:
    """How many contacts the selection covers."""
    stmt = _filtered(session, select(func.count()).select_from(ContactRow), selection)
    return int((await session.execute(stmt)).scalar_one())


async def iter_selected(session: AsyncSession, selection: Selection) -> AsyncIterator[Sequence[Row[Any]]]:
    """The selected contacts in creation order, a page at a time (keyset on the row key)."""
    last = 0
    while True:
        stmt = _filtered(session, select(*_COLUMNS), selection).where(ContactRow.pk > last)
        rows = (await session.execute(stmt.order_by(ContactRow.pk).limit(PAGE))).all()
        if not rows:
            return
        yield rows
        last = rows[-1].pk
        if len(rows) < PAGE:
            return


@dataclass(frozen=True)
class ExportField:
    """A custom field as exports write it: its key and its CSV column title."""

    key: str
    title: str


async def export_fields(session: AsyncSession) -> list[ExportField]:
    """The workspace's custom fields in definition order, each with a CSV title no other column has."""
    rows = (
        await session.execute(
            select(CustomFieldRow.key, CustomFieldRow.label).order_by(
                CustomFieldRow.created_at, CustomFieldRow.key
            )
        )
    ).all()
    taken = {tabular.fold_header(title) for title in tabular.header_row()}
    return [ExportField(key, tabular.custom_header(key, label, taken)) for key, label in rows]


def custom_values(row: Any, fields: Sequence[ExportField]) -> list[tuple[str, object]]:
    """A contact's custom values in field order (None where it has none)."""
    stored = row.custom or {}
    return [(f.key, stored.get(f.key)) for f in fields]


def csv_cells(row: Any, fields: Sequence[ExportField] = ()) -> list[str]:
    """One contact as export cells, in ``tabular.EXPORT_COLUMNS`` order, then its custom values."""
    cells = []
    for name, _title in tabular.EXPORT_COLUMNS:
        value = getattr(row, name)
        if isinstance(value, list):
            cells.append(tabular.LIST_JOINER.join(value))
        elif isinstance(value, datetime):  # by type: met_at ends in "_at" too, and is a place
            cells.append(value.isoformat())
        elif value is None:
            cells.append("")
        else:
            cells.append(str(value))
    for _key, value in custom_values(row, fields):
        cells.append("" if value is None else vcard.custom_text(value))
    return cells


async def write_export(
    session: AsyncSession,
    selection: Selection,
    *,
    format: str,
    sink: Sink,
    version: str = "3.0",
    bom: bool = False,
    total: int = 0,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Stream the selection as vCard or CSV text into ``sink``; returns (contacts, bytes)."""
    count = size = 0
    fields = await export_fields(session)
    if format == "csv":
        writer = tabular.RowWriter()
        head = ("\ufeff" if bom else "") + writer.row(tabular.header_row(f.title for f in fields))
        size += len(head.encode("utf-8"))
        await sink(head)
    async for rows in iter_selected(session, selection):
        if format == "csv":
            text = "".join(writer.row(csv_cells(r, fields)) for r in rows)
        else:
            text = "".join(vcard.card(r, version, custom=custom_values(r, fields)) for r in rows)
        count += len(rows)
        size += len(text.encode("utf-8"))
        await sink(text)
        if progress is not None:
            await progress(count, total)
    return count, size


def _check_version(version: str) -> str:
    if version not in vcard.VERSIONS:
        raise InvalidInput("version", f"{version!r} is not supported", "Use 3.0 (most address books) or 4.0")
    return version


async def export_vcard(
    transactions: Transactions,
    scope: Scope,
    *,
    contact_ids: Sequence[str] | None = None,
    query: str | None = None,
    version: str = "3.0",
    progress: Progress | None = None,
) -> ExportResult:
    """Contacts as vCard: inline up to INLINE_MAX, else a stored export behind a resource URI."""
    return await _export(
        transactions, scope, "vcard", contact_ids, query, version=_check_version(version), progress=progress
    )


async def export_csv(
    transactions: Transactions,
    scope: Scope,
    *,
    contact_ids: Sequence[str] | None = None,
    query: str | None = None,
    bom: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Contacts as spreadsheet-safe CSV: inline up to INLINE_MAX, else a stored export."""
    return await _export(transactions, scope, "csv", contact_ids, query, bom=bom, progress=progress)


async def _export(
    transactions: Transactions,
    scope: Scope,
    fmt: str,
    contact_ids: Sequence[str] | None,
    query: str | None,
    *,
    version: str | None = None,
    bom: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    filename = f"lead-mcp-contacts-{scope.today().isoformat()}.{EXTENSION[fmt]}"
    async with transactions(write=False) as session:
        selection = await select_contacts(session, scope, contact_ids=contact_ids, query=query)
        total = await count_selected(session, selection)
        out = _Spill(transactions, scope, fmt=fmt, version=version, filename=filename)
        if total > INLINE_MAX:
            await out.spill()
        count, size = await write_export(
            session,
            selection,
            format=fmt,
            sink=out.write,
            version=version or "3.0",
            bom=bom,
            total=total,
            progress=progress,
        )
        if out.store is None:
            return ExportResult(
                format=fmt,
                version=version,
                count=count,
                bytes=size,
                filename=filename,
                content="".join(out.parts),
            )
        await out.store.flush()
        export_id = out.store.export_id
    expires_at = scope.now() + EXPORT_TTL
    async with transactions(write=True) as session:
        await session.execute(
            update(ExportRow)
            .where(ExportRow.id == export_id)
            .values(complete=True, contact_count=count, byte_size=size, expires_at=expires_at)
        )
    return ExportResult(
        format=fmt,
        version=version,
        count=count,
        bytes=size,
        filename=filename,
        resource_uri=f"lead://exports/{export_id}.{EXTENSION[fmt]}",
        expires_at=expires_at,
    )


async def _start_stored(
    transactions: Transactions, scope: Scope, fmt: str, version: str | None, filename: str
) -> str:
    now = scope.now()
    export_id = new_id()
    async with transactions(write=True) as session:
        # Expired exports go first: they are only a convenience copy.
        await session.execute(delete(ExportRow).where(ExportRow.expires_at < now))
        session.add(
            ExportRow(
                id=export_id,
                workspace_id=scope.workspace_id,
                format=fmt,
                version=version,
                filename=filename,
                contact_count=0,
                byte_size=0,
                complete=False,
                created_at=now,
                expires_at=now + EXPORT_TTL,
            )
        )
    return export_id


# JSON characters of an inline result besides the text (format, counts, file name, ...).
RESULT_OVERHEAD_CHARS = 1_000


def json_chars(text: str) -> int:
    """Characters a text takes inside a JSON result (CRLF line ends count four, quotes two...)."""
    return len(json.dumps(text, ensure_ascii=False)) - 2


class _Spill:
    """Collects an export inline while it fits the result budget; past it, moves into a stored export."""

    def __init__(
        self, transactions: Transactions, scope: Scope, *, fmt: str, version: str | None, filename: str
    ) -> None:
        self.transactions = transactions
        self.scope = scope
        self.fmt = fmt
        self.version = version
        self.filename = filename
        self.parts: list[str] = []
        self.chars = RESULT_OVERHEAD_CHARS
        self.store: _ChunkStore | None = None

    async def spill(self) -> None:
        """From now on, write into a stored export (with what was collected so far)."""
        export_id = await _start_stored(self.transactions, self.scope, self.fmt, self.version, self.filename)
        self.store = _ChunkStore(self.transactions, self.scope, export_id)
        for part in self.parts:
            await self.store.write(part)
        self.parts.clear()

    async def write(self, text: str) -> None:
        if self.store is not None:
            await self.store.write(text)
            return
        self.parts.append(text)
        self.chars += json_chars(text)
        if self.chars > sizing.RESULT_BUDGET_CHARS:
            await self.spill()


class _ChunkStore:
    """Buffers export text and writes it as numbered chunks, each in a short write transaction."""

    def __init__(self, transactions: Transactions, scope: Scope, export_id: str) -> None:
        self.transactions = transactions
        self.scope = scope
        self.export_id = export_id
        self.buffer: list[str] = []
        self.buffered = 0
        self.seq = 0

    async def write(self, text: str) -> None:
        self.buffer.append(text)
        self.buffered += len(text)
        if self.buffered >= CHUNK_CHARS:
            await self.flush()

    async def flush(self) -> None:
        if not self.buffer:
            return
        content = "".join(self.buffer)
        self.buffer.clear()
        self.buffered = 0
        async with self.transactions(write=True) as session:
            session.add(
                ExportChunk(
                    export_id=self.export_id,
                    seq=self.seq,
                    workspace_id=self.scope.workspace_id,
                    content=content,
                )
            )
        self.seq += 1


async def read_export(session: AsyncSession, scope: Scope, *, export_id: str, format: str) -> str:
    """The text of a stored export (lead://exports/{id}.vcf|csv)."""
    row = (
        await session.execute(select(ExportRow).where(ExportRow.id == export_id, ExportRow.format == format))
    ).scalar_one_or_none()
    if row is None or not row.complete or row.expires_at <= scope.now():
        raise NotFound(
            f"export {export_id!r} does not exist or has expired (exports are kept {TTL_HOURS} "
            f"hours); call export_{'vcard' if format == 'vcard' else 'csv'} again"
        )
    chunks = await session.execute(
        select(ExportChunk.content).where(ExportChunk.export_id == export_id).order_by(ExportChunk.seq)
    )
    return "".join(chunks.scalars())


async def contact_vcard(session: AsyncSession, scope: Scope, *, contact_id: str, version: str = "3.0") -> str:
    """One contact as a vCard (lead://contacts/{id}.vcf)."""
    row = await load_contact(session, contact_id)
    fields = await export_fields(session)
    return vcard.card(row, _check_version(version), custom=custom_values(row, fields))
