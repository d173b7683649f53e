"""Safety and privacy: soft delete and restore, erasure, consent withdrawal, undoing a wrong merge.

A deleted contact disappears from every tool at once (reads filter on
``deleted_at``), its keys are freed and its pending follow-ups cancelled; for
``deleted_retention_days`` (30 by default) restore_contact brings it back with
its follow-ups, after that it is purged. Erasure removes the contact and its
whole history for good (interactions, follow-ups, keys, tags and history go by
``ON DELETE CASCADE``). Contacts an erased or purged contact referred are
unlinked through the session first (``referred_by`` cleared, the change kept
in their history): the database's own ``ON DELETE SET NULL`` would do it out
of the session's sight and leave the referrer in pipeline_report's running
counters. Every merge records exactly what it added, so
undo_merge can revert it and split the merged-in details off as their own
contact.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.tables import ContactChange, ContactRow, FollowUpRow
from lead_mcp.domain import (
    ConsentResult,
    ContactCreate,
    DeleteResult,
    FollowUpStatus,
    KeyClash,
    RestoreResult,
    UndoMergeResult,
)
from lead_mcp.errors import Conflict, InvalidInput, NotFound
from lead_mcp.services import contacts as contact_service
from lead_mcp.services import followups as followup_service
from lead_mcp.services import normalize, roles
from lead_mcp.services.contacts import (
    LIST_FIELDS,
    SINGLE_FIELDS,
    Prepared,
    _insert,
    _keys_of,
    _owners_of,
    _refresh_search_text,
    _sync_keys,
    _sync_tags,
)
from lead_mcp.services.records import contact_model, load_contact, record_change
from lead_mcp.services.scope import Scope

DELETED_REASON = "contact deleted"  # the outcome followups.cancel_pending stamps on a delete
CONSENT_REASON = "consent withdrawn"
KEY_FIELDS = {"email": "emails", "phone": "phones", "name": "full_name"}


def _retention(scope: Scope) -> timedelta:
    return timedelta(days=scope.settings.deleted_retention_days)


async def _any_contact(session: AsyncSession, contact_id: str) -> ContactRow:
    """A contact by id, deleted or not."""
    row = None
    if isinstance(contact_id, str) and 0 < len(contact_id) <= 64:
        row = (
            await session.execute(select(ContactRow).where(ContactRow.id == contact_id.strip()))
        ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            f"contact_id: no contact {contact_id!r} in this workspace; call search_contacts to find the "
            "right id"
        )
    return row


def confirmation_question(row: ContactRow, *, erase: bool, retention_days: int) -> str:
    """What the user is asked before a delete (stable across retries, so a recorded answer still matches)."""
    facts = ", ".join(p for p in (row.company, row.emails[0] if row.emails else None) if p)
    who = (
        row.full_name
        or (row.emails[0] if row.emails else None)
        or (row.phones[0] if row.phones else "this contact")
    )
    who = f"{who} ({facts})" if facts and row.full_name else who
    if erase:
        return (
            f"Erase {who} for good? Their touches, follow-ups and history are removed too; "
            "this cannot be undone."
        )
    return (
        f"Delete {who}? Their pending follow-ups are cancelled; you can restore it for {retention_days} days."
    )


async def describe_for_confirmation(
    session: AsyncSession, scope: Scope, *, contact_id: str, erase: bool
) -> str:
    """The question to ask before deleting (raises NotFound first, so nobody is asked about a wrong id)."""
    if erase:
        await roles.require_owner(
            session, scope, "erase a contact for good (delete without erase is restorable)"
        )
    row = await _any_contact(session, contact_id) if erase else await load_contact(session, contact_id)
    return confirmation_question(row, erase=erase, retention_days=scope.settings.deleted_retention_days)


async def _unlink_referred(session: AsyncSession, scope: Scope, referrers: Any, reason: str) -> None:
    """Clear ``referred_by`` of the contacts the given referrers (ids, or a select of ids) brought in.

    An UPDATE through the session, so the pipeline counters (db/aggregates) see the referrer go.
    """
    referred = (
        await session.execute(
            select(ContactRow.id, ContactRow.referred_by_id).where(ContactRow.referred_by_id.in_(referrers))
        )
    ).all()
    if not referred:
        return
    await session.execute(
        update(ContactRow)
        .where(ContactRow.id.in_([contact_id for contact_id, _ in referred]))
        .values(referred_by_id=None, updated_at=scope.now())
        .execution_options(synchronize_session="fetch")
    )
    for contact_id, _referrer in referred:
        record_change(session, scope, contact_id, "referrer_removed", {"reason": reason})


async def purge_expired(session: AsyncSession, scope: Scope) -> int:
    """Remove for good the contacts deleted longer ago than the restore window."""
    cutoff = scope.now() - _retention(scope)
    expired = select(ContactRow.id).where(ContactRow.deleted_at.is_not(None), ContactRow.deleted_at < cutoff)
    await _unlink_referred(session, scope, expired, "the referrer was deleted and purged")
    result = await session.execute(
        delete(ContactRow)
        .where(ContactRow.deleted_at.is_not(None), ContactRow.deleted_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def erase_contact(session: AsyncSession, scope: Scope, *, contact_id: str) -> DeleteResult:
    """Remove a contact (deleted or not) and its whole history for good: data-protection erasure."""
    await roles.require_owner(session, scope, "erase a contact for good (delete without erase is restorable)")
    row = await _any_contact(session, contact_id)
    shown = DeleteResult(
        deleted=True,
        erased=True,
        contact_id=row.id,
        full_name=row.full_name,
        note="Erased for good with its touches, follow-ups and history; it cannot be restored.",
    )
    await _unlink_referred(session, scope, [row.id], "the referrer was erased")
    await session.execute(
        delete(ContactRow).where(ContactRow.id == row.id).execution_options(synchronize_session=False)
    )
    session.expunge(row)
    return shown


async def delete_contact(
    session: AsyncSession, scope: Scope, *, contact_id: str, erase: bool = False
) -> DeleteResult:
    """Delete a contact (restorable for a while) or erase it for good; purges expired deletes."""
    if erase:
        result = await erase_contact(session, scope, contact_id=contact_id)
    else:
        result = await contact_service.delete_contact(session, scope, contact_id=contact_id)
        result.restorable_until = scope.now() + _retention(scope)
        result.note = (
            "Deleted: it no longer shows in any tool. restore_contact brings it back until restorable_until."
        )
    await purge_expired(session, scope)
    return result


async def restore_contact(session: AsyncSession, scope: Scope, *, contact_id: str) -> RestoreResult:
    """Bring a deleted contact back with its follow-ups; values another contact took are reported."""
    row = await _any_contact(session, contact_id)
    if row.deleted_at is None:
        raise Conflict(f"contact_id: contact {row.id} is not deleted; get_contact shows it")
    if row.deleted_at < scope.now() - _retention(scope):
        raise Conflict(
            f"contact_id: contact {row.id} was deleted on {row.deleted_at:%Y-%m-%d}, more than "
            f"{scope.settings.deleted_retention_days} days ago, and can no longer be restored"
        )
    deleted_at = row.deleted_at
    wanted = _keys_of(row)
    owners = await _owners_of(session, wanted)
    clashes: list[KeyClash] = []
    claimed_elsewhere: set[tuple[str, str]] = set()
    for (kind, value), owner in sorted(owners.items()):
        if owner == row.id:
            continue
        clashes.append(KeyClash(field=KEY_FIELDS[kind], value=value, other_contact_id=owner))
        claimed_elsewhere.add((kind, value))
    # An email or phone identifies one contact: the one that took it meanwhile keeps it. A name stays
    # on both (it is not dropped from a person); only its de-duplication key stays with the other.
    removed = {
        name: [v for v in getattr(row, name) if (kind, v) in claimed_elsewhere]
        for kind, name in (("email", "emails"), ("phone", "phones"))
    }
    for name, values in removed.items():
        if values:
            setattr(row, name, [v for v in getattr(row, name) if v not in values])
    if not (row.full_name or row.emails or row.phones):
        raise Conflict(
            "contact_id: every email and phone of this contact now belongs to another contact "
            f"({', '.join(c.other_contact_id for c in clashes)}); that contact is this person now"
        )
    row.deleted_at = None
    row.updated_at = scope.now()
    _refresh_search_text(row)
    await _sync_keys(session, scope, row, claimed_elsewhere | {k for k, o in owners.items() if o == row.id})
    revived = await session.execute(
        update(FollowUpRow)
        .where(
            FollowUpRow.contact_id == row.id,
            FollowUpRow.status == FollowUpStatus.SKIPPED.value,
            FollowUpRow.outcome == DELETED_REASON,
            FollowUpRow.completed_at == deleted_at,
        )
        .values(status=FollowUpStatus.PENDING.value, outcome=None, completed_at=None, updated_at=scope.now())
        .execution_options(synchronize_session=False)
    )
    await followup_service.refresh_next_followup(session, row)
    record_change(
        session,
        scope,
        row.id,
        "restored",
        {
            "deleted_at": deleted_at.isoformat(),
            "clashes": [c.model_dump() for c in clashes],
            "removed": {k: v for k, v in removed.items() if v},
        },
    )
    await session.flush()
    return RestoreResult(
        contact=contact_model(row),
        restored_followups=int(getattr(revived, "rowcount", 0) or 0),
        clashes=clashes,
    )


async def withdraw_consent(
    session: AsyncSession, scope: Scope, *, contact_id: str, note: str | None = None
) -> ConsentResult:
    """Record withdrawn consent: pending follow-ups are cancelled and no automatic ones follow."""
    row = await load_contact(session, contact_id)
    text = normalize.clean_text(note)
    if text and len(text) > 1000:
        raise InvalidInput("note", "is longer than 1000 characters", "Say in a sentence how they withdrew")
    consent: dict[str, Any] = dict(row.consent or {"basis": "none recorded", "given_at": None})
    cancelled = 0
    if not consent.get("withdrawn_at"):
        consent["withdrawn_at"] = scope.now().isoformat()
        if text:
            consent["withdrawal_note"] = text
        row.consent = consent
        row.updated_at = scope.now()
        cancelled = await followup_service.cancel_pending(session, scope, row.id, reason=CONSENT_REASON)
        await followup_service.refresh_next_followup(session, row)
        record_change(
            session, scope, row.id, "consent_withdrawn", {"note": text, "cancelled_followups": cancelled}
        )
        await session.flush()
    return ConsentResult(contact=contact_model(row), cancelled_followups=cancelled)


async def _merge_entry(session: AsyncSession, row: ContactRow, change_id: str | None) -> ContactChange:
    undone = {
        str((c.detail or {}).get("change_id"))
        for c in (
            await session.execute(
                select(ContactChange).where(
                    ContactChange.contact_id == row.id, ContactChange.action == "merge_undone"
                )
            )
        ).scalars()
    }
    stmt = select(ContactChange).where(ContactChange.contact_id == row.id, ContactChange.action == "merged")
    if change_id:
        stmt = stmt.where(ContactChange.id == change_id.strip())
    entries = [c for c in (await session.execute(stmt.order_by(ContactChange.at.desc()))).scalars()]
    if change_id and not entries:
        raise NotFound(
            f"change_id: no merge {change_id!r} in this contact's history; get_contact lists the history "
            "(entries with action 'merged')"
        )
    if change_id and entries[0].id in undone:
        raise Conflict(f"change_id: merge {change_id} was already undone")
    open_entries = [c for c in entries if c.id not in undone]
    if not open_entries:
        raise NotFound(
            f"contact_id: contact {row.id} has no merge left to undo; get_contact shows its history"
        )
    return open_entries[0]


def _revert(row: ContactRow, added: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Take back what a merge added, field by field, unless the field changed since."""
    reverted: list[str] = []
    skipped: dict[str, str] = {}
    changed_since = "changed after the merge; left as it is"
    for name in SINGLE_FIELDS:
        if name in added:
            if getattr(row, name) == added[name]:
                setattr(row, name, None)
                reverted.append(name)
            else:
                skipped[name] = changed_since
    for name in LIST_FIELDS:
        if name in added:
            current = list(getattr(row, name))
            kept = [v for v in current if v not in added[name]]
            if kept != current:
                setattr(row, name, kept)
                reverted.append(name)
            else:
                skipped[name] = "the merged values were already removed"
    if "notes" in added:
        appended = str(added["notes"])
        if row.notes and row.notes.endswith(appended):
            row.notes = row.notes[: -len(appended)] or None
            reverted.append("notes")
        else:
            skipped["notes"] = changed_since
    if "referred_by" in added:
        if row.referred_by_id == added["referred_by"]:
            row.referred_by_id = None
            reverted.append("referred_by")
        else:
            skipped["referred_by"] = changed_since
    if "consent" in added:
        if row.consent == added["consent"]:
            row.consent = None
            reverted.append("consent")
        else:
            skipped["consent"] = changed_since
    if added.get("custom"):
        custom = dict(row.custom or {})
        for key, value in dict(added["custom"]).items():
            if custom.get(key) == value:
                custom.pop(key)
                reverted.append(f"custom.{key}")
            else:
                skipped[f"custom.{key}"] = changed_since
        row.custom = custom or None
    return reverted, skipped


async def undo_merge(
    session: AsyncSession,
    scope: Scope,
    *,
    contact_id: str,
    change_id: str | None = None,
    split_off: bool = True,
) -> UndoMergeResult:
    """Revert what a merge added and, by default, make the merged-in details a contact of their own."""
    row = await load_contact(session, contact_id)
    entry = await _merge_entry(session, row, change_id)
    detail = dict(entry.detail or {})
    if "added" not in detail:
        raise Conflict(
            f"change_id: merge {entry.id} was recorded before merges could be undone; "
            "change the fields with update_contact instead"
        )
    old_keys = _keys_of(row)
    old_tags = list(row.tags)
    reverted, skipped = _revert(row, dict(detail["added"]))
    if row.full_name and not (row.given_name or row.family_name):
        row.given_name, row.family_name = normalize.split_name(row.full_name)
    if not (row.full_name or row.emails or row.phones):
        raise Conflict(
            "contact_id: undoing this merge would leave the contact with no name, email or phone; "
            "edit it with update_contact instead"
        )
    row.updated_at = scope.now()
    _refresh_search_text(row)
    await _sync_keys(session, scope, row, old_keys)
    await _sync_tags(session, scope, row, old_tags)

    split = None
    set_aside: list[str] = []
    if split_off and detail.get("incoming"):
        split, set_aside = await _split_off(session, scope, row, entry.id, dict(detail["incoming"]))
    record_change(
        session,
        scope,
        row.id,
        "merge_undone",
        {
            "change_id": entry.id,
            "reverted": reverted,
            "skipped": skipped,
            "split_contact_id": split and split.id,
        },
    )
    await followup_service.refresh_next_followup(session, row)
    await session.flush()
    return UndoMergeResult(
        contact=contact_model(row),
        reverted=reverted,
        skipped=skipped,
        split_contact=contact_model(split) if split is not None else None,
        split_set_aside=set_aside,
    )


async def _split_off(
    session: AsyncSession, scope: Scope, original: ContactRow, change_id: str, incoming: dict[str, Any]
) -> tuple[ContactRow | None, list[str]]:
    """A new contact from the details a wrong merge brought in, without keys another contact still holds."""
    try:
        data = ContactCreate(
            **{k: v for k, v in incoming.items() if k in ContactCreate.model_fields and k != "custom"},
            custom=incoming.get("custom") or {},
        )
        prepared: Prepared = contact_service.prepare(data, scope)
    except (InvalidInput, ValueError):
        return None, []
    prepared.custom = dict(data.custom)
    if prepared.referred_by == original.id:
        prepared.referred_by = None
    owners = await _owners_of(
        session, {("email", e) for e in prepared.emails} | {("phone", p) for p in prepared.phones}
    )
    set_aside = [value for (_kind, value) in owners]
    prepared.emails = [e for e in prepared.emails if ("email", e) not in owners]
    prepared.phones = [p for p in prepared.phones if ("phone", p) not in owners]
    if not (prepared.full_name or prepared.emails or prepared.phones):
        return None, sorted(set_aside)
    # The same name at the same company is this split's whole point: it stays, without the name key.
    name = prepared.name_key
    leave_out = (
        frozenset({("name", name)}) if name and (await _owners_of(session, {("name", name)})) else frozenset()
    )
    new = await _insert(
        session, scope, prepared, leave_out=leave_out, history={"split_from": original.id, "merge": change_id}
    )
    return new, sorted(set_aside)
