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

Network calls happen outside any database transaction; each batch's outcome is
recorded in its own short write transaction, so an interrupted sync keeps
what reached HubSpot and the next run continues from there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time
from typing import Any

import anyio
import anyio.lowlevel
from sqlalchemy import Row, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import utc
from lead_mcp.db.tables import ContactRow, HubSpotLink
from lead_mcp.domain import Stage, SyncFailure, SyncResult
from lead_mcp.errors import InvalidInput
from lead_mcp.integrations.hubspot import MAX_BATCH, Answer, HubSpotClient
from lead_mcp.services import roles
from lead_mcp.services.exchange.exports import select_contacts
from lead_mcp.services.exchange.imports import Transactions
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
    text = value.strip()
    try:
        if len(text) == 10:
            return utc(datetime.combine(date.fromisoformat(text), time.min, tzinfo=scope.zone))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "since",
            f"{value!r} is not an ISO date or date-time",
            "Give e.g. 2026-03-01 or 2026-03-01T09:00:00+01:00",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=scope.zone)
    return utc(moment)


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


async def _page(
    session: AsyncSession, *, after: int, ids: list[str] | None, since: datetime | None
) -> Sequence[Row[Any]]:
    stmt = (
        select(*_COLUMNS)
        .outerjoin(HubSpotLink, HubSpotLink.contact_id == ContactRow.id)
        .where(ContactRow.deleted_at.is_(None), ContactRow.pk > after)
    )
    if ids is not None:
        stmt = stmt.where(ContactRow.id.in_(ids))
    elif since is not None:
        stmt = stmt.where(ContactRow.updated_at >= since)
    else:
        stmt = stmt.where(
            or_(HubSpotLink.contact_id.is_(None), ContactRow.updated_at > HubSpotLink.pushed_at)
        )
    result = await session.execute(stmt.order_by(ContactRow.pk).limit(PAGE))
    return list(result.all())  # type: ignore[arg-type]


class _Run:
    """State of one sync: the client, the result being built, the transactions to record into."""

    def __init__(self, transactions: Transactions, scope: Scope, hubspot: HubSpotClient) -> None:
        self.transactions = transactions
        self.scope = scope
        self.hubspot = hubspot
        self.result = SyncResult(pushed=0, created=0, updated=0, unchanged=0, failed=[])
        self.failures: list[SyncFailure] = []

    def fail(self, row: Any, email: str | None, reason: str) -> None:
        self.failures.append(
            SyncFailure(contact_id=row.id, full_name=row.full_name, email=email, reason=reason)
        )

    async def push(self, batch: list[tuple[Any, dict[str, str], str]]) -> None:
        """Upsert one batch (splitting it on a 400 to find the records HubSpot refuses) and record it."""
        inputs = [{"id": props["email"], "idProperty": "email", "properties": props} for _, props, _ in batch]
        answer = await self.hubspot.batch_upsert(inputs)
        if answer.status in (401, 403):
            raise self.hubspot.refusal(answer)
        if answer.status == 400 and len(batch) > 1:
            middle = len(batch) // 2
            await self.push(batch[:middle])
            await self.push(batch[middle:])
            return
        if answer.status not in (200, 201, 207):
            for row, props, _ in batch:
                self.fail(row, props["email"], self.hubspot.reason(answer))
            return
        await self._record(batch, answer)

    async def _record(self, batch: list[tuple[Any, dict[str, str], str]], answer: Answer) -> None:
        by_email: dict[str, dict[str, Any]] = {}
        for item in answer.body.get("results", []) or []:
            email = str((item.get("properties") or {}).get("email") or item.get("id") or "").lower()
            by_email[email] = item
        errors = [e.get("message", "") for e in (answer.body.get("errors") or []) if isinstance(e, dict)]
        now = self.scope.now()
        async with self.transactions(write=True) as session:
            for row, props, digest in batch:
                email = props["email"]
                item = by_email.get(email.lower())
                if item is None or not item.get("id"):
                    reason = next(
                        (m for m in errors if email.lower() in m.lower()), errors[0] if errors else ""
                    )
                    self.fail(row, email, f"HubSpot did not accept it{': ' + reason if reason else ''}")
                    continue
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
        batch: list[tuple[Any, dict[str, str], str]] = []
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
                seen, None, f"{seen} contacts checked, {run.result.created + run.result.updated} pushed"
            )
        await anyio.lowlevel.checkpoint()
        if len(rows) < PAGE:
            break
    result = run.result
    result.pushed = result.created + result.updated
    result.failed = run.failures[:MAX_LISTED]
    result.failed_total = len(run.failures)
    result.requests = hubspot.counters.requests
    result.retries = hubspot.counters.retries
    return result


__all__ = ["LIFECYCLE_STAGE", "hubspot_properties", "parse_since", "sync_hubspot"]
