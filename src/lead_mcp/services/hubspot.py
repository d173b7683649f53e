"""sync_hubspot: push contacts one way into HubSpot, upserting by email, 100 per request.

What is sent: email, firstname, lastname, phone, company, jobtitle, website,
lifecyclestage (from the stage) and the lead source (into the custom property
named by ``LEAD_MCP_HUBSPOT_SOURCE_PROPERTY``, created on first use when the
token may). Empty fields are left out, so a push never blanks a value someone
entered in HubSpot.

Idempotent: ``hubspot_links`` remembers, per contact, the HubSpot id, when it
was pushed and a hash of the properties sent; a contact whose properties hash
the same is not sent again (``unchanged``). Without arguments a sync pushes
contacts never pushed or changed since their last push; ``since`` pushes those
updated since a moment; ``contact_ids`` pushes exactly those.

A contact whose email changed since its last push is updated by its HubSpot id
(``batch/update``): an upsert by the new email would create a second HubSpot
contact. HubSpot moves ``lifecyclestage`` only forward and silently keeps the
later stage otherwise; when its answer shows it kept another stage than the one
sent, the stage is cleared and set again in two requests (HubSpot does not
apply one batch's inputs in order), and the result's warnings say so.

Network calls happen outside any database transaction; each batch's outcome is
recorded in its own short write transaction, so an interrupted sync keeps
what reached HubSpot and the next run continues from there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, time
from typing import Any

import anyio
import anyio.lowlevel
from sqlalchemy import Row, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.tables import ContactRow, HubSpotLink
from lead_mcp.domain import Stage, SyncFailure, SyncResult
from lead_mcp.errors import InvalidInput
from lead_mcp.integrations.hubspot import MAX_BATCH, Answer, HubSpotClient
from lead_mcp.services import roles
from lead_mcp.services.exchange.exports import select_contacts
from lead_mcp.services.exchange.imports import Transactions
from lead_mcp.services.interactions import parse_instant
from lead_mcp.services.scope import Scope

PAGE = 500
MAX_LISTED = 200

LIFECYCLE_STAGE = {
    Stage.COLD.value: "subscriber",
    Stage.LEAD.value: "lead",
    Stage.MQL.value: "marketingqualifiedlead",
    Stage.SQL.value: "salesqualifiedlead",
    Stage.OPPORTUNITY.value: "opportunity",
    Stage.CUSTOMER.value: "customer",
    Stage.LOST.value: "other",
}

SyncProgress = Callable[[int, int | None, str], Awaitable[None]]


def hubspot_properties(row: Any, source_property: str | None) -> dict[str, str]:
    """The HubSpot contact properties for a contact (empty values left out)."""
    values: dict[str, str | None] = {
        "email": row.emails[0] if row.emails else None,
        "firstname": row.given_name or (None if row.family_name else row.full_name),
        "lastname": row.family_name,
        "phone": row.phones[0] if row.phones else None,
        "company": row.company,
        "jobtitle": row.title,
        "website": (row.website if "://" in row.website else f"https://{row.website}")
        if row.website
        else None,
        "lifecyclestage": LIFECYCLE_STAGE.get(row.stage, "lead"),
    }
    if source_property:
        values[source_property] = row.source
    return {k: v for k, v in values.items() if v}


def properties_hash(properties: dict[str, str]) -> str:
    """A stable fingerprint of what is pushed (so an unchanged contact is not sent again)."""
    return hashlib.sha256(json.dumps(properties, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def parse_since(value: str | None, scope: Scope) -> datetime | None:
    """An ISO date (midnight, local zone) or date-time (naive = local zone) as a UTC instant."""
    if value is None or not value.strip():
        return None
    return parse_instant(value, scope, field="since", date_time=time.min)


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
    ContactRow.stage,
    ContactRow.source,
    ContactRow.updated_at,
    HubSpotLink.hubspot_id,
    HubSpotLink.pushed_hash,
    HubSpotLink.pushed_at,
    HubSpotLink.email.label("pushed_email"),
)


def _chosen(stmt: Any, *, ids: list[str] | None, since: datetime | None) -> Any:
    """The contacts a sync looks at: the given ids, those changed since a moment, or new and changed."""
    stmt = stmt.outerjoin(HubSpotLink, HubSpotLink.contact_id == ContactRow.id).where(
        ContactRow.deleted_at.is_(None)
    )
    if ids is not None:
        return stmt.where(ContactRow.id.in_(ids))
    if since is not None:
        return stmt.where(ContactRow.updated_at >= since)
    return stmt.where(or_(HubSpotLink.contact_id.is_(None), ContactRow.updated_at > HubSpotLink.pushed_at))


async def _page(
    session: AsyncSession, *, after: int, ids: list[str] | None, since: datetime | None
) -> Sequence[Row[Any]]:
    stmt = _chosen(select(*_COLUMNS), ids=ids, since=since).where(ContactRow.pk > after)
    result = await session.execute(stmt.order_by(ContactRow.pk).limit(PAGE))
    return list(result.all())


async def _count(session: AsyncSession, *, ids: list[str] | None, since: datetime | None) -> int:
    stmt = _chosen(select(func.count()).select_from(ContactRow), ids=ids, since=since)
    return int((await session.execute(stmt)).scalar_one())


Pending = tuple[Any, dict[str, str], str]  # (contact row, properties to send, their hash)


class _Run:
    """State of one sync: the client, the result being built, the transactions to record into."""

    def __init__(self, transactions: Transactions, scope: Scope, hubspot: HubSpotClient) -> None:
        self.transactions = transactions
        self.scope = scope
        self.hubspot = hubspot
        self.result = SyncResult(pushed=0, created=0, updated=0, unchanged=0, failed=[])
        self.failures: list[SyncFailure] = []
        self.stage_resets = 0

    def fail(self, row: Any, email: str | None, reason: str) -> None:
        self.failures.append(
            SyncFailure(contact_id=row.id, full_name=row.full_name, email=email, reason=reason)
        )

    async def push(self, batch: list[Pending]) -> None:
        """Send one batch: contacts whose email changed since their push are updated by HubSpot id."""
        moved = [p for p in batch if _email_changed(p[0], p[1])]
        if moved:
            await self.update(moved)
        rest = [p for p in batch if not _email_changed(p[0], p[1])]
        if rest:
            await self.upsert(rest)

    async def upsert(self, batch: list[Pending]) -> None:
        """Upsert by email (splitting a batch on a 400 to find the records HubSpot refuses)."""
        inputs = [{"id": props["email"], "idProperty": "email", "properties": props} for _, props, _ in batch]
        answer = await self.hubspot.batch_upsert(inputs)
        if not await self._usable(answer, batch, self.upsert):
            return
        by_email: dict[str, dict[str, Any]] = {}
        for item in answer.body.get("results", []) or []:
            email = str((item.get("properties") or {}).get("email") or item.get("id") or "").lower()
            by_email[email] = item
        errors = _error_messages(answer)
        done: list[tuple[Pending, dict[str, Any]]] = []
        for pending in batch:
            email = pending[1]["email"]
            item = by_email.get(email.lower())
            if item is None or not item.get("id"):
                reason = next((m for m in errors if email.lower() in m.lower()), errors[0] if errors else "")
                self.fail(pending[0], email, f"HubSpot did not accept it{': ' + reason if reason else ''}")
                continue
            done.append((pending, item))
        await self._finish(done)

    async def update(self, batch: list[Pending]) -> None:
        """Update by HubSpot id: the contact was pushed under another email, which HubSpot still has.

        Upserting by the new email would create a second HubSpot contact. A HubSpot contact that is
        gone (deleted or merged there) is upserted by email instead.
        """
        inputs = [{"id": str(row.hubspot_id), "properties": props} for row, props, _ in batch]
        answer = await self.hubspot.batch_update(inputs)
        if not await self._usable(answer, batch, self.update):
            return
        by_id = {str(item.get("id")): item for item in answer.body.get("results", []) or []}
        refused: dict[str, tuple[str, str]] = {}
        for error in answer.body.get("errors") or []:
            if not isinstance(error, dict):
                continue
            ids = (error.get("context") or {}).get("ids") or []
            for hubspot_id in ids:
                refused[str(hubspot_id)] = (str(error.get("category") or ""), str(error.get("message") or ""))
        done: list[tuple[Pending, dict[str, Any]]] = []
        gone: list[Pending] = []
        for pending in batch:
            hubspot_id = str(pending[0].hubspot_id)
            item = by_id.get(hubspot_id)
            if item is not None:
                done.append((pending, item))
            elif refused.get(hubspot_id, ("", ""))[0] == "OBJECT_NOT_FOUND":
                gone.append(pending)
            else:
                why = refused.get(hubspot_id, ("", ""))[1]
                self.fail(
                    pending[0],
                    pending[1]["email"],
                    self.hubspot.reason_text(
                        f"HubSpot did not take the new email{': ' + why if why else ''}"
                    ),
                )
        await self._finish(done)
        if gone:
            await self.upsert(gone)

    async def _usable(self, answer: Answer, batch: list[Pending], retry: Any) -> bool:
        """False when the answer fails the batch (after splitting a 400 to find the bad records)."""
        if answer.status in (401, 403):
            raise self.hubspot.refusal(answer)
        if answer.status == 400 and len(batch) > 1:
            middle = len(batch) // 2
            await retry(batch[:middle])
            await retry(batch[middle:])
            return False
        if answer.status not in (200, 201, 207):
            for row, props, _ in batch:
                self.fail(row, props["email"], self.hubspot.reason(answer))
            return False
        return True

    async def _finish(self, done: list[tuple[Pending, dict[str, Any]]]) -> None:
        """Move back the lifecycle stages HubSpot kept, then remember what was pushed."""
        behind = [
            (pending, item)
            for pending, item in done
            if "lifecyclestage" in pending[1]
            and (item.get("properties") or {}).get("lifecyclestage", pending[1]["lifecyclestage"])
            != pending[1]["lifecyclestage"]
        ]
        if behind:
            await self._reset_stages(behind)
        await self._record(done)

    async def _reset_stages(self, behind: list[tuple[Pending, dict[str, Any]]]) -> None:
        """HubSpot only moves a lifecycle stage forward: clear it, then set it (two requests, in order)."""
        wanted = {str(item["id"]): pending[1]["lifecyclestage"] for pending, item in behind}
        cleared = await self.hubspot.batch_update(
            [{"id": hubspot_id, "properties": {"lifecyclestage": ""}} for hubspot_id in wanted]
        )
        answer = cleared
        if cleared.status in (200, 207):
            answer = await self.hubspot.batch_update(
                [
                    {"id": hubspot_id, "properties": {"lifecyclestage": stage}}
                    for hubspot_id, stage in wanted.items()
                ]
            )
        stored = {
            str(item.get("id")): (item.get("properties") or {}).get("lifecyclestage")
            for item in (answer.body.get("results", []) or [])
        }
        for pending, item in behind:
            hubspot_id = str(item["id"])
            if answer.status in (200, 207) and stored.get(hubspot_id) == wanted[hubspot_id]:
                self.stage_resets += 1
                item.setdefault("properties", {})["lifecyclestage"] = wanted[hubspot_id]
            else:
                shown = (item.get("properties") or {}).get("lifecyclestage")
                self.result.warnings.append(
                    f"{pending[0].full_name or pending[1]['email']}: HubSpot kept lifecycle stage {shown!r} "
                    f"instead of {wanted[hubspot_id]!r} (it only moves stages forward); set it in HubSpot"
                )

    async def _record(self, done: list[tuple[Pending, dict[str, Any]]]) -> None:
        if not done:
            return
        now = self.scope.now()
        async with self.transactions(write=True) as session:
            for (row, props, digest), item in done:
                email = props["email"]
                if item.get("new"):
                    self.result.created += 1
                else:
                    self.result.updated += 1
                link = await session.get(HubSpotLink, row.id)
                if link is None:
                    session.add(
                        HubSpotLink(
                            contact_id=row.id,
                            workspace_id=self.scope.workspace_id,
                            hubspot_id=str(item["id"]),
                            email=email,
                            pushed_at=now,
                            pushed_hash=digest,
                        )
                    )
                else:
                    link.hubspot_id = str(item["id"])
                    link.email = email
                    link.pushed_at = now
                    link.pushed_hash = digest


def _email_changed(row: Any, props: dict[str, str]) -> bool:
    """True when the contact was pushed before under an email it no longer has first."""
    return bool(row.hubspot_id and row.pushed_email and row.pushed_email.lower() != props["email"].lower())


def _error_messages(answer: Answer) -> list[str]:
    return [str(e.get("message", "")) for e in (answer.body.get("errors") or []) if isinstance(e, dict)]


async def sync_hubspot(
    transactions: Transactions,
    scope: Scope,
    *,
    hubspot: HubSpotClient,
    contact_ids: Sequence[str] | None = None,
    since: str | None = None,
    progress: SyncProgress | None = None,
) -> SyncResult:
    """Push contacts to HubSpot (see the module docstring for which, and how retries work)."""
    if contact_ids and since:
        raise InvalidInput("since", "give contact_ids or since, not both", "Drop one of them")
    async with transactions(write=False) as session:
        await roles.require_owner(session, scope, "push the workspace's contacts to HubSpot")
    since_at = parse_since(since, scope)
    ids: list[str] | None = None
    if contact_ids:
        async with transactions(write=False) as session:
            ids = (await select_contacts(session, scope, contact_ids=contact_ids, query=None)).contact_ids
    run = _Run(transactions, scope, hubspot)
    source_property: str | None = scope.settings.hubspot_source_property or None
    checked_property = False
    after = 0
    seen = 0
    async with transactions(write=False) as session:
        total = await _count(session, ids=ids, since=since_at)
    while True:
        async with transactions(write=False) as session:
            rows = await _page(session, after=after, ids=ids, since=since_at)
        if not rows:
            break
        after = rows[-1].pk
        if source_property and not checked_property:
            checked_property = True
            usable, why = await hubspot.ensure_text_property(source_property, "lead-mcp source")
            if not usable:
                run.result.warnings.append(
                    f"the lead source was not pushed: property {source_property!r} is missing and "
                    f"could not be created ({why}); create it in HubSpot or give the app the "
                    "crm.schemas.contacts.write scope"
                )
                source_property = None
        batch: list[Pending] = []
        for row in rows:
            seen += 1
            props = hubspot_properties(row, source_property)
            if "email" not in props:
                run.fail(
                    row,
                    None,
                    "no email address: HubSpot matches contacts by email; add one with update_contact",
                )
                continue
            digest = properties_hash(props)
            if row.pushed_hash == digest and (row.pushed_email or "").lower() == props["email"].lower():
                run.result.unchanged += 1
                continue
            batch.append((row, props, digest))
            if len(batch) == MAX_BATCH:
                await run.push(batch)
                batch = []
        if batch:
            await run.push(batch)
        if progress is not None:
            await progress(
                min(seen, max(total, seen)),
                max(total, seen),
                f"{seen} contacts checked, {run.result.created + run.result.updated} pushed",
            )
        await anyio.lowlevel.checkpoint()
        if len(rows) < PAGE:
            break
    result = run.result
    result.pushed = result.created + result.updated
    if run.stage_resets:
        result.warnings.append(
            f"{run.stage_resets} contact(s) moved back to an earlier lifecycle stage: HubSpot only moves a "
            "stage forward, so it was cleared and set again"
        )
    result.failed = run.failures[:MAX_LISTED]
    result.failed_total = len(run.failures)
    result.requests = hubspot.counters.requests
    result.retries = hubspot.counters.retries
    return result


__all__ = ["LIFECYCLE_STAGE", "hubspot_properties", "parse_since", "sync_hubspot"]
