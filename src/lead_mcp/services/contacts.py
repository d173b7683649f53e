"""Contacts: add (with de-duplication and merge), read, update, delete, search.

A contact matching an existing one (same email, same E.164 phone, or a
near-identical name at the same company) is never duplicated: list fields are
unioned, empty fields filled, filled ones kept (the differing value goes to
the contact's history), notes appended. Keys live in ``contact_keys`` under a
unique primary key, so even two concurrent adds of one email end in one
contact: the loser's insert fails inside a savepoint and it merges instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db import queries
from lead_mcp.db.search import fts5_query, tsquery
from lead_mcp.db.tables import (
    ContactChange,
    ContactKey,
    ContactRow,
    ContactTag,
    FollowUpRow,
    InteractionRow,
    new_id,
)
from lead_mcp.domain import (
    AddContactResult,
    ContactCreate,
    ContactDetail,
    ContactPage,
    ContactUpdate,
    DeleteResult,
    FollowUp,
    FollowUpStatus,
    Source,
    Stage,
)
from lead_mcp.errors import Conflict, InvalidInput
from lead_mcp.services import followups as followup_service
from lead_mcp.services import normalize
from lead_mcp.services.records import (
    change_model,
    change_values,
    contact_from_values,
    contact_model,
    contact_query,
    decode_cursor,
    dialect_name,
    encode_cursor,
    followup_model,
    interaction_model,
    load_contact,
    record_change,
    summary_of,
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
DETAIL_INTERACTIONS = 50


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

    @cached_property  # read by the duplicate check and the insert: fold once
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
    if not out.full_name and (out.given_name or out.family_name):
        out.full_name = " ".join(p for p in (out.given_name, out.family_name) if p)
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


def _refresh_search_text(row: ContactRow) -> None:
    text = normalize.search_text(
        full_name=row.full_name,
        given_name=row.given_name,
        family_name=row.family_name,
        company=row.company,
        title=row.title,
        emails=row.emails,
        phones=row.phones,
        website=row.website,
        notes=row.notes,
        tags=row.tags,
        met_at=row.met_at,
        address=row.address,
    )
    if text != row.search_text:
        row.search_text = text


async def _owners_of(session: AsyncSession, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Which contact holds each key now."""
    if not keys:
        return {}
    conn = await session.connection()
    params = {
        "ws": session.info["workspace_id"],
        "kinds": sorted({kind for kind, _ in keys}),
        "values": sorted({value for _, value in keys}),
    }
    rows = (await conn.execute(queries.KEY_OWNERS, params)).all()
    return {(kind, value): contact_id for kind, value, contact_id in rows if (kind, value) in keys}


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


async def _insert(
    session: AsyncSession, scope: Scope, prepared: Prepared, *, followup_days: int | None
) -> AddContactResult | None:
    """Insert a new contact with its keys, tags, history and first follow-up; None when another
    writer took one of its keys first.

    The hot path of the product, so it is written as a handful of Core INSERTs (one per table,
    multi-row where there are several) rather than ORM unit-of-work flushes, which cost about
    as much again as everything else in an add_contact call. On PostgreSQL the contact and
    its keys go in a savepoint: a concurrent add of the same email makes the key insert fail,
    and the caller merges into the winner instead. SQLite write transactions are serialized
    (BEGIN IMMEDIATE), so the duplicate check cannot race there.
    """
    now = scope.now()
    contact_id = new_id()
    source = (prepared.source or Source.MANUAL).value
    due = None if followup_days is None else followup_service.first_due(scope, followup_days)
    values: dict[str, Any] = {
        "id": contact_id,
        "workspace_id": scope.workspace_id,
        "owner_id": scope.user_id,
        "full_name": prepared.full_name,
        "given_name": prepared.given_name,
        "family_name": prepared.family_name,
        "company": prepared.company,
        "title": prepared.title,
        "emails": prepared.emails,
        "phones": prepared.phones,
        "website": prepared.website,
        "address": prepared.address,
        "notes": prepared.notes,
        "tags": prepared.tags,
        "source": source,
        "referred_by_id": prepared.referred_by,
        "met_at": prepared.met_at,
        "stage": Stage.LEAD.value,
        "budget": None,
        "authority": None,
        "need": None,
        "timeline": None,
        "score": 0,
        "consent": prepared.consent,
        "created_at": now,
        "updated_at": now,
        "first_response_at": None,
        "last_touch_at": None,
        "next_followup_at": due,
        "deleted_at": None,
    }
    values["search_text"] = _search_text_of(values)
    keys = [("email", e) for e in prepared.emails] + [("phone", p) for p in prepared.phones]
    if prepared.name_key:
        keys.append(("name", prepared.name_key))

    conn = await session.connection()

    async def insert_with_keys() -> int:
        # Prebuilt statements with parameters (not .values(...)): compiled once, cheap to run.
        inserted = await conn.execute(queries.INSERT_CONTACT, values)
        assert inserted.inserted_primary_key is not None  # an INSERT of one row always has one
        pk = int(inserted.inserted_primary_key[0])
        if keys:  # the contact first: its keys refer to it
            await conn.execute(
                queries.INSERT_KEY,
                [
                    {"workspace_id": scope.workspace_id, "kind": k, "value": v, "contact_id": contact_id}
                    for k, v in keys
                ],
            )
        return pk

    if dialect_name(session) == "sqlite":
        pk = await insert_with_keys()
    else:
        try:
            async with conn.begin_nested():  # SAVEPOINT now, on the connection the inserts use
                pk = await insert_with_keys()
        except IntegrityError:
            return None
    if prepared.tags:
        await conn.execute(
            queries.INSERT_TAG,
            [{"workspace_id": scope.workspace_id, "tag": t, "contact_pk": pk} for t in prepared.tags],
        )
    change = change_values(
        scope,
        contact_id,
        "created",
        {"source": source, "fields": sorted(k for k, v in _field_values(prepared).items() if v)},
    )
    await conn.execute(queries.INSERT_CHANGE, change)
    followup = None
    if due is not None:
        followup_row = followup_service.first_followup_values(
            scope, contact_id=contact_id, due=due, source=source, met_at=prepared.met_at
        )
        await conn.execute(queries.INSERT_FOLLOWUP, followup_row)
        followup = FollowUp.model_validate(followup_row)
    return AddContactResult(
        contact=contact_from_values(values), created=True, duplicate_of=None, followup=followup
    )


def _search_text_of(values: dict[str, Any]) -> str:
    return normalize.search_text(
        full_name=values["full_name"],
        given_name=values["given_name"],
        family_name=values["family_name"],
        company=values["company"],
        title=values["title"],
        emails=values["emails"],
        phones=values["phones"],
        website=values["website"],
        notes=values["notes"],
        tags=values["tags"],
        met_at=values["met_at"],
        address=values["address"],
    )


def _field_values(prepared: Prepared) -> dict[str, Any]:
    return {name: getattr(prepared, name) for name in (*SINGLE_FIELDS, *LIST_FIELDS, "notes", "referred_by")}


async def merge_into(
    session: AsyncSession, scope: Scope, row: ContactRow, prepared: Prepared, *, matched_on: str | None
) -> tuple[list[str], dict[str, str]]:
    """Merge new details into an existing contact; returns (fields filled, differing values kept aside)."""
    old_keys = _keys_of(row)
    old_tags = list(row.tags)
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
    if prepared.notes:
        if not row.notes:
            row.notes = prepared.notes
        elif prepared.notes not in row.notes:
            row.notes = f"{row.notes}\n\n{prepared.notes}"[:MAX_NOTES]
        filled.append("notes")

    if not filled:
        return filled, kept
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
    record_change(
        session,
        scope,
        row.id,
        "merged",
        {"matched_on": matched_on, "filled": filled, "kept": kept, "source": (prepared.source or "manual")},
    )
    return filled, kept


async def add_contact(
    session: AsyncSession,
    scope: Scope,
    *,
    data: ContactCreate,
    followup_in_days: int | None = None,
    schedule_followup: bool = True,
) -> AddContactResult:
    """Add a lead, or merge it into the contact it duplicates; schedule its first follow-up."""
    prepared = prepare(data, scope)
    days = scope.settings.default_followup_days if followup_in_days is None else followup_in_days
    if schedule_followup:
        followup_service.first_due(scope, days)  # a bad day count is refused before anything is read
    await _check_referrer(session, prepared.referred_by)
    row, matched_on = await find_duplicate(session, prepared)
    if row is None:
        added = await _insert(session, scope, prepared, followup_days=days if schedule_followup else None)
        if added is not None:
            return added
        # Lost a race for one of the keys: the winner is there now.
        row, matched_on = await find_duplicate(session, prepared)
        if row is None:
            raise Conflict("Another change to this contact is in progress; call add_contact again")
    filled, kept = await merge_into(session, scope, row, prepared, matched_on=matched_on)
    followup = None
    if schedule_followup and not await followup_service.has_pending(session, row.id):
        followup = await followup_service.create_first_followup(session, scope, row, days)
    return AddContactResult(
        contact=contact_model(row),
        created=False,
        duplicate_of=row.id,
        merged_fields=filled,
        kept_values=kept,
        followup=followup,
    )


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
                .limit(50)
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
                .limit(50)
            )
        )
        .scalars()
        .all()
    )
    pending = [f for f in followups if f.status == FollowUpStatus.PENDING]
    pending.sort(key=lambda f: f.due_at)
    rest = [f for f in followups if f.status != FollowUpStatus.PENDING]
    return ContactDetail(
        contact=contact_model(row),
        interactions=[interaction_model(i) for i in interactions[:DETAIL_INTERACTIONS]],
        interactions_truncated=len(interactions) > DETAIL_INTERACTIONS,
        followups=[followup_model(f) for f in (*pending, *rest)],
        history=[change_model(h) for h in history],
    )


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
    if "stage" in given:
        put("stage", "stage", Stage(given["stage"]).value)
    if "referred_by" in given:
        referrer = normalize.clean_text(given["referred_by"])
        if referrer:
            if referrer == row.id:
                raise InvalidInput("referred_by", "a contact cannot refer itself", "Give the referrer's id")
            await load_contact(session, referrer, field="referred_by", lock=False)
        put("referred_by", "referred_by_id", referrer)
    name_changed = "full_name" in after and not {"given_name", "family_name"} & set(given)
    if name_changed and row.full_name:
        row.given_name, row.family_name = normalize.split_name(row.full_name)
    if not (row.full_name or row.emails or row.phones):
        raise InvalidInput(
            "full_name", "a contact needs at least a name, an email or a phone", "Keep one of them"
        )
    if not after:
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
    limit: int = 20,
    cursor: str | None = None,
) -> ContactPage:
    """Contacts matching plain-text words (names, emails, domains, phones) and filters, newest first."""
    after = decode_cursor("contacts", cursor)
    phrases = normalize.query_phrases(query or "", scope.settings.default_region)
    if query and query.strip() and not phrases:
        return ContactPage(items=[], next_cursor=None)

    dialect = dialect_name(session)
    params: dict[str, Any] = {"ws": scope.workspace_id, "limit": limit + 1}
    if phrases:
        params["match"] = fts5_query(phrases) if dialect == "sqlite" else tsquery(phrases)
    if tag:
        params["tag"] = normalize.normalize_tag(tag, "tag")
    if stage:
        params["stage"] = Stage(stage).value
    if source:
        params["source"] = Source(source).value
    if after is not None:
        last = after.get("pk")
        if not isinstance(last, int):
            raise InvalidInput("cursor", "is damaged", "Pass next_cursor exactly as returned")
        params["after"] = last
    stmt = queries.search_statement(
        dialect,
        text=bool(phrases),
        tag=bool(tag),
        stage=bool(stage),
        source=bool(source),
        after=after is not None,
    )
    rows = (await (await session.connection()).execute(stmt, params)).all()
    page = rows[:limit]
    next_cursor = encode_cursor("contacts", {"pk": page[-1].pk}) if len(rows) > limit and page else None
    return ContactPage(items=[summary_of(r) for r in page], next_cursor=next_cursor)
