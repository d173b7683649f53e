"""Import contacts from vCard or CSV, each record through the de-duplication of ``add_contact``.

Transactions and crashes: an import commits in batches of ``BATCH_SIZE``
records, each batch in its own transaction (opened through the ``Transactions``
factory the caller passes; the service itself never commits). A record that
fails validation is reported and skipped; it never aborts its batch. If the
store fails or the process dies half-way, every batch before the failing one
is saved and nothing after it is: the saved part is always a prefix of the
file, reported as ``committed_through`` (or, when the import is interrupted,
in the error message). Re-running the same import is safe: records already
saved are recognised by their email, phone or name+company and skipped.

Speed: the batch pre-loads the de-duplication keys of all its records, and
the stored contacts holding them (locked, as ``add_contact`` locks), in a few
queries. Records that match nothing stored (the common case in a first import)
are inserted in bulk with their keys, tags, history and pipeline counters.
A record that matches a stored contact is merged into that row by
``add_contact``'s own merge, and the scores of the merged contacts are
recomputed together before the batch commits. A record that matches an earlier
record of the same batch, or asks for a follow-up, goes through ``add_contact``
itself. All in file order, so the outcome is the same as adding the records one
by one. A record that matches and brings nothing new is counted as skipped
without a write.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import logging
import operator
from collections import Counter
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import anyio
import anyio.lowlevel
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Table,
    TextClause,
    and_,
    any_,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
    true,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db import aggregates, bulk
from lead_mcp.db.tables import ContactChange, ContactKey, ContactRow, ContactTag, CustomFieldRow, new_ids
from lead_mcp.domain import ContactCreate, ImportIssue, ImportResult, Source, Stage
from lead_mcp.errors import InvalidInput, LeadError
from lead_mcp.services import contacts, custom_fields, normalize, scoring
from lead_mcp.services.contacts import Prepared
from lead_mcp.services.exchange import mapping, parse_process, vcard
from lead_mcp.services.exchange.parse_process import PROCESS_MIN_BYTES
from lead_mcp.services.exchange.sources import ImportSource
from lead_mcp.services.exchange.tabular import (
    FALLBACK_ENCODING,
    CsvKind,
    Decoding,
    custom_header_names,
    read_rows,
)
from lead_mcp.services.records import contact_query, dialect_name
from lead_mcp.services.scope import Scope

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
ANALYZE_EVERY = 5_000
MAX_LISTED = 200
KEY_QUERY_CHUNK = 500
FORMATS = ("auto", "vcard", "csv", "linkedin", "google")

Key = tuple[str, str]


class Transactions(Protocol):
    """Opens one transaction (committed when the block ends, rolled back if it raises)."""

    def __call__(self, *, write: bool) -> AbstractAsyncContextManager[AsyncSession]: ...


ImportProgress = Callable[[int, int, str], Awaitable[None]]


class ImportInterrupted(LeadError):
    """An import stopped part-way; the message says exactly which records were saved."""


@dataclass
class Item:
    """One record of the file: mapped data, or the reason it cannot be imported."""

    number: int
    line: int | None
    data: ContactCreate | None = None  # while parsing (a child parser does not send it)
    prepared: Prepared | None = None  # what the store writes, and add_prepared takes
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    offset: int = 0  # bytes of the source read when this record was complete (progress)
    score: int = 0  # the score add_contact would give it as a new contact (computed while parsing)
    fatal: BaseException | None = None  # set on a marker item: the file could not be read past here

    def set_prepared(self, prepared: Prepared) -> None:
        """Keep the normalized fields and their de-duplication keys, strongest first (as add_contact)."""
        self.prepared = prepared
        keys: list[Key] = [("email", e) for e in prepared.emails]
        keys += [("phone", p) for p in prepared.phones]
        name_key = prepared.name_key
        if name_key:
            keys.append(("name", name_key))
        self.keys = keys


@dataclass
class Tally:
    """Counts and issues of one batch or of the whole import."""

    records: int = 0
    created: int = 0
    merged: int = 0
    skipped: int = 0
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    last_number: int = 0

    def add(self, other: Tally) -> None:
        """Fold a committed batch into the running total."""
        self.records += other.records
        self.created += other.created
        self.merged += other.merged
        self.skipped += other.skipped
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)
        self.last_number = max(self.last_number, other.last_number)

    def summary(self) -> str:
        """created/merged/skipped/errors in words."""
        return (
            f"{self.created} created, {self.merged} merged, {self.skipped} skipped, {len(self.errors)} errors"
        )


@dataclass
class Plan:
    """How a file will be read."""

    format: str
    items: Iterator[Item]
    columns: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    decoding: Decoding | None = None
    _unmapped_index: list[int] = field(default_factory=list)
    _has_data: set[int] = field(default_factory=set)

    def notices(self) -> list[str]:
        """Warnings about the whole file (read after the items are consumed)."""
        notice = self.decoding.notice() if self.decoding else None
        return [notice] if notice else []


Fields = Mapping[str, CustomFieldRow]


async def custom_definitions(transactions: Transactions) -> dict[str, CustomFieldRow]:
    """The workspace's custom fields, as detached copies a parser thread may read."""
    async with transactions(write=False) as session:
        rows = await custom_fields.definitions(session)
        return {
            key: CustomFieldRow(key=row.key, label=row.label, type=row.type, choices=row.choices)
            for key, row in rows.items()
        }


def detect_format(source: ImportSource, requested: str) -> str:
    """vcard or a CSV flavour, from the argument or the first bytes."""
    if requested not in FORMATS:
        raise InvalidInput(
            "format", f"{requested!r} is not a known format", "Use auto, vcard, csv, linkedin or google"
        )
    if requested != "auto":
        return requested
    head = source.head().lstrip()
    if head[:11].upper() == b"BEGIN:VCARD":
        return "vcard"
    if not head:
        raise InvalidInput(source_field(source), "is empty", "Give the text of a .vcf or .csv file")
    return "csv"


def source_field(source: ImportSource) -> str:
    """The argument a message about the input should name."""
    return "content" if source.content is not None else "path"


def plan(source: ImportSource, scope: Scope, requested_format: str, fields: Fields | None = None) -> Plan:
    """Parse lazily: a Plan whose items are read as the import consumes them.

    ``fields`` are the workspace's custom fields: columns and ``X-LEADMCP-*`` properties naming
    one of them fill it; its values are checked against its type.
    """
    fmt = detect_format(source, requested_format)
    region = scope.settings.default_region
    fields = fields or {}
    if fmt == "vcard":
        return Plan(format="vcard", items=_vcard_items(source, scope, region, fields))
    lines = source.lines()
    first = next(lines, None)  # opening the file tells whether it starts with a byte-order mark
    decoding = Decoding(fallback=None if source.bom else FALLBACK_ENCODING)
    header, rows, preamble = read_rows(
        itertools.chain([first] if first else [], lines),
        custom=custom_header_names((key, row.label) for key, row in fields.items()),
        decoding=decoding,
    )
    if header is None:
        seen = f" (the first lines read: {preamble[0]!r})" if preamble else ""
        raise InvalidInput(
            source_field(source),
            f"found no header row naming columns such as Name, Email, Phone or Company{seen}",
            "Give a CSV whose first row names its columns, or a vCard (.vcf) file",
        )
    if fmt == "linkedin":
        header.kind = CsvKind.LINKEDIN
    elif fmt == "google":
        header.kind = CsvKind.GOOGLE
    result = Plan(format=header.kind.value, items=iter(()), columns=header.mapping(), decoding=decoding)
    result._unmapped_index = list(header.unmapped)

    def items() -> Iterator[Item]:
        for row in rows:
            for index in result._unmapped_index:
                if index < len(row.cells) and row.cells[index].strip():
                    result._has_data.add(index)
            offset = source.progress.done
            if row.error:
                yield Item(number=row.number, line=row.line, error=row.error, offset=offset)
                continue
            item = Item(number=row.number, line=row.line, offset=offset)
            yield _mapped(item, scope, functools.partial(mapping.from_csv, row, header, region), fields)
        result.unmapped = [header.cells[i] or f"column {i + 1}" for i in sorted(result._has_data)]

    result.items = items()
    return result


def _vcard_items(source: ImportSource, scope: Scope, region: str, fields: Fields) -> Iterator[Item]:
    keys = frozenset(fields)
    for card in vcard.read_cards(source.lines()):
        offset = source.progress.done
        if card.error:
            yield Item(number=card.number, line=card.line, error=card.error, offset=offset)
            continue
        item = Item(number=card.number, line=card.line, offset=offset)
        yield _mapped(item, scope, functools.partial(mapping.from_vcard, card, region, keys), fields)


def _mapped(item: Item, scope: Scope, build: Callable[[], mapping.Mapped], fields: Fields) -> Item:
    """Map and validate one record; whatever goes wrong with it becomes that record's error."""
    try:
        mapped = build()
        item.data = mapped.data
        item.warnings.extend(mapped.warnings)
        _check_custom(item, fields)
        return _prepared(item, scope)
    except Exception as exc:  # one odd record must never stop the others
        log.warning("record %d could not be imported", item.number, exc_info=True)
        item.data = item.prepared = None
        item.error = f"cannot be imported ({type(exc).__name__}: {str(exc)[:200]})"
        return item


def _prepared(item: Item, scope: Scope) -> Item:
    """Validate through add_contact's own ``prepare``; a bad email, phone or site is dropped, not fatal."""
    data = item.data
    assert data is not None
    region = scope.settings.default_region
    for _attempt in range(2 * contacts.MAX_LIST_ITEMS + 2):
        try:
            prepared = contacts.prepare(data, scope)
            prepared.custom = dict(data.custom)  # already checked against the field types
            item.set_prepared(prepared)
            item.score = _initial_score(prepared)
            return item
        except InvalidInput as exc:
            dropped = _drop_bad_value(data, exc.field, region)
            if dropped is None:
                item.error = str(exc)
                return item
            item.warnings.append(dropped)
    item.error = "has too many invalid values"
    return item


def _check_custom(item: Item, fields: Fields) -> None:
    """Custom values checked against their field's type; a value that does not fit is dropped."""
    data = item.data
    if data is None or not data.custom:
        return
    checked: dict[str, Any] = {}
    for key, raw in data.custom.items():
        definition = fields.get(key)
        if definition is None:
            continue
        try:
            value = custom_fields.coerce(definition, raw, f"custom.{key}")
        except InvalidInput as exc:
            item.warnings.append(f"{str(raw)[:80]!r} dropped: {str(exc)[:200]}")
            continue
        if value is not None:
            checked[key] = value
    data.custom = checked


@dataclass(frozen=True)
class _NewContact:
    """The columns scoring reads of a contact not stored yet (a bulk insert builds no ORM row)."""

    id: str
    title: str | None
    company: str | None
    emails: list[str]
    source: str
    stage: str
    created_at: datetime
    referred_by_id: str | None = None
    budget: str | None = None
    authority: str | None = None
    need: str | None = None
    timeline: str | None = None


def _initial_score(prepared: Prepared) -> int:
    """The score add_contact gives a new contact (no touches yet), from the record's own fields.

    Of an imported contact without touches, scoring reads only the title, whether there is a
    company, and whether an email is on a business (not free-mail) domain; the time counts only
    for engagement, which an import has not had. Titles repeat across a file, so each
    combination is scored once.
    """
    business = any(e.rsplit("@", 1)[-1].lower() not in scoring.FREE_MAIL_DOMAINS for e in prepared.emails)
    return _score_of(prepared.title, bool(prepared.company), business)


@functools.lru_cache(maxsize=16_384)
def _score_of(title: str | None, has_company: bool, business_email: bool) -> int:
    moment = datetime(2000, 1, 1, tzinfo=UTC)
    view = _NewContact(
        id="",
        title=title,
        company="company" if has_company else None,
        emails=["x@business.example"] if business_email else [],
        source=Source.IMPORT.value,
        stage=Stage.LEAD.value,
        created_at=moment,
    )
    return scoring.initial_score(cast(ContactRow, view), moment)


def _guarded(items: Iterator[Item]) -> Iterator[Item]:
    """The records of a plan; if reading the file itself fails, a last marker item carries the error."""
    last: Item | None = None
    try:
        for item in items:
            last = item
            yield item
    except Exception as exc:  # reported with the saved prefix, never a bare crash
        if not isinstance(exc, LeadError):
            log.warning(
                "reading the import stopped after record %d", last.number if last else 0, exc_info=True
            )
        yield Item(number=(last.number if last else 0) + 1, line=None, fatal=exc)


def _drop_bad_value(data: ContactCreate, field_name: str, region: str) -> str | None:
    """Remove the value ``prepare`` refused (rare, so found by trying each); a warning, or None if fatal."""
    width = contacts.WIDTHS.get(field_name)
    value = getattr(data, field_name, None) if width else None
    if width and isinstance(value, str) and len(value) > width:
        # A cell longer than the column: cut at a word, so one long title does not lose the lead.
        setattr(data, field_name, normalize.cut_at_word(value, width))
        return f"{field_name} cut to {width} characters (it had {len(value)})"
    if field_name == "website" and data.website:
        shown = data.website
        data.website = None
        return f"website {shown[:80]!r} dropped: not a web address"
    if field_name == "email":
        values, why = data.emails, "not an email address"
    elif field_name == "phone":
        values, why = data.phones, "not a phone number"
    else:
        return None
    for value in values:
        try:
            if field_name == "email":
                normalize.normalize_email(value)
            else:
                normalize.normalize_phone(value, region)
        except InvalidInput:
            values.remove(value)
            return f"{field_name} {value[:80]!r} dropped: {why}"
    return None


def _batches(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def import_contacts(
    transactions: Transactions,
    scope: Scope,
    *,
    source: ImportSource,
    format: str = "auto",
    follow_up: bool = False,
    dry_run: bool = False,
    progress: ImportProgress | None = None,
    batch_size: int = BATCH_SIZE,
    parse_in_process: bool | None = None,
) -> ImportResult:
    """Import every record of a vCard or CSV source; see the module docstring for batching.

    A source of ``PROCESS_MIN_BYTES`` or more is parsed in a child process (``parse_process``)
    unless ``parse_in_process`` says otherwise; the records and the result are the same.
    """
    fields = await custom_definitions(transactions)
    try:
        the_plan = plan(source, scope, format, fields)
    except LeadError:
        raise
    except Exception as exc:  # e.g. a header no check foresaw: say so clearly
        log.warning("the import file could not be read", exc_info=True)
        raise ImportInterrupted(
            f"The import could not read the file ({type(exc).__name__}: {str(exc)[:200]}); nothing was "
            "saved. Check that it is a vCard (.vcf) or CSV file with a header row"
        ) from exc
    # The child rebuilds the source from its path or bytes: a source that reads in its own way (a
    # subclass) is parsed here.
    in_child = type(source) is ImportSource and (
        parse_in_process if parse_in_process is not None else source.size >= PROCESS_MIN_BYTES
    )
    batch_iter: Iterator[list[Item]] = (
        parse_process.child_batches(
            parse_process.job_for(source, scope, format, fields, batch_size), the_plan
        )
        if in_child
        else _batches(_guarded(the_plan.items), batch_size)
    )
    try:
        return await _run_batches(
            transactions,
            scope,
            source,
            the_plan,
            batch_iter,
            follow_up=follow_up,
            dry_run=dry_run,
            progress=progress,
        )
    finally:
        if isinstance(batch_iter, Generator):
            batch_iter.close()  # a child parser stops here, whether the import finished or failed


async def _run_batches(
    transactions: Transactions,
    scope: Scope,
    source: ImportSource,
    the_plan: Plan,
    batch_iter: Iterator[list[Item]],
    *,
    follow_up: bool,
    dry_run: bool,
    progress: ImportProgress | None,
) -> ImportResult:
    """Store the batches in file order, one transaction each; the result once all are in."""
    total = Tally()
    claimed_across: dict[Key, str] = {}  # dry runs: keys "created" by earlier batches
    reported = 0
    inserted = analyzed_at = 0  # contacts added since the planner's statistics were refreshed
    if not dry_run:
        await _refresh_statistics(transactions, only_if_missing=True)
    # Parsing (pure Python) runs in a worker thread, one batch ahead of the store: the event loop
    # stays free for other requests, and SQLite works (without the GIL) while the next batch parses.
    batch, fatal = await _next_batch(batch_iter, total)
    while batch is not None:
        tally = Tally()
        ahead: dict[str, tuple[list[Item] | None, Item | None]] = {}

        async def parse_ahead() -> None:
            ahead["next"] = await _next_batch(batch_iter, total)  # noqa: B023

        failure: BaseException | None = None
        async with anyio.create_task_group() as group:
            if fatal is None:
                group.start_soon(parse_ahead)
            try:
                async with transactions(write=not dry_run) as session:
                    await _apply_batch(
                        session,
                        scope,
                        batch,
                        tally,
                        follow_up=follow_up,
                        dry_run=dry_run,
                        claimed_across=claimed_across,
                    )
            except Exception as exc:  # the store failed, or a bug: report the saved prefix
                failure = exc
        if failure is not None:
            raise _interrupted(total, batch, dry_run, failure) from failure
        total.add(tally)
        inserted += tally.created
        if not dry_run and inserted >= max(ANALYZE_EVERY, analyzed_at // 2):
            analyzed_at += inserted
            inserted = 0
            await _refresh_statistics(transactions)
        if progress is not None:
            # Progress must grow with every report; records parsed together can share an offset.
            reported = min(source.progress.total, max(batch[-1].offset, reported + 1))
            await progress(reported, source.progress.total, f"{total.records} records: {total.summary()}")
        await anyio.lowlevel.checkpoint()  # let other requests run between batches
        if fatal is not None:
            raise _unreadable(total, fatal, dry_run)
        batch, fatal = ahead.get("next", (None, None))
    if fatal is not None:  # the file failed before its first complete record
        raise _unreadable(total, fatal, dry_run)
    if total.records == 0 and the_plan.format == "vcard":
        raise InvalidInput(
            source_field(source),
            "holds no vCard (no BEGIN:VCARD ... END:VCARD)",
            "Give the text of a .vcf file",
        )
    return ImportResult(
        format=the_plan.format,
        dry_run=dry_run,
        records=total.records,
        created=total.created,
        merged=total.merged,
        skipped=total.skipped,
        errors=total.errors[:MAX_LISTED],
        errors_total=len(total.errors),
        warnings=total.warnings[:MAX_LISTED],
        warnings_total=len(total.warnings),
        committed_through=0 if dry_run else total.last_number,
        columns=the_plan.columns,
        unmapped_columns=the_plan.unmapped,
        follow_ups_scheduled=follow_up and not dry_run and total.created > 0,
        notices=the_plan.notices(),
    )


async def _refresh_statistics(transactions: Transactions, *, only_if_missing: bool = False) -> None:
    """Refresh the planner's statistics of the de-duplication keys (and, on PostgreSQL, contacts).

    Without them both planners answer a key look-up of a few values by scanning every key of the
    workspace: PostgreSQL's on fresh tables (autovacuum reacts in minutes), SQLite's whenever
    the bound values are ORed together, as add_contact's merge does (about 50 ms a record at 70k
    keys against 30 us with statistics), so a large or merge-heavy import slows down
    quadratically. On SQLite only ``contact_keys`` is analyzed, with a bounded sample, so the
    plans of other queries stay as they are. ``only_if_missing``: SQLite, when it has none yet.
    """
    if only_if_missing:
        async with transactions(write=False) as session:
            if dialect_name(session) != "sqlite" or await _sqlite_has_statistics(session):
                return  # PostgreSQL analyzes tables on its own once they are not new
    async with transactions(write=True) as session:
        try:
            if dialect_name(session) == "sqlite":
                async with session.begin_nested():
                    await session.execute(_statistics_sql("PRAGMA analysis_limit=1000"))
                    await session.execute(_statistics_sql("ANALYZE contact_keys"))
                return
            async with session.begin_nested():
                await session.execute(_statistics_sql("ANALYZE contact_keys"))
                await session.execute(_statistics_sql("ANALYZE contacts"))
        except SQLAlchemyError as exc:  # e.g. not the tables' owner: the import goes on, slower
            log.info("could not refresh table statistics: %s", type(exc).__name__)


def _statistics_sql(sql: str) -> TextClause:
    """Planner-statistics SQL: it names tables but reads no workspace's rows (the guard lets it by)."""
    return text(sql).execution_options(across_workspaces=True)


async def _sqlite_has_statistics(session: AsyncSession) -> bool:
    exists = await session.execute(_statistics_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"))
    if exists.first() is None:
        return False
    query = "SELECT 1 FROM sqlite_stat1 WHERE tbl = 'contact_keys' LIMIT 1"
    found = await session.execute(_statistics_sql(query))
    return found.first() is not None


async def _next_batch(batches: Iterator[list[Item]], total: Tally) -> tuple[list[Item] | None, Item | None]:
    """The next batch, parsed in a worker thread, and the marker of a read failure ending it (if any)."""
    try:
        batch = await anyio.to_thread.run_sync(next, batches, None)
    except Exception as exc:  # _guarded catches reading errors; this is a last resort
        return None, Item(number=total.last_number + 1, line=None, fatal=exc)
    if batch and batch[-1].fatal is not None:
        fatal = batch.pop()
        return batch or None, fatal
    return batch, None


def _saved(total: Tally) -> str:
    return (
        f"records 1 to {total.last_number} were saved ({total.summary()})"
        if total.last_number
        else "no record was saved"
    )


def _interrupted(total: Tally, batch: list[Item], dry_run: bool, exc: BaseException) -> ImportInterrupted:
    first = batch[0]
    where = f"record {first.number}" + (f" (line {first.line})" if first.line else "")
    store = isinstance(exc, (SQLAlchemyError, OSError))
    cause = (
        f"the store failed ({type(exc).__name__})"
        if store
        else f"of an unexpected error ({type(exc).__name__})"
    )
    if store:
        log.warning("import stopped at %s: %s", where, type(exc).__name__)
    else:
        log.error("import stopped at %s", where, exc_info=exc)
    if dry_run:
        return ImportInterrupted(
            f"The dry run stopped at {where} because {cause}. Nothing was saved; try again."
        )
    return ImportInterrupted(
        f"The import stopped at {where} because {cause}: {_saved(total)}; "
        f"nothing from record {first.number} on was saved. Run the same import again: records already saved "
        "are recognised and skipped."
    )


def _unreadable(total: Tally, fatal: Item, dry_run: bool) -> ImportInterrupted:
    """The file could not be read past some record: say which records were saved."""
    exc = fatal.fatal
    why = str(exc) if isinstance(exc, LeadError) else f"{type(exc).__name__}: {str(exc)[:200]}"
    after = total.last_number
    where = f"after record {after}" if after else "before its first record"
    if dry_run:
        return ImportInterrupted(f"The dry run could not read the file {where} ({why}). Nothing was saved.")
    return ImportInterrupted(
        f"The import could not read the file {where} ({why}): {_saved(total)}; nothing after record "
        f"{after} was saved. Fix the file from there and import it again: records already saved are "
        "recognised and skipped."
    )


def _issue(item: Item, reason: str) -> ImportIssue:
    return ImportIssue(record=item.number, line=item.line, reason=reason)


# The batch's key look-up, one statement per kind: the values go as one parameter (a JSON array
# SQLite expands, an array on PostgreSQL), so the statement is the same whatever their number (no
# IN list of hundreds of binds rendered and processed each time); both planners answer it from
# the keys' primary-key index (SQLite: SEARCH contact_keys USING INDEX ... value=?, over json_each).
_OWNERS_SQL = {
    "sqlite": text(
        "SELECT value, contact_id FROM contact_keys WHERE workspace_id = :ws AND kind = :kind "
        "AND value IN (SELECT value FROM json_each(:values))"
    ),
    "postgresql": text(
        "SELECT value, contact_id FROM contact_keys WHERE workspace_id = :ws AND kind = :kind "
        "AND value = ANY(CAST(:values AS VARCHAR[]))"
    ),
}


async def _owners(session: AsyncSession, keys: set[Key]) -> dict[Key, str]:
    """Which stored contact holds each key (one query per kind)."""
    by_kind: dict[str, list[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    found: dict[Key, str] = {}
    dialect = dialect_name(session)
    statement = _OWNERS_SQL[dialect]
    workspace_id = session.info["workspace_id"]
    for kind, values in by_kind.items():
        listed: Any = json.dumps(values) if dialect == "sqlite" else values
        rows = await session.execute(statement, {"ws": workspace_id, "kind": kind, "values": listed})
        for value, contact_id in rows:
            found[(kind, value)] = contact_id
    return found


async def _live_rows(session: AsyncSession, ids: set[str], *, lock: bool) -> dict[str, ContactRow]:
    """The stored contacts holding the batch's keys; locked (as add_contact locks) when merging."""
    out: dict[str, ContactRow] = {}
    listed = sorted(ids)  # a fixed order, so two imports lock their rows without deadlocking
    for start in range(0, len(listed), KEY_QUERY_CHUNK):
        rows = await session.execute(
            contact_query(ContactRow.id.in_(listed[start : start + KEY_QUERY_CHUNK]), lock=lock)
        )
        for row in rows.scalars():
            out[row.id] = row
    return out


async def _bare_contacts(session: AsyncSession, names: set[str]) -> dict[str | None, list[ContactRow]]:
    """Stored contacts without any de-duplication key, by full name."""
    found: dict[str | None, list[ContactRow]] = {}
    listed = sorted(names)
    for start in range(0, len(listed), KEY_QUERY_CHUNK):
        rows = await session.execute(
            select(ContactRow).where(
                ContactRow.full_name.in_(listed[start : start + KEY_QUERY_CHUNK]),
                ContactRow.deleted_at.is_(None),
            )
        )
        for row in rows.scalars():
            if not row.emails and not row.phones and not normalize.name_key(row.full_name, row.company):
                found.setdefault(row.full_name, []).append(row)
    return found


def _brings_nothing(prepared: Prepared, row: ContactRow, owners: dict[Key, str]) -> bool:
    """True when merging into ``row`` would fill nothing (add_contact would change nothing)."""
    for name in contacts.SINGLE_FIELDS:
        if getattr(prepared, name) and not getattr(row, name):
            return False
    for value in prepared.emails:
        if value not in row.emails and owners.get(("email", value), row.id) == row.id:
            return False
    for value in prepared.phones:
        if value not in row.phones and owners.get(("phone", value), row.id) == row.id:
            return False
    if not set(prepared.tags) <= set(row.tags):
        return False
    if any(key not in (row.custom or {}) for key in prepared.custom):
        return False
    if prepared.notes and not (row.notes and prepared.notes in row.notes):
        return False
    return not (prepared.referred_by or prepared.consent)


def _match(item: Item, owners: dict[Key, str], rows: dict[str, ContactRow]) -> ContactRow | None:
    """The stored contact add_contact would merge into (strongest key first), if any."""
    for key in item.keys:
        contact_id = owners.get(key)
        if contact_id and contact_id in rows:
            return rows[contact_id]
    return None


async def _apply_batch(
    session: AsyncSession,
    scope: Scope,
    batch: list[Item],
    tally: Tally,
    *,
    follow_up: bool,
    dry_run: bool,
    claimed_across: dict[Key, str],
) -> None:
    valid = [i for i in batch if i.error is None and i.prepared is not None]
    all_keys = set(itertools.chain.from_iterable(item.keys for item in valid))
    owners = await _owners(session, all_keys)
    rows = await _live_rows(session, set(owners.values()), lock=not dry_run)
    claimed: dict[Key, int] = {}
    pending: list[Item] = []
    merged_rows: dict[str, ContactRow] = {}  # rescored together at the end of the batch
    # A record with only a name (no email, phone or company) has no key for add_contact to match.
    # So that importing a file again adds nothing, such a record is skipped when a stored contact
    # with the same name and no keys already holds everything it brings.
    bare_names: set[str] = {
        i.prepared.full_name for i in valid if not i.keys and i.prepared and i.prepared.full_name
    }
    bare_rows = await _bare_contacts(session, bare_names) if bare_names else {}
    bare_seen: set[tuple[str | None, str | None]] = set()

    async def flush() -> None:
        if pending:
            await _insert_new(session, scope, pending, tally)
            pending.clear()

    for item in batch:
        tally.records += 1
        tally.last_number = item.number
        tally.warnings.extend(_issue(item, w) for w in item.warnings)
        if item.error is not None or item.prepared is None:
            tally.errors.append(_issue(item, item.error or "cannot be imported"))
            continue
        keys = item.keys
        if not keys and not follow_up:
            signature = (item.prepared.full_name, item.prepared.notes)
            known = any(
                _brings_nothing(item.prepared, row, owners) for row in bare_rows.get(signature[0], [])
            )
            if known or signature in bare_seen:
                tally.skipped += 1
                continue
            bare_seen.add(signature)
        in_batch = not claimed.keys().isdisjoint(keys) or not claimed_across.keys().isdisjoint(keys)
        stored = _match(item, owners, rows)
        if stored is None and not in_batch and not follow_up:
            for key in keys:
                claimed[key] = item.number
            if dry_run:
                tally.created += 1
                for key in keys:
                    claimed_across[key] = "new"
            else:
                pending.append(item)
            continue
        if (
            stored is not None
            and not in_batch
            and not follow_up
            and _brings_nothing(item.prepared, stored, owners)
        ):
            tally.skipped += 1
            continue
        if dry_run:
            if stored is None and not in_batch:
                tally.created += 1
            else:
                tally.merged += 1
            for key in keys:
                claimed[key] = item.number
            continue
        await flush()
        matched_on = _matched_key(item, owners, stored) if stored is not None and not follow_up else None
        if stored is not None and matched_on is not None and not in_batch:
            await _merge_stored(session, scope, item, stored, matched_on, tally, claimed)
            merged_rows[stored.id] = stored
            continue
        await _add_one(session, scope, item, tally, follow_up=follow_up, claimed=claimed)
    if not dry_run:
        await flush()
        if merged_rows:
            await scoring.rescore_many(session, scope, list(merged_rows.values()))


def _matched_key(item: Item, owners: dict[Key, str], row: ContactRow) -> str | None:
    """The kind of key (email, phone, name) by which add_contact would match ``row``, still held by it.

    The row was read (and locked) after the keys: if it no longer holds the key, None sends the
    record through add_contact, which looks again.
    """
    held: set[Key] = {("email", e) for e in row.emails} | {("phone", p) for p in row.phones}
    name_key = normalize.name_key(row.full_name, row.company)
    if name_key:
        held.add(("name", name_key))
    for key in item.keys:
        if owners.get(key) == row.id:
            return key[0] if key in held else None
    return None


async def _merge_stored(
    session: AsyncSession,
    scope: Scope,
    item: Item,
    row: ContactRow,
    matched_on: str,
    tally: Tally,
    claimed: dict[Key, int],
) -> None:
    """Merge a record into the stored contact it matches, as add_contact does (its score later).

    add_contact would look the match up again and rescore at once; the batch already holds the
    locked row, and scores are computed for all merged contacts together before the batch commits.
    """
    assert item.prepared is not None
    try:
        async with session.begin_nested():
            filled, _kept = await contacts.merge_into(
                session, scope, row, item.prepared, matched_on=matched_on
            )
    except LeadError as exc:
        tally.errors.append(_issue(item, str(exc)))
        return
    if filled:
        tally.merged += 1
    else:
        tally.skipped += 1
    _claim(claimed, item, row.emails, row.phones, row.full_name, row.company)


def _claim(
    claimed: dict[Key, int],
    item: Item,
    emails: list[str],
    phones: list[str],
    full_name: str | None,
    company: str | None,
) -> None:
    """Keys now held by a contact this batch wrote: later records matching them go through add_contact."""
    for email in emails:
        claimed[("email", email)] = item.number
    for phone in phones:
        claimed[("phone", phone)] = item.number
    name_key = normalize.name_key(full_name, company)
    if name_key:
        claimed[("name", name_key)] = item.number


async def _add_one(
    session: AsyncSession, scope: Scope, item: Item, tally: Tally, *, follow_up: bool, claimed: dict[Key, int]
) -> None:
    """The record through add_contact itself (it matched something, or follow-ups were asked for)."""
    assert item.prepared is not None
    # add_contact's own path from the fields parsing prepared (a copy: add_prepared changes them).
    prepared = dataclasses.replace(
        item.prepared,
        emails=list(item.prepared.emails),
        phones=list(item.prepared.phones),
        tags=list(item.prepared.tags),
        custom=dict(item.prepared.custom),
    )
    try:
        async with session.begin_nested():
            result = await contacts.add_prepared(session, scope, prepared, schedule_followup=follow_up)
    except LeadError as exc:
        tally.errors.append(_issue(item, str(exc)))
        return
    if result.created:
        tally.created += 1
    elif result.merged_fields:
        tally.merged += 1
    else:
        tally.skipped += 1
    contact = result.contact
    _claim(claimed, item, contact.emails, contact.phones, contact.full_name, contact.company)


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# The columns of a new contact's row, every one named (so its pipeline facts are these values).
_CONTACT_COLUMNS = (
    "workspace_id",
    "id",
    "owner_id",
    "full_name",
    "given_name",
    "family_name",
    "company",
    "title",
    "emails",
    "phones",
    "website",
    "address",
    "notes",
    "tags",
    "source",
    "referred_by_id",
    "met_at",
    "stage",
    "score",
    "consent",
    "custom",
    "created_at",
    "updated_at",
    "first_response_at",
    "deleted_at",
    "furthest_stage",
    "outbound_touches",
    "search_text",
)
_FACT_VALUES = operator.itemgetter(*(_CONTACT_COLUMNS.index(name) for name in aggregates.FACT_COLUMNS))
_KEY_COLUMNS = ("workspace_id", "kind", "value", "contact_id")
_CHANGE_COLUMNS = ("id", "workspace_id", "contact_id", "user_id", "at", "action", "detail")


def _row_values(scope: Scope, item: Item, contact_id: str, now: datetime) -> tuple[Any, ...]:
    """The contacts row of a new record, in ``_CONTACT_COLUMNS`` order."""
    prepared = item.prepared
    assert prepared is not None
    return (
        scope.workspace_id,
        contact_id,
        scope.user_id,
        prepared.full_name,
        prepared.given_name,
        prepared.family_name,
        prepared.company,
        prepared.title,
        prepared.emails,
        prepared.phones,
        prepared.website,
        prepared.address,
        prepared.notes,
        prepared.tags,
        Source.IMPORT.value,
        None,
        prepared.met_at,
        Stage.LEAD.value,
        item.score,
        None,
        prepared.custom or None,
        now,
        now,
        None,
        None,
        Stage.LEAD.value,
        0,
        # Folded here, for the records inserted only (a merged record's text is its merged
        # row's; a skipped one needs none), and not by a parsing child, where the text was 40%
        # of what it sent down the pipe.
        contacts.search_text_of(prepared),
    )


def _expanded_inserts(session: AsyncSession, workspace_id: str, pks: list[int]) -> list[Any]:
    """INSERT ... SELECT of the email and phone keys and the tags of just-inserted contacts.

    Each value of a contact's ``emails``, ``phones`` and ``tags`` (normalized and de-duplicated
    by ``prepare``) becomes its key or tag row, exactly the rows a parameter set per value would
    write; the select names the workspace, as the guard requires.
    """
    table = _table(ContactRow)
    sqlite = dialect_name(session) == "sqlite"
    expand = "json_each" if sqlite else "jsonb_array_elements_text"
    # The pks as one parameter (a JSON array; an array on PostgreSQL), not one bind each: the
    # statement compiles once, and both planners still find each row by pk.
    if sqlite:
        listed = func.json_each(bindparam("pks", json.dumps(pks))).table_valued("value")
        chosen_pks: Any = table.c.pk.in_(select(listed.c.value))
    else:
        chosen_pks = table.c.pk == any_(bindparam("pks", pks, type_=ARRAY(BigInteger)))
    mine = and_(table.c.workspace_id == workspace_id, chosen_pks)
    statements: list[Any] = []
    for kind, column in (("email", table.c.emails), ("phone", table.c.phones)):
        values = getattr(func, expand)(column).table_valued("value").alias(f"{kind}s")
        chosen = (
            select(table.c.workspace_id, literal(kind), values.c.value, table.c.id)
            .select_from(table.join(values, true()))
            .where(mine)
            .order_by(values.c.value)
        )
        statements.append(
            insert(_table(ContactKey)).from_select(["workspace_id", "kind", "value", "contact_id"], chosen)
        )
    tags = getattr(func, expand)(table.c.tags).table_valued("value").alias("tag_values")
    chosen = (
        select(table.c.workspace_id, tags.c.value, table.c.pk)
        .select_from(table.join(tags, true()))
        .where(mine)
        .order_by(tags.c.value, table.c.pk)
    )
    statements.append(insert(_table(ContactTag)).from_select(["workspace_id", "tag", "contact_pk"], chosen))
    return statements


# Sorted: the 'created' detail lists a record's fields in this order.
_FIELD_NAMES = tuple(
    sorted((*contacts.SINGLE_FIELDS, *contacts.LIST_FIELDS, "notes", "referred_by", "custom"))
)
_FIELD_VALUES = operator.attrgetter(*_FIELD_NAMES)


@functools.lru_cache(maxsize=1024)
def _created_detail(fields: tuple[str, ...]) -> dict[str, Any]:
    """The 'created' history detail of a record bringing these fields (one object per field set, never
    mutated: the JSON of each is written once per batch)."""
    return {"source": Source.IMPORT.value, "fields": list(fields)}


async def _insert_new(session: AsyncSession, scope: Scope, items: list[Item], tally: Tally) -> None:
    """Insert contacts that match nothing, with their keys, tags and 'created' history, in bulk."""
    ids = dict(zip((item.number for item in items), new_ids(len(items)), strict=True))
    now = scope.now()
    rows = [_row_values(scope, item, ids[item.number], now) for item in items if item.prepared]
    try:
        async with session.begin_nested():
            conn = await session.connection()
            # Multi-row INSERT ... VALUES of prebuilt tuples (db/bulk.py), one statement per page:
            # a Core insert's per-row parameter processing cost more than SQLite's work. RETURNING
            # gives the pks that select the rows below (by pk: the id index made those 2-3x slower).
            inserted = [
                row[0]
                for row in await bulk.insert_rows(
                    conn, _table(ContactRow), _CONTACT_COLUMNS, rows, returning=("pk",)
                )
            ]
            # Core inserts bypass the flush listeners that keep pipeline_report's counters: they
            # are counted from the very values written (each row names every fact column).
            # A batch's rows mostly share their facts (this workspace, now, import, lead): each
            # distinct set is counted once, with its number of rows.
            same = Counter(map(_FACT_VALUES, rows))
            facts = [
                (dict(zip(aggregates.FACT_COLUMNS, values, strict=True)), n) for values, n in same.items()
            ]
            await session.run_sync(lambda sync: aggregates.count_values(sync.connection(), facts))
            # Email and phone keys and tags are the stored rows' own JSON lists: the database
            # expands them (a statement per kind instead of a parameter set per value).
            for statement in _expanded_inserts(session, scope.workspace_id, inserted):
                await session.execute(statement)
            # A record's name key, when it has one, is its last key (Item.set_prepared).
            names = [
                (scope.workspace_id, "name", item.keys[-1][1], ids[item.number])
                for item in items
                if item.keys and item.keys[-1][0] == "name"
            ]
            if names:  # a bare name (no company) has no name key
                # In index order: the key B-tree takes them as runs of neighbours, not scattered.
                names.sort(key=lambda row: row[2])
                await bulk.insert_rows(conn, _table(ContactKey), _KEY_COLUMNS, names)
            changes = [
                (
                    change_id,
                    scope.workspace_id,
                    ids[item.number],
                    scope.user_id,
                    now,
                    "created",
                    _created_detail(tuple(itertools.compress(_FIELD_NAMES, _FIELD_VALUES(item.prepared)))),
                )
                for item, change_id in zip(items, new_ids(len(items)), strict=True)
            ]
            await bulk.insert_rows(conn, _table(ContactChange), _CHANGE_COLUMNS, changes)
    except IntegrityError:
        # Another writer took one of these keys since they were read: add them one by one instead.
        log.info("bulk insert of %d contacts clashed with a concurrent write; adding one by one", len(items))
        claimed: dict[Key, int] = {}
        for item in items:
            await _add_one(session, scope, item, tally, follow_up=False, claimed=claimed)
        return
    tally.created += len(items)
