"""Contacts: add (with de-duplication and merge), read, update, delete, search.

A contact matching an existing one (same email, same E.164 phone, or a
near-identical name at the same company) is never duplicated: list fields are
unioned, empty fields filled, filled ones kept (the differing value goes to
the contact's history), notes appended. Keys live in ``contact_keys`` under a
unique primary key, so even two concurrent adds of one email end in one
contact: the loser's insert fails inside a savepoint and it merges instead.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db import aggregates
from lead_mcp.db.search import fts5_query, pg_match, sqlite_fts
from lead_mcp.db.tables import (
    ContactChange,
    ContactKey,
    ContactRow,
    ContactTag,
    FollowUpRow,
    InteractionRow,
    User,
    new_id,
)
from lead_mcp.domain import (
    AddContactResult,
    ContactCreate,
    ContactDetail,
    ContactPage,
    ContactUpdate,
    DeleteResult,
    FollowUpStatus,
    Source,
    Stage,
)
from lead_mcp.errors import Conflict, InvalidInput, NotFound
from lead_mcp.services import cadences, normalize, scoring, sizing, stages
from lead_mcp.services import custom_fields as custom_field_service
from lead_mcp.services import followups as followup_service
from lead_mcp.services.records import (
    SUMMARY_COLUMNS,
    change_model,
    contact_model,
    contact_query,
    contact_summary,
    cursor_int,
    decode_cursor,
    dialect_name,
    encode_cursor,
    followup_model,
    interaction_model,
    load_contact,
    record_change,
)
from lead_mcp.services.scope import Scope

SINGLE_FIELDS = (
    "full_name",
    "given_name",
    "family_name",
    "company",
    "title",
    "website",
    "address",
    "met_at",
)
LIST_FIELDS = ("emails", "phones", "tags")
MAX_LIST_ITEMS = 50
MAX_NOTES = 20_000
# The widths of the contact's text columns (tables.ContactRow): imports, scans and forms bring
# text no tool schema has bounded yet.
WIDTHS = {
    "full_name": 300,
    "given_name": 200,
    "family_name": 200,
    "company": 300,
    "title": 300,
    "website": 500,
    "address": 1000,
    "met_at": 300,
}
DETAIL_INTERACTIONS = 50
DETAIL_FOLLOWUPS = 50
DETAIL_HISTORY = 50
# Longest touch summary, follow-up note or history value get_contact shows in full.
DETAIL_TEXT = 2_000
DETAIL_HISTORY_TEXT = 300


@dataclass
class Prepared:
    """Validated, normalized contact fields ready to store or merge."""

    full_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    company: str | None = None
    title: str | None = None
    website: str | None = None
    address: str | None = None
    met_at: str | None = None
    notes: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    source: Source | None = None
    referred_by: str | None = None
    consent: dict[str, Any] | None = None
    custom: dict[str, Any] = field(default_factory=dict)

    @property
    def name_key(self) -> str | None:
        return normalize.name_key(self.full_name, self.company)


def _unique(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)


def _check_list(field_name: str, values: list[str]) -> None:
    if len(values) > MAX_LIST_ITEMS:
        raise InvalidInput(
            field_name, f"has {len(values)} items; at most {MAX_LIST_ITEMS} are kept", "Give fewer"
        )


def prepare(data: ContactCreate, scope: Scope) -> Prepared:
    """Validate and normalize incoming contact fields (raises InvalidInput naming the field)."""
    region = scope.settings.default_region
    out = Prepared(
        full_name=normalize.clean_text(data.full_name),
        given_name=normalize.clean_text(data.given_name),
        family_name=normalize.clean_text(data.family_name),
        company=normalize.clean_text(data.company),
        title=normalize.clean_text(data.title),
        address=normalize.clean_text(data.address),
        met_at=normalize.clean_text(data.met_at),
        notes=normalize.clean_text(data.notes),
        source=data.source,
        referred_by=normalize.clean_text(data.referred_by),
        consent=data.consent.model_dump(mode="json") if data.consent else None,
    )
    for list_field in LIST_FIELDS:
        _check_list(list_field, getattr(data, list_field))
    out.emails = _unique([normalize.normalize_email(e, "email") for e in data.emails if e and e.strip()])
    out.phones = _unique(
        [normalize.normalize_phone(p, region, "phone") for p in data.phones if p and p.strip()]
    )
    out.tags = _unique([normalize.normalize_tag(t) for t in data.tags if t and t.strip()])
    if data.website and data.website.strip():
        out.website = normalize.normalize_website(data.website)
    if out.notes and len(out.notes) > MAX_NOTES:
        raise InvalidInput("notes", f"is {len(out.notes)} characters; at most {MAX_NOTES}", "Shorten it")
    for name, width in WIDTHS.items():  # what the columns hold (PostgreSQL refuses more)
        value = getattr(out, name)
        if value and len(value) > width:
            raise InvalidInput(name, f"is {len(value)} characters; at most {width}", "Shorten it")
    if not out.full_name and (out.given_name or out.family_name):
        joined = " ".join(p for p in (out.given_name, out.family_name) if p)
        out.full_name = normalize.cut_at_word(joined, WIDTHS["full_name"])
    if out.full_name and not (out.given_name or out.family_name):
        out.given_name, out.family_name = normalize.split_name(out.full_name)
    if not (out.full_name or out.emails or out.phones):
        raise InvalidInput(
            "full_name",
            "a contact needs at least a name, an email or a phone",
            "Give full_name, email or phone",
        )
    return out


def _keys_of(row: ContactRow) -> set[tuple[str, str]]:
    keys = {("email", e) for e in row.emails} | {("phone", p) for p in row.phones}
    name = normalize.name_key(row.full_name, row.company)
    if name:
        keys.add(("name", name))
    return keys


def search_text_of(fields: ContactRow | Prepared) -> str:
    """The search text stored for a contact's fields (a stored row, or prepared input not yet stored)."""
    return normalize.search_text(
        full_name=fields.full_name,
        given_name=fields.given_name,
        family_name=fields.family_name,
        company=fields.company,
        title=fields.title,
        emails=fields.emails,
        phones=fields.phones,
        website=fields.website,
        notes=fields.notes,
        tags=fields.tags,
        met_at=fields.met_at,
        address=fields.address,
        custom=custom_field_service.search_words(fields.custom),
    )


def _refresh_search_text(row: ContactRow) -> None:
    text = search_text_of(row)
    if text != row.search_text:
        row.search_text = text


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


@functools.lru_cache(maxsize=128)
def _owners_statement(count: int) -> Select[Any]:
    """The key look-up for ``count`` keys, built (and compiled) once per count.

    A Core select that names the workspace itself (the guard checks that ``:ws`` is the
    session's): building the ORed conditions through the ORM and its result machinery cost
    more than the query. The SQL is the same ``kind = ? AND value = ? OR ...`` the key index
    (and its statistics) serves.
    """
    keys = _table(ContactKey).c
    conditions = [
        and_(keys.kind == bindparam(f"k{i}"), keys.value == bindparam(f"v{i}")) for i in range(count)
    ]
    return select(keys.kind, keys.value, keys.contact_id).where(
        or_(*conditions), keys.workspace_id == bindparam("ws")
    )


async def _owners_of(session: AsyncSession, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Which contact holds each key now (pending changes flushed first, as an ORM select's autoflush did)."""
    if not keys:
        return {}
    workspace_id = session.info.get("workspace_id")
    if workspace_id is None:
        raise RuntimeError("contact keys are looked up in a workspace's session only")
    if session.new or session.dirty or session.deleted:
        await session.flush()
    params: dict[str, Any] = {"ws": workspace_id}
    for i, (kind, value) in enumerate(keys):
        params[f"k{i}"] = kind
        params[f"v{i}"] = value
    conn = await session.connection()
    rows = (await conn.execute(_owners_statement(len(keys)), params)).all()
    return {(kind, value): contact_id for kind, value, contact_id in rows}


async def _sync_keys(session: AsyncSession, scope: Scope, row: ContactRow, old: set[tuple[str, str]]) -> None:
    """Make contact_keys hold exactly this contact's keys."""
    new = _keys_of(row)
    gone = old - new
    for kind, value in gone:
        await session.execute(
            delete(ContactKey).where(
                ContactKey.kind == kind, ContactKey.value == value, ContactKey.contact_id == row.id
            )
        )
    added = new - old
    if added:
        session.add_all(
            ContactKey(workspace_id=scope.workspace_id, kind=kind, value=value, contact_id=row.id)
            for kind, value in added
        )
        await session.flush()
    for kind, value in gone:
        if kind == "name":
            await hand_over_name_key(session, scope, row, value)


async def hand_over_name_key(session: AsyncSession, scope: Scope, row: ContactRow, key: str) -> None:
    """A name key ``row`` gave up goes to a contact split off from it with that same name and company.

    undo_merge's split-off of a wrong merge can be the same name at the same company; it is left
    without the name key while the original holds it. When the original lets go (deleted, renamed),
    the split-off takes the key, so the next capture of that person merges into it.
    """
    details = (
        await session.execute(
            select(ContactChange.detail).where(
                ContactChange.workspace_id == scope.workspace_id,
                ContactChange.contact_id == row.id,
                ContactChange.action == "merge_undone",
            )
        )
    ).scalars()
    split_ids = [d["split_contact_id"] for d in details if isinstance(d, dict) and d.get("split_contact_id")]
    if not split_ids:
        return
    candidates = (
        await session.execute(
            select(ContactRow)
            .where(
                ContactRow.workspace_id == scope.workspace_id,
                ContactRow.id.in_(split_ids),
                ContactRow.deleted_at.is_(None),
            )
            .order_by(ContactRow.pk)
        )
    ).scalars()
    for other in candidates:
        if normalize.name_key(other.full_name, other.company) == key:
            if not await _owners_of(session, {("name", key)}):
                session.add(
                    ContactKey(workspace_id=scope.workspace_id, kind="name", value=key, contact_id=other.id)
                )
                await session.flush()
            return


async def _sync_tags(session: AsyncSession, scope: Scope, row: ContactRow, old: list[str]) -> None:
    gone = set(old) - set(row.tags)
    if gone:
        await session.execute(
            delete(ContactTag).where(ContactTag.contact_pk == row.pk, ContactTag.tag.in_(gone))
        )
    added = [t for t in row.tags if t not in set(old)]
    session.add_all(ContactTag(workspace_id=scope.workspace_id, tag=t, contact_pk=row.pk) for t in added)


async def find_duplicate(session: AsyncSession, prepared: Prepared) -> tuple[ContactRow | None, str | None]:
    """The existing contact these details belong to, and the key that matched (email, phone, name)."""
    keys = [("email", e) for e in prepared.emails] + [("phone", p) for p in prepared.phones]
    if prepared.name_key:
        keys.append(("name", prepared.name_key))
    if not keys:
        return None, None
    owners = await _owners_of(session, set(keys))
    for key in keys:  # emails first, then phones, then the name: the strongest match wins
        contact_id = owners.get(key)
        if contact_id:
            row = (
                await session.execute(contact_query(ContactRow.id == contact_id, lock=True))
            ).scalar_one_or_none()
            if row is not None:
                return row, key[0]
    return None, None


async def _check_referrer(session: AsyncSession, referred_by: str | None) -> None:
    if referred_by:
        await load_contact(session, referred_by, field="referred_by", lock=False)


def _new_row(scope: Scope, prepared: Prepared) -> ContactRow:
    """A new contact's row (not added to the session), with its search text and initial score."""
    now = scope.now()
    row = ContactRow(
        id=new_id(),
        workspace_id=scope.workspace_id,
        owner_id=scope.user_id,
        full_name=prepared.full_name,
        given_name=prepared.given_name,
        family_name=prepared.family_name,
        company=prepared.company,
        title=prepared.title,
        emails=prepared.emails,
        phones=prepared.phones,
        website=prepared.website,
        address=prepared.address,
        notes=prepared.notes,
        tags=prepared.tags,
        # Naming a referrer says where the lead came from when no source is given.
        source=(prepared.source or (Source.REFERRAL if prepared.referred_by else Source.MANUAL)).value,
        referred_by_id=prepared.referred_by,
        met_at=prepared.met_at,
        stage=Stage.LEAD.value,
        score=0,
        consent=prepared.consent,
        custom=prepared.custom or None,
        created_at=now,
        updated_at=now,
        search_text="",
    )
    _refresh_search_text(row)
    row.score = scoring.initial_score(row, now)  # no touches yet: scored without a query
    return row


async def _insert(
    session: AsyncSession,
    scope: Scope,
    prepared: Prepared,
    *,
    leave_out: frozenset[tuple[str, str]] = frozenset(),
    history: dict[str, Any] | None = None,
) -> ContactRow | None:
    """Insert a new contact with its keys (except ``leave_out``); None when another writer took one first.

    On PostgreSQL the insert runs in a savepoint: a concurrent add of the same email makes
    the key insert fail, and the caller merges into the winner instead. SQLite write
    transactions are serialized (BEGIN IMMEDIATE), so the duplicate check cannot race there.
    """
    row = _new_row(scope, prepared)

    async def insert_with_keys() -> None:
        session.add(row)
        await session.flush()  # the contact first: its keys refer to it
        await _sync_keys(session, scope, row, set(leave_out))

    if dialect_name(session) == "sqlite":
        await insert_with_keys()
    else:
        try:
            async with session.begin_nested():
                await insert_with_keys()
        except IntegrityError:
            return None
    await _sync_tags(session, scope, row, [])
    record_change(
        session,
        scope,
        row.id,
        "created",
        {
            "source": row.source,
            "fields": sorted(k for k, v in _field_values(prepared).items() if v),
            **(history or {}),
        },
    )
    return row


# What add_contact writes for a new contact: every column but the row key (unset ones as NULL,
# as the ORM would), one key set so the statement is compiled once.
_CONTACT_COLUMNS = tuple(c.key for c in _table(ContactRow).columns if c.key != "pk")
_FOLLOWUP_COLUMNS = tuple(c.key for c in _table(FollowUpRow).columns)
_INSERT_CONTACT = insert(_table(ContactRow))
_INSERT_KEYS = insert(_table(ContactKey))
_INSERT_TAGS = insert(_table(ContactTag))
_INSERT_CHANGE = insert(_table(ContactChange))
_INSERT_FOLLOWUP = insert(_table(FollowUpRow))


async def _store_new(
    session: AsyncSession, scope: Scope, row: ContactRow, prepared: Prepared, first: FollowUpRow | None
) -> bool:
    """Write a new contact with Core inserts: row, keys, tags, 'created' history, first follow-up, counters.

    The same rows :func:`_insert` and a flush would write (the pipeline counters included, which
    no flush listener sees here), in one statement per table and without the unit of work. False
    when another writer took one of its keys first (PostgreSQL: the inserts run in a savepoint;
    SQLite writers are serialized, so the duplicate check cannot race there).
    """
    row.furthest_stage = aggregates.furthest_of(row.stage, None)
    row.outbound_touches = 0
    values = {name: getattr(row, name) for name in _CONTACT_COLUMNS}
    ws = scope.workspace_id

    async def write() -> None:
        # Asked for inside the savepoint: the session emits SAVEPOINT when a connection is taken.
        conn = await session.connection()
        result = await conn.execute(_INSERT_CONTACT, values)
        inserted = result.inserted_primary_key
        assert inserted is not None
        row.pk = inserted[0]
        await aggregates.count_new_contact(conn, values)
        keys = [{"workspace_id": ws, "kind": k, "value": v, "contact_id": row.id} for k, v in _keys_of(row)]
        if keys:
            await conn.execute(_INSERT_KEYS, keys)
        if row.tags:
            await conn.execute(
                _INSERT_TAGS, [{"workspace_id": ws, "tag": t, "contact_pk": row.pk} for t in row.tags]
            )
        change = {
            "id": new_id(),
            "workspace_id": ws,
            "contact_id": row.id,
            "user_id": scope.user_id,
            "at": scope.now(),
            "action": "created",
            "detail": {
                "source": row.source,
                "fields": sorted(k for k, v in _field_values(prepared).items() if v),
            },
        }
        await conn.execute(_INSERT_CHANGE, change)
        if first is not None:
            await conn.execute(_INSERT_FOLLOWUP, {name: getattr(first, name) for name in _FOLLOWUP_COLUMNS})

    if dialect_name(session) == "sqlite":
        await write()
        return True
    try:
        async with session.begin_nested():
            await write()
    except IntegrityError:
        return False
    return True


def _field_values(prepared: Prepared) -> dict[str, Any]:
    return {
        name: getattr(prepared, name)
        for name in (*SINGLE_FIELDS, *LIST_FIELDS, "notes", "referred_by", "custom")
    }


def _snapshot(row: ContactRow) -> dict[str, Any]:
    """The values a merge may change, copied, so the merge's effect can be recorded for undo_merge."""
    values: dict[str, Any] = {name: getattr(row, name) for name in SINGLE_FIELDS}
    values.update({name: list(getattr(row, name)) for name in LIST_FIELDS})
    values.update(notes=row.notes, referred_by=row.referred_by_id, consent=row.consent)
    values["custom"] = dict(row.custom or {})
    return values


def _merge_effects(before: dict[str, Any], row: ContactRow) -> dict[str, Any]:
    """Exactly what a merge added (filled fields, list items, appended notes), as undo_merge reverts it."""
    added: dict[str, Any] = {}
    for name in SINGLE_FIELDS:
        if before[name] is None and getattr(row, name) is not None:
            added[name] = getattr(row, name)
    for name in LIST_FIELDS:
        new_items = [v for v in getattr(row, name) if v not in before[name]]
        if new_items:
            added[name] = new_items
    if row.notes and row.notes != before["notes"]:
        added["notes"] = row.notes[len(before["notes"] or "") :]
    if before["referred_by"] is None and row.referred_by_id:
        added["referred_by"] = row.referred_by_id
    if before["consent"] is None and row.consent:
        added["consent"] = row.consent
    new_custom = {k: v for k, v in (row.custom or {}).items() if k not in before["custom"]}
    if new_custom:
        added["custom"] = new_custom
    return added


def _incoming(prepared: Prepared) -> dict[str, Any]:
    """The details a merge brought in, kept so a wrong merge can be split off into its own contact."""
    values = {name: value for name, value in _field_values(prepared).items() if value}
    if prepared.source:
        values["source"] = prepared.source.value
    return values


async def merge_into(
    session: AsyncSession, scope: Scope, row: ContactRow, prepared: Prepared, *, matched_on: str | None
) -> tuple[list[str], dict[str, str]]:
    """Merge new details into an existing contact; returns (fields filled, differing values kept aside)."""
    old_keys = _keys_of(row)
    old_tags = list(row.tags)
    before = _snapshot(row)
    filled: list[str] = []
    kept: dict[str, str] = {}
    for name in SINGLE_FIELDS:
        new_value = getattr(prepared, name)
        if not new_value:
            continue
        current = getattr(row, name)
        if not current:
            setattr(row, name, new_value)
            filled.append(name)
        elif normalize.fold(current) != normalize.fold(new_value):
            kept[name] = new_value
    if prepared.referred_by and not row.referred_by_id and prepared.referred_by != row.id:
        row.referred_by_id = prepared.referred_by
        filled.append("referred_by")
    if prepared.consent and not row.consent:
        row.consent = prepared.consent
        filled.append("consent")
    if prepared.custom:
        current_custom = dict(row.custom or {})
        for key, value in prepared.custom.items():
            if key not in current_custom:
                current_custom[key] = value
                filled.append(f"custom.{key}")
            elif current_custom[key] != value:
                kept[f"custom.{key}"] = str(value)
        if current_custom != (row.custom or {}):
            row.custom = current_custom
    if scope.user_id and not row.owner_id:
        row.owner_id = scope.user_id
        filled.append("owner")

    # Values that identify a different contact are not moved over: that would be a second merge.
    candidate_keys = {("email", e) for e in prepared.emails} | {("phone", p) for p in prepared.phones}
    owners = await _owners_of(session, candidate_keys)
    for list_name, kind in (("emails", "email"), ("phones", "phone")):
        current_list = list(getattr(row, list_name))
        for value in getattr(prepared, list_name):
            owner = owners.get((kind, value))
            if value in current_list:
                continue
            if owner and owner != row.id:
                kept[f"{list_name}:{value}"] = f"belongs to contact {owner}"
                continue
            current_list.append(value)
            if list_name not in filled:
                filled.append(list_name)
        setattr(row, list_name, current_list[:MAX_LIST_ITEMS])
    merged_tags = _unique([*row.tags, *prepared.tags])[:MAX_LIST_ITEMS]
    if merged_tags != list(row.tags):
        row.tags = merged_tags
        filled.append("tags")
    # Notes already there (the same import run twice, say) are not a change.
    if prepared.notes and not (row.notes and prepared.notes in row.notes):
        row.notes = f"{row.notes}\n\n{prepared.notes}"[:MAX_NOTES] if row.notes else prepared.notes
        filled.append("notes")

    if filled:
        # The name key may now clash with another contact (same name, newly filled company): keep it out.
        new_name_key = normalize.name_key(row.full_name, row.company)
        if new_name_key and ("name", new_name_key) not in old_keys:
            owner = (await _owners_of(session, {("name", new_name_key)})).get(("name", new_name_key))
            if owner and owner != row.id:
                for name in ("full_name", "company"):
                    if name in filled:
                        kept[name] = getattr(row, name)
                        setattr(row, name, None)
                        filled.remove(name)
        if row.full_name and not (row.given_name or row.family_name):
            row.given_name, row.family_name = normalize.split_name(row.full_name)
        row.updated_at = scope.now()
        _refresh_search_text(row)
        await _sync_keys(session, scope, row, old_keys)
        await _sync_tags(session, scope, row, old_tags)
    # Every merge is kept in the history, even one that changed nothing, with exactly what it added
    # (so undo_merge can revert it) and the details that came in (so a wrong merge can be split off).
    record_change(
        session,
        scope,
        row.id,
        "merged",
        {
            "matched_on": matched_on,
            "filled": filled,
            "kept": kept,
            "source": (prepared.source or "manual"),
            "added": _merge_effects(before, row),
            "incoming": _incoming(prepared),
        },
    )
    return filled, kept


async def add_contact(
    session: AsyncSession,
    scope: Scope,
    *,
    data: ContactCreate,
    followup_in_days: int | None = None,
    schedule_followup: bool = True,
    cadence: str | None = None,
) -> AddContactResult:
    """Add a lead, or merge it into the contact it duplicates; start its cadence (default unless named)."""
    prepared = prepare(data, scope)
    prepared.custom = dict(data.custom)
    return await add_prepared(
        session,
        scope,
        prepared,
        followup_in_days=followup_in_days,
        schedule_followup=schedule_followup,
        cadence=cadence,
    )


async def add_prepared(
    session: AsyncSession,
    scope: Scope,
    prepared: Prepared,
    *,
    followup_in_days: int | None = None,
    schedule_followup: bool = True,
    cadence: str | None = None,
) -> AddContactResult:
    """add_contact of fields ``prepare`` has already made (with the incoming custom values, unchecked).

    An import prepares each record once while parsing, possibly in another process; the records it
    cannot store in bulk come here. ``prepared`` is changed (its custom values become the checked ones).
    """
    custom_values = await custom_field_service.check_values(session, prepared.custom)
    prepared.custom = {k: v for k, v in custom_values.items() if v is not None}
    await _check_referrer(session, prepared.referred_by)
    cadence_name, cadence_steps = await cadences.resolve(session, cadence)
    days = followup_in_days
    if days is None:
        # A chosen cadence says when its first touch is; the setting covers the default one.
        explicit = cadence is not None and cadence_steps
        days = cadence_steps[0] if explicit else scope.settings.default_followup_days
    row, matched_on = await find_duplicate(session, prepared)
    if row is None:
        new = _new_row(scope, prepared)
        # Someone who withdrew consent gets no new automatic follow-up, even when they turn up again.
        first = None
        if schedule_followup and not consent_withdrawn(new):
            # Scheduled before the insert, so the contact is stored with its next_followup_at.
            first = followup_service.first_followup_row(scope, new, days, cadence=cadence_name)
        if await _store_new(session, scope, new, prepared, first):
            return AddContactResult(
                contact=contact_model(new),
                created=True,
                duplicate_of=None,
                merged_fields=[],
                kept_values={},
                followup=followup_model(first) if first is not None else None,
            )
        # Lost a race for one of the keys: the winner is there now.
        row, matched_on = await find_duplicate(session, prepared)
        if row is None:
            raise Conflict("Another change to this contact is in progress; call add_contact again")
    filled, kept = await merge_into(session, scope, row, prepared, matched_on=matched_on)
    followup = None
    wanted = schedule_followup and not consent_withdrawn(row)
    if wanted and not await followup_service.has_pending(session, row.id):
        followup = await followup_service.create_first_followup(
            session, scope, row, days, cadence=cadence_name
        )
    await scoring.rescore(session, scope, row)
    return AddContactResult(
        contact=contact_model(row),
        created=False,
        duplicate_of=row.id,
        merged_fields=filled,
        kept_values=kept,
        followup=followup,
    )


def consent_withdrawn(row: ContactRow) -> bool:
    """True when the contact withdrew consent (withdraw_consent)."""
    return bool(row.consent and row.consent.get("withdrawn_at"))


async def get_contact(session: AsyncSession, scope: Scope, *, contact_id: str) -> ContactDetail:
    """A contact with its newest touches, its follow-ups and its history."""
    row = await load_contact(session, contact_id, lock=False)
    interactions = (
        (
            await session.execute(
                select(InteractionRow)
                .where(InteractionRow.contact_id == row.id)
                .order_by(InteractionRow.occurred_at.desc(), InteractionRow.id)
                .limit(DETAIL_INTERACTIONS + 1)
            )
        )
        .scalars()
        .all()
    )
    followups = (
        (
            await session.execute(
                select(FollowUpRow)
                .where(FollowUpRow.contact_id == row.id)
                .order_by((FollowUpRow.status != "pending"), FollowUpRow.due_at.desc())
                .limit(DETAIL_FOLLOWUPS + 1)
            )
        )
        .scalars()
        .all()
    )
    history = (
        (
            await session.execute(
                select(ContactChange)
                .where(ContactChange.contact_id == row.id)
                .order_by(ContactChange.at.desc(), ContactChange.id)
                .limit(DETAIL_HISTORY + 1)
            )
        )
        .scalars()
        .all()
    )
    pending = [f for f in followups[:DETAIL_FOLLOWUPS] if f.status == FollowUpStatus.PENDING]
    pending.sort(key=lambda f: f.due_at)
    rest = [f for f in followups[:DETAIL_FOLLOWUPS] if f.status != FollowUpStatus.PENDING]
    detail = ContactDetail(
        contact=contact_model(row),
        interactions=[
            interaction_model(i).model_copy(update={"summary": sizing.clip(i.summary, DETAIL_TEXT)})
            for i in interactions[:DETAIL_INTERACTIONS]
        ],
        interactions_truncated=len(interactions) > DETAIL_INTERACTIONS,
        followups=[
            followup_model(f).model_copy(
                update={
                    "note": sizing.clip(f.note, DETAIL_TEXT),
                    "outcome": sizing.clip(f.outcome, DETAIL_TEXT),
                }
            )
            for f in (*pending, *rest)
        ],
        followups_truncated=len(followups) > DETAIL_FOLLOWUPS,
        history=[
            change_model(h).model_copy(update={"detail": sizing.clip_value(h.detail, DETAIL_HISTORY_TEXT)})
            for h in history[:DETAIL_HISTORY]
        ],
        history_truncated=len(history) > DETAIL_HISTORY,
    )
    return fit_detail(detail)


def fit_detail(detail: ContactDetail, budget: int = sizing.RESULT_BUDGET_CHARS) -> ContactDetail:
    """Drop the oldest history, the oldest touches, then closed and latest pending follow-ups until it fits.

    The contact's own fields are never cut; the first of each list always stays.
    """
    size = sizing.json_size(detail)
    for name, flag in (
        ("history", "history_truncated"),
        ("interactions", "interactions_truncated"),
        ("followups", "followups_truncated"),  # closed ones sit last, then the latest pending ones
    ):
        entries = getattr(detail, name)
        while size > budget and len(entries) > 1:
            size -= sizing.json_size(entries.pop()) + 1
            setattr(detail, flag, True)
    return detail


async def update_contact(
    session: AsyncSession, scope: Scope, *, contact_id: str, changes: ContactUpdate
) -> ContactDetail:
    """Change the given fields; list fields are replaced; an empty string clears a field."""
    row = await load_contact(session, contact_id)
    given = changes.model_dump(exclude_unset=True, exclude_none=True)
    if not given:
        raise InvalidInput("fields", "nothing to change", "Give at least one field to update, e.g. title")
    region = scope.settings.default_region
    old_keys = _keys_of(row)
    old_tags = list(row.tags)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def put(name: str, attr: str, value: Any) -> None:
        current = getattr(row, attr)
        if current != value:
            before[name] = current
            after[name] = value
            setattr(row, attr, value)

    for name in (*SINGLE_FIELDS, "notes"):
        if name not in given:
            continue
        raw = given[name]
        value = normalize.clean_text(raw)
        if name == "website" and value:
            value = normalize.normalize_website(value)
        if name == "notes" and value and len(value) > MAX_NOTES:
            raise InvalidInput("notes", f"is {len(value)} characters; at most {MAX_NOTES}", "Shorten it")
        put(name, name, value)
    if "emails" in given:
        _check_list("emails", given["emails"])
        put(
            "emails",
            "emails",
            _unique([normalize.normalize_email(e, "emails") for e in given["emails"] if e.strip()]),
        )
    if "phones" in given:
        _check_list("phones", given["phones"])
        put(
            "phones",
            "phones",
            _unique([normalize.normalize_phone(p, region, "phones") for p in given["phones"] if p.strip()]),
        )
    if "tags" in given:
        _check_list("tags", given["tags"])
        put("tags", "tags", _unique([normalize.normalize_tag(t) for t in given["tags"] if t.strip()]))
    if "source" in given:
        put("source", "source", Source(given["source"]).value)
    # A stage change goes through stages.change_stage (history, cadence, referrer), after the rest.
    new_stage = Stage(given["stage"]) if "stage" in given else None
    if "owner" in given:
        wanted = normalize.clean_text(given["owner"])
        put("owner", "owner_id", await resolve_owner(session, scope, wanted) if wanted else None)
    if "referred_by" in given:
        referrer = normalize.clean_text(given["referred_by"])
        if referrer:
            if referrer == row.id:
                raise InvalidInput("referred_by", "a contact cannot refer itself", "Give the referrer's id")
            await load_contact(session, referrer, field="referred_by", lock=False)
        put("referred_by", "referred_by_id", referrer)
    if changes.custom is not None:
        values = await custom_field_service.check_values(session, changes.custom)
        current = dict(row.custom or {})
        for key, custom_value in values.items():
            old_value = current.get(key)
            if custom_value is None:
                current.pop(key, None)
            else:
                current[key] = custom_value
            if old_value != current.get(key):
                before[f"custom.{key}"] = old_value
                after[f"custom.{key}"] = current.get(key)
        if current != (row.custom or {}):
            row.custom = current or None
    name_changed = "full_name" in after and not {"given_name", "family_name"} & set(given)
    if name_changed and row.full_name:
        row.given_name, row.family_name = normalize.split_name(row.full_name)
    if not (row.full_name or row.emails or row.phones):
        raise InvalidInput(
            "full_name", "a contact needs at least a name, an email or a phone", "Keep one of them"
        )
    if not after:
        if new_stage is not None and new_stage.value != row.stage:
            await stages.change_stage(session, scope, row, new_stage, via="update_contact")
            await scoring.rescore(session, scope, row)
        return await get_contact(session, scope, contact_id=row.id)

    new_keys = _keys_of(row) - old_keys
    owners = await _owners_of(session, new_keys)
    for (kind, value), owner in owners.items():
        if owner != row.id:
            field_name = {"email": "emails", "phone": "phones", "name": "full_name"}[kind]
            shown = value if kind != "name" else f"{row.full_name} at {row.company}"
            raise Conflict(
                f"{field_name}: {shown} already belongs to contact {owner}; "
                "they look like the same person: add_contact with these details merges them, "
                "or call get_contact on both to compare"
            )
    row.updated_at = scope.now()
    _refresh_search_text(row)
    await _sync_keys(session, scope, row, old_keys)
    await _sync_tags(session, scope, row, old_tags)
    record_change(
        session,
        scope,
        row.id,
        "updated",
        {"fields": {k: {"old": _jsonable(before[k]), "new": _jsonable(after[k])} for k in after}},
    )
    await session.flush()
    if new_stage is not None:
        await stages.change_stage(session, scope, row, new_stage, via="update_contact")
    await scoring.rescore(session, scope, row)
    return await get_contact(session, scope, contact_id=row.id)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


async def delete_contact(session: AsyncSession, scope: Scope, *, contact_id: str) -> DeleteResult:
    """Delete a contact: it disappears from every list and search; its pending follow-ups are cancelled."""
    row = await load_contact(session, contact_id)
    now = scope.now()
    old_keys = _keys_of(row)
    row.deleted_at = now
    row.updated_at = now
    row.next_followup_at = None
    # Free its keys so the same email can be added again as a new contact.
    for kind, value in old_keys:
        await session.execute(
            delete(ContactKey).where(
                ContactKey.kind == kind, ContactKey.value == value, ContactKey.contact_id == row.id
            )
        )
    for kind, value in old_keys:
        if kind == "name":
            await hand_over_name_key(session, scope, row, value)
    await followup_service.cancel_pending(session, scope, row.id, reason="contact deleted")
    record_change(session, scope, row.id, "deleted", {"full_name": row.full_name, "emails": list(row.emails)})
    await session.flush()
    return DeleteResult(deleted=True, contact_id=row.id, full_name=row.full_name)


async def search_contacts(
    session: AsyncSession,
    scope: Scope,
    *,
    query: str | None = None,
    stage: Stage | None = None,
    tag: str | None = None,
    source: Source | None = None,
    owner: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> ContactPage:
    """Contacts matching plain-text words (names, emails, domains, phones) and filters, newest first."""
    after = decode_cursor(scope, "contacts", cursor)
    owner_id = await resolve_owner(session, scope, owner) if owner is not None else None
    phrases = normalize.query_phrases(query or "", scope.settings.default_region)
    if query and query.strip() and not phrases:
        return ContactPage(items=[], next_cursor=None)

    # The summary's columns, not whole rows: no ORM instances, no notes or search text read.
    stmt = select(*SUMMARY_COLUMNS).where(ContactRow.deleted_at.is_(None))
    order_key: Any = ContactRow.pk
    if phrases:
        if dialect_name(session) == "sqlite":
            stmt = stmt.join(sqlite_fts, sqlite_fts.c.rowid == ContactRow.pk).where(
                literal_column("contacts_fts").op("MATCH")(fts5_query(phrases))
            )
            order_key = sqlite_fts.c.rowid
        else:
            stmt = stmt.where(pg_match(phrases))
    elif tag:
        order_key = ContactTag.contact_pk
    if tag:
        folded_tag = normalize.normalize_tag(tag, "tag")
        stmt = stmt.join(
            ContactTag, and_(ContactTag.contact_pk == ContactRow.pk, ContactTag.tag == folded_tag)
        )
    if stage:
        stmt = stmt.where(ContactRow.stage == Stage(stage).value)
    if source:
        stmt = stmt.where(ContactRow.source == Source(source).value)
    if owner is not None:
        stmt = stmt.where(
            ContactRow.owner_id.is_(None) if owner_id is None else ContactRow.owner_id == owner_id
        )
    if after is not None:
        last = cursor_int(after.get("pk"))
        cond: ColumnElement[bool] = order_key < last
        stmt = stmt.where(cond)
    rows = (await session.execute(stmt.order_by(order_key.desc()).limit(limit + 1))).all()
    page = rows[:limit]
    items = [contact_summary(r) for r in page]  # type: ignore[arg-type]  # the summary's columns, by name
    fits = sizing.fitting(items)  # a page stops early rather than overflow a model's context
    more = len(rows) > limit or fits < len(items)
    page, items = page[:fits], items[:fits]
    next_cursor = encode_cursor(scope, "contacts", {"pk": page[-1].pk}) if more and page else None
    return ContactPage(items=items, next_cursor=next_cursor)


async def resolve_owner(
    session: AsyncSession, scope: Scope, owner: str, *, field: str = "owner"
) -> str | None:
    """A seat of the caller's workspace from 'me', a user id or an email; None is the local user (no seat)."""
    value = owner.strip()
    if value.lower() == "me":
        return scope.user_id
    if not value:
        raise InvalidInput(field, "is empty", "Pass 'me', a user id, or a teammate's email")
    wanted = normalize.normalize_email(value, field) if "@" in value else value
    # The session guard keeps this to the caller's workspace: another workspace's seat is "not found".
    found = (
        await session.execute(
            select(User.id).where(User.email == wanted if "@" in value else User.id == wanted)
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(
            f"{field}: no user {owner!r} in this workspace; pass 'me', a teammate's email or user id "
            "(whoami shows yours)"
        )
    return found
