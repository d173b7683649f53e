"""ChatGPT connector contract: read-only ``search`` and ``fetch`` over contacts.

ChatGPT's connectors and deep research call ``search(query)`` for
``{results: [{id, title, url}]}`` and ``fetch(id)`` for one document
``{id, title, text, url, metadata}``. A contact's ``url`` is its MCP resource
address, ``lead://contacts/{id}``: contacts are private, so there is no public
web page to cite, and the address is what ``resources/read`` opens.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.domain import (
    ConnectorDocument,
    ConnectorSearchResult,
    ConnectorSearchResults,
    Contact,
    ContactSummary,
)
from lead_mcp.errors import NotFound
from lead_mcp.services import contacts, sizing
from lead_mcp.services.custom_fields import list_custom_fields
from lead_mcp.services.records import load_contact
from lead_mcp.services.scope import Scope

SEARCH_RESULTS = 20
TEXT_NOTES = 8_000
TEXT_TOUCHES = 20
TEXT_TOUCH = 500


def contact_uri(contact_id: str) -> str:
    """The MCP resource address of a contact."""
    return f"lead://contacts/{contact_id}"


def contact_title(
    full_name: str | None,
    emails: Sequence[str],
    phones: Sequence[str],
    title: str | None = None,
    company: str | None = None,
) -> str:
    """A one-line title: name (else email, else phone), role and company."""
    name = full_name or (emails[0] if emails else None) or (phones[0] if phones else "Unnamed contact")
    role = " at ".join(p for p in (title, company) if p)
    return f"{name} — {role}" if role else name


def title_of(contact: ContactSummary) -> str:
    """A one-line title: name, role and company."""
    return contact_title(contact.full_name, contact.emails, contact.phones, contact.title, contact.company)


async def search(session: AsyncSession, scope: Scope, *, query: str) -> ConnectorSearchResults:
    """Contacts matching plain-text words, best first; newest contacts for an empty query."""
    page = await contacts.search_contacts(session, scope, query=query or None, limit=SEARCH_RESULTS)
    return ConnectorSearchResults(
        results=[ConnectorSearchResult(id=c.id, title=title_of(c), url=contact_uri(c.id)) for c in page.items]
    )


def _metadata(contact: Contact) -> dict[str, str]:
    values = {
        "stage": contact.stage.value,
        "source": contact.source.value,
        "score": str(contact.score),
        "company": contact.company,
        "title": contact.title,
        "emails": ", ".join(contact.emails),
        "phones": ", ".join(contact.phones),
        "tags": ", ".join(contact.tags),
        "met_at": contact.met_at,
        "referred_by": contact.referred_by,
        "created_at": contact.created_at.isoformat(),
        "last_touch_at": contact.last_touch_at.isoformat() if contact.last_touch_at else None,
        "next_followup_at": contact.next_followup_at.isoformat() if contact.next_followup_at else None,
    }
    return {k: v for k, v in values.items() if v}


async def fetch(session: AsyncSession, scope: Scope, *, id: str) -> ConnectorDocument:
    """One contact as a readable document: fields, custom fields, notes, touches, pending follow-ups."""
    try:
        await load_contact(session, id, field="id", lock=False)
    except NotFound as exc:  # the connector's own words: its argument is `id`, its finder `search`
        raise NotFound(
            str(exc).replace(
                "call search_contacts to find the right id", "call search and pass a result's id"
            )
        ) from None
    detail = await contacts.get_contact(session, scope, contact_id=id)
    contact = detail.contact
    labels = {f.key: f.label for f in (await list_custom_fields(session, scope)).items}
    lines = [title_of(contact)]
    for label, value in (
        ("Emails", ", ".join(contact.emails)),
        ("Phones", ", ".join(contact.phones)),
        ("Website", contact.website),
        ("Address", contact.address),
        ("Stage", f"{contact.stage.value} (score {contact.score})"),
        ("Source", contact.source.value),
        ("Met at", contact.met_at),
        ("Referred by (contact id)", contact.referred_by),
        ("Tags", ", ".join(contact.tags)),
        ("Budget", contact.budget),
        ("Authority", contact.authority),
        ("Need", contact.need),
        ("Timeline", contact.timeline),
        ("Added", f"{contact.created_at:%Y-%m-%d}"),
        ("Last touch", f"{contact.last_touch_at:%Y-%m-%d}" if contact.last_touch_at else None),
        (
            "Consent withdrawn",
            f"{contact.consent.withdrawn_at:%Y-%m-%d}"
            if contact.consent and contact.consent.withdrawn_at
            else None,
        ),
    ):
        if value:
            lines.append(f"{label}: {value}")
    for key, custom_value in contact.custom.items():
        lines.append(f"{labels.get(key, key)}: {custom_value}")
    if contact.notes:
        lines += ["", "Notes:", sizing.clip(contact.notes, TEXT_NOTES) or ""]
    pending = [f for f in detail.followups if f.status.value == "pending"]
    if pending:
        lines += ["", "Pending follow-ups:"]
        lines += [
            f"- due {f.due_at:%Y-%m-%d %H:%M} UTC, step {f.step}: {sizing.clip(f.note, TEXT_TOUCH) or ''}"
            for f in pending
        ]
    if detail.interactions:
        lines += ["", "Recent touches (newest first):"]
        lines += [
            f"- {i.occurred_at:%Y-%m-%d} {i.direction.value} {i.kind.value}: "
            f"{sizing.clip(i.summary, TEXT_TOUCH)}"
            for i in detail.interactions[:TEXT_TOUCHES]
        ]
    return ConnectorDocument(
        id=contact.id,
        title=title_of(contact),
        text="\n".join(lines),
        url=contact_uri(contact.id),
        metadata=_metadata(contact),
    )
