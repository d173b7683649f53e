"""Row <-> model conversion and the small shared steps services repeat (history, lookups, cursors)."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.tables import ContactChange, ContactRow, FollowUpRow, InteractionRow, new_id
from lead_mcp.domain import (
    ChangeRecord,
    Consent,
    Contact,
    ContactSummary,
    FollowUp,
    Interaction,
    Source,
    Stage,
)
from lead_mcp.errors import InvalidInput, NotFound
from lead_mcp.services.scope import Scope


def dialect_name(session: AsyncSession) -> str:
    """Name of the database behind a session ("sqlite" or "postgresql")."""
    return session.get_bind().dialect.name


def contact_summary(row: ContactRow) -> ContactSummary:
    """The compact form lists show."""
    return ContactSummary.model_validate(row)


# The columns a summary needs: lists select these rather than whole ORM rows (no instance
# bookkeeping, no notes or search text read), which made search several times cheaper.
SUMMARY_COLUMNS = (
    ContactRow.pk,
    ContactRow.id,
    ContactRow.full_name,
    ContactRow.company,
    ContactRow.title,
    ContactRow.emails,
    ContactRow.phones,
    ContactRow.stage,
    ContactRow.source,
    ContactRow.score,
    ContactRow.next_followup_at,
)


_STAGES = {stage.value: stage for stage in Stage}  # a dict lookup; Stage(value) costs ~5 µs per call
_SOURCES = {source.value: source for source in Source}


def contact_model(row: ContactRow) -> Contact:
    """The full contact."""
    return Contact(
        id=row.id,
        full_name=row.full_name,
        given_name=row.given_name,
        family_name=row.family_name,
        company=row.company,
        title=row.title,
        emails=list(row.emails),
        phones=list(row.phones),
        website=row.website,
        address=row.address,
        notes=row.notes,
        tags=list(row.tags),
        source=Source(row.source),
        referred_by=row.referred_by_id,
        met_at=row.met_at,
        owner_id=row.owner_id,
        stage=Stage(row.stage),
        budget=row.budget,
        authority=row.authority,
        need=row.need,
        timeline=row.timeline,
        score=row.score,
        consent=Consent.model_validate(row.consent) if row.consent else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        first_response_at=row.first_response_at,
        last_touch_at=row.last_touch_at,
        next_followup_at=row.next_followup_at,
        custom=dict(row.custom or {}),
    )


def interaction_model(row: InteractionRow) -> Interaction:
    """A stored touch."""
    return Interaction.model_validate(row)


def followup_model(row: FollowUpRow) -> FollowUp:
    """A stored follow-up."""
    return FollowUp.model_validate(row)


def change_model(row: ContactChange) -> ChangeRecord:
    """A history entry."""
    return ChangeRecord.model_validate(row)


def contact_query(*conditions: Any, lock: bool) -> Select[ContactRow]:
    """Select live contacts; with ``lock`` the rows are locked for this transaction and re-read.

    Every read-modify-write of a contact locks it first (``FOR UPDATE`` on PostgreSQL; SQLite
    write transactions are already serialized), so two concurrent merges never lose an update.
    """
    stmt = select(ContactRow).where(*conditions, ContactRow.deleted_at.is_(None))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return stmt


@functools.cache
def _by_id(lock: bool) -> Select[ContactRow]:
    """One live contact by id, built once per lock mode (the id is bound per call)."""
    return contact_query(ContactRow.id == bindparam("contact_id"), lock=lock)


async def load_contact(
    session: AsyncSession, contact_id: str, *, field: str = "contact_id", lock: bool = True
) -> ContactRow:
    """The live contact with this id in the caller's workspace, or a NotFound that says what to do."""
    row = None
    if isinstance(contact_id, str) and 0 < len(contact_id) <= 64:
        row = (await session.execute(_by_id(lock), {"contact_id": contact_id.strip()})).scalar_one_or_none()
    if row is None:
        deleted_at = None
        if isinstance(contact_id, str) and 0 < len(contact_id) <= 64:
            deleted = select(ContactRow.deleted_at).where(ContactRow.id == contact_id.strip())
            deleted_at = (await session.execute(deleted)).scalar_one_or_none()
        if deleted_at is not None:
            raise NotFound(
                f"{field}: contact {contact_id!r} was deleted on {deleted_at:%Y-%m-%d}; "
                "restore_contact brings it back (deleted contacts can be restored for 30 days by default)"
            )
        raise NotFound(
            f"{field}: no contact {contact_id!r} in this workspace; call search_contacts to find the right id"
        )
    return row


def change_values(scope: Scope, contact_id: str, action: str, detail: dict[str, Any]) -> dict[str, Any]:
    """A history row, for Core inserts."""
    return {
        "id": new_id(),
        "workspace_id": scope.workspace_id,
        "contact_id": contact_id,
        "user_id": scope.user_id,
        "at": scope.now(),
        "action": action,
        "detail": detail,
    }


def record_change(
    session: AsyncSession, scope: Scope, contact_id: str, action: str, detail: dict[str, Any]
) -> None:
    """Append an entry to a contact's history."""
    session.add(
        ContactChange(
            id=new_id(),
            workspace_id=scope.workspace_id,
            contact_id=contact_id,
            user_id=scope.user_id,
            at=scope.now(),
            action=action,
            detail=detail,
        )
    )


_CURSOR_FIX = "Pass next_cursor exactly as the previous page returned it"
_MAX_CURSOR_INT = 2**63 - 1  # a database integer


def _cursor_mac(scope: Scope, payload: bytes) -> str:
    key = hashlib.sha256(b"lead-mcp cursor\n" + scope.secret.encode()).digest()
    mac = hmac.new(key, scope.workspace_id.encode() + b"\n" + payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def encode_cursor(scope: Scope, kind: str, values: dict[str, Any]) -> str:
    """An opaque cursor for the next page: signed (the server's secret) and bound to the workspace."""
    payload = json.dumps({"k": kind, **values}, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _cursor_mac(scope, payload)


def decode_cursor(scope: Scope, kind: str, cursor: str | None) -> dict[str, Any] | None:
    """The values inside a cursor from :func:`encode_cursor`, checked to be ours, unchanged, for this list.

    An edited or made-up cursor, or one from another workspace, is refused naming ``cursor``
    before any of its values reaches a query.
    """
    if cursor is None or cursor == "":
        return None
    body, _, mac = cursor.partition(".")
    data: Any = None
    try:
        payload = base64.urlsafe_b64decode((body + "=" * (-len(body) % 4)).encode())
        if hmac.compare_digest(mac.encode(), _cursor_mac(scope, payload).encode()):
            data = json.loads(payload)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("k") != kind:
        raise InvalidInput("cursor", "is not a cursor from this list", _CURSOR_FIX)
    return data


def cursor_int(value: Any) -> int:
    """An integer read back from a cursor."""
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > _MAX_CURSOR_INT:
        raise InvalidInput("cursor", "is damaged", _CURSOR_FIX)
    return value


def cursor_datetime(value: Any) -> datetime:
    """An aware datetime read back from a cursor."""
    try:
        parsed: datetime | None = datetime.fromisoformat(str(value))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput("cursor", "is damaged", _CURSOR_FIX)
    return parsed
