"""Bulk changes: tags, stage or owner for many contacts at once, in one transaction.

The selection is the same as search_contacts (plain-text query, stage, tag,
source) or a list of ids, or both (then both must hold). A dry run (the
default) only counts: how many contacts the selection covers and how many the
change would alter, with a sample to check it by. Applying writes every
contact's change to its history, like any other edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from lead_mcp.db.search import fts5_query, pg_match, sqlite_fts
from lead_mcp.db.tables import ContactRow, ContactTag, User
from lead_mcp.domain import BulkChange, BulkUpdateResult, Source, Stage
from lead_mcp.errors import InvalidInput
from lead_mcp.services import normalize, roles, stages
from lead_mcp.services.contacts import MAX_LIST_ITEMS, _refresh_search_text
from lead_mcp.services.records import contact_summary, dialect_name, record_change
from lead_mcp.services.scope import Scope

MAX_BULK = 10_000
MAX_IDS = 1_000
SAMPLE = 10


def _selection(
    session: AsyncSession,
    scope: Scope,
    *,
    contact_ids: Sequence[str] | None,
    query: str | None,
    stage: Stage | None,
    tag: str | None,
    source: Source | None,
) -> Select[ContactRow] | None:
    """The live contacts the selection covers; None when a query has no searchable words."""
    stmt = select(ContactRow).where(ContactRow.deleted_at.is_(None))
    if contact_ids:
        stmt = stmt.where(ContactRow.id.in_([c.strip() for c in contact_ids]))
    phrases = normalize.query_phrases(query or "", scope.settings.default_region)
    if query and query.strip() and not phrases:
        return None
    if phrases:
        if dialect_name(session) == "sqlite":
            stmt = stmt.join(sqlite_fts, sqlite_fts.c.rowid == ContactRow.pk).where(
                literal_column("contacts_fts").op("MATCH")(fts5_query(phrases))
            )
        else:
            stmt = stmt.where(pg_match(phrases))
    if tag:
        folded = normalize.normalize_tag(tag, "tag")
        stmt = stmt.join(ContactTag, and_(ContactTag.contact_pk == ContactRow.pk, ContactTag.tag == folded))
    if stage:
        stmt = stmt.where(ContactRow.stage == Stage(stage).value)
    if source:
        stmt = stmt.where(ContactRow.source == Source(source).value)
    return stmt


def _check_tags(values: Sequence[str] | None, field: str) -> list[str]:
    tags = list(dict.fromkeys(normalize.normalize_tag(t, field) for t in values or [] if t and t.strip()))
    if len(tags) > MAX_LIST_ITEMS:
        raise InvalidInput(field, f"has {len(tags)} tags; at most {MAX_LIST_ITEMS}", "Give fewer")
    return tags


async def _owner(session: AsyncSession, owner: str | None) -> str | None:
    """The user id an owner argument names (id or email); '' means no owner."""
    if owner is None or not owner.strip():
        return ""
    text = owner.strip()
    found = (
        await session.execute(
            select(User.id).where(or_(User.id == text, func.lower(User.email) == text.lower()))
        )
    ).scalar_one_or_none()
    if found is None:
        raise InvalidInput(
            "set_owner",
            f"no user {text!r} in this workspace",
            "Give the user's email or id, or '' to clear the owner",
        )
    return str(found)


def _changes_for(row: ContactRow, change: BulkChange, owner_id: str | None) -> dict[str, dict[str, Any]]:
    """What the change would alter on one contact: field -> {old, new}."""
    out: dict[str, dict[str, Any]] = {}
    if change.add_tags or change.remove_tags:
        tags = [t for t in row.tags if t not in set(change.remove_tags)]
        tags += [t for t in change.add_tags if t not in tags]
        tags = tags[:MAX_LIST_ITEMS]
        if tags != list(row.tags):
            out["tags"] = {"old": list(row.tags), "new": tags}
    if change.stage is not None and row.stage != change.stage.value:
        out["stage"] = {"old": row.stage, "new": change.stage.value}
    if owner_id is not None and (row.owner_id or "") != owner_id:
        out["owner_id"] = {"old": row.owner_id, "new": owner_id or None}
    return out


async def bulk_update(
    session: AsyncSession,
    scope: Scope,
    *,
    contact_ids: Sequence[str] | None = None,
    query: str | None = None,
    stage: Stage | None = None,
    tag: str | None = None,
    source: Source | None = None,
    add_tags: Sequence[str] | None = None,
    remove_tags: Sequence[str] | None = None,
    set_stage: Stage | None = None,
    set_owner: str | None = None,
    dry_run: bool = True,
) -> BulkUpdateResult:
    """Add or remove tags, set the stage or the owner of every selected contact; a dry run only counts."""
    if set_owner is not None:
        await roles.require_owner(session, scope, "hand many contacts to someone at once (set_owner)")
    if contact_ids is not None and len(contact_ids) > MAX_IDS:
        raise InvalidInput(
            "contact_ids", f"has {len(contact_ids)} ids; at most {MAX_IDS}", "Select by query or tag"
        )
    if not (contact_ids or (query and query.strip()) or stage or tag or source):
        raise InvalidInput(
            "contact_ids",
            "no contacts selected",
            "Give contact_ids, or a query, stage, tag or source that selects the contacts to change",
        )
    change = BulkChange(
        add_tags=_check_tags(add_tags, "add_tags"),
        remove_tags=_check_tags(remove_tags, "remove_tags"),
        stage=Stage(set_stage) if set_stage else None,
    )
    if set(change.add_tags) & set(change.remove_tags):
        raise InvalidInput("remove_tags", "names a tag add_tags also names", "Give each tag in one of them")
    owner_id = await _owner(session, set_owner) if set_owner is not None else None
    change.owner_id = owner_id
    if not (change.add_tags or change.remove_tags or change.stage or owner_id is not None):
        raise InvalidInput(
            "add_tags",
            "no change given",
            "Give add_tags, remove_tags, set_stage or set_owner to apply to the contacts",
        )

    stmt = _selection(
        session, scope, contact_ids=contact_ids, query=query, stage=stage, tag=tag, source=source
    )
    rows: list[ContactRow] = []
    if stmt is not None:
        matched = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        if matched > MAX_BULK:
            raise InvalidInput(
                "query",
                f"selects {matched} contacts; one bulk_update changes at most {MAX_BULK}",
                "Narrow the selection (add a stage, tag or source) and run it in parts",
            )
        rows = list((await session.execute(stmt.order_by(ContactRow.pk))).scalars().all())
    planned = [(row, _changes_for(row, change, owner_id)) for row in rows]
    altered = [(row, fields) for row, fields in planned if fields]
    sample = [contact_summary(r) for r in rows[:SAMPLE]]
    if dry_run:
        return BulkUpdateResult(
            dry_run=True,
            matched=len(rows),
            changed=0,
            would_change=len(altered),
            change=change,
            sample=sample,
            note=f"Dry run: nothing changed. {len(altered)} of {len(rows)} selected contacts would change; "
            "call bulk_update again with the same selection and dry_run=false to apply it.",
        )

    now = scope.now()
    tag_pks_removed: list[int] = []
    new_tags: list[ContactTag] = []
    moved: list[tuple[ContactRow, str]] = []
    for row, fields in altered:
        if "tags" in fields:
            old, new = set(fields["tags"]["old"]), list(fields["tags"]["new"])
            if old - set(new):
                tag_pks_removed.append(row.pk)
            new_tags += [
                ContactTag(workspace_id=scope.workspace_id, tag=t, contact_pk=row.pk)
                for t in new
                if t not in old
            ]
            row.tags = new
        if "stage" in fields:
            moved.append((row, row.stage))
            row.stage = fields["stage"]["new"]
        if "owner_id" in fields:
            row.owner_id = fields["owner_id"]["new"]
        row.updated_at = now
        _refresh_search_text(row)
        record_change(session, scope, row.id, "bulk_updated", {"fields": fields})
    if tag_pks_removed and change.remove_tags:
        for start in range(0, len(tag_pks_removed), 500):
            chunk: ColumnElement[bool] = ContactTag.contact_pk.in_(tag_pks_removed[start : start + 500])
            await session.execute(
                delete(ContactTag)
                .where(chunk, ContactTag.tag.in_(change.remove_tags))
                .execution_options(synchronize_session=False)
            )
    session.add_all(new_tags)
    await session.flush()
    # Stage moves have the same consequences as one at a time: cadences stop, referrers thanked, scores.
    await stages.after_bulk_stage_change(session, scope, moved, via="bulk_update")
    return BulkUpdateResult(
        dry_run=False,
        matched=len(rows),
        changed=len(altered),
        would_change=len(altered),
        change=change,
        sample=[contact_summary(r) for r in rows[:SAMPLE]],
        note=f"Changed {len(altered)} of {len(rows)} selected contacts; each change is in its contact's "
        "history.",
    )
