"""CRM tools: add, get, update, delete, search contacts, and log touches."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from lead_mcp.domain import (
    AddContactResult,
    ContactCreate,
    ContactDetail,
    ContactPage,
    ContactUpdate,
    DeleteResult,
    Direction,
    InteractionKind,
    InteractionResult,
    Source,
    Stage,
)
from lead_mcp.mcp.confirmation import Approval, can_elicit
from lead_mcp.mcp.unit import DESTRUCTIVE, IDEMPOTENT_WRITE, READ_ONLY, WRITE, unit
from lead_mcp.services import contacts, interactions, privacy

ContactId = Annotated[
    str, Field(description="The contact's id (from search_contacts or add_contact).", max_length=64)
]
Name = Annotated[
    str | None, Field(description="Full name as the person writes it, e.g. 'Ana Souza'.", max_length=300)
]
Email = Annotated[str | None, Field(description="Email address, e.g. ana@fintech.io.", max_length=320)]
Phone = Annotated[
    str | None,
    Field(
        description="Phone number, ideally with country code (+1 415 555 0100); stored as E.164.",
        max_length=40,
    ),
]
Company = Annotated[str | None, Field(description="Company or organisation.", max_length=300)]
Title = Annotated[str | None, Field(description="Job title, e.g. 'Head of Sales'.", max_length=300)]
Website = Annotated[
    str | None, Field(description="Web site, e.g. fintech.io or https://fintech.io/team.", max_length=500)
]
Address = Annotated[str | None, Field(description="Postal address on one line.", max_length=1000)]
Notes = Annotated[
    str | None, Field(description="Free-text notes: what they asked about, context.", max_length=20_000)
]
Tags = Annotated[
    list[Annotated[str, Field(max_length=100)]] | None,
    Field(description="Labels such as 'fintech' or 'hot'.", max_length=50),
]
MetAt = Annotated[
    str | None, Field(description="Event or place where you met, e.g. 'Web Summit 2026'.", max_length=300)
]
ReferredBy = Annotated[
    str | None,
    Field(description="Id of the contact who referred this person (from search_contacts).", max_length=64),
]
Custom = Annotated[
    dict[Annotated[str, Field(max_length=40)], str | int | float | None] | None,
    Field(
        description="Custom-field values by key, e.g. {'industry': 'fintech', 'deal_size': 12000, "
        "'renewal': '2026-12-01'}. Keys come from list_custom_fields; text, number, date (YYYY-MM-DD) "
        "or one of a choice field's choices. null or '' clears a field (update_contact).",
        max_length=50,
    ),
]


async def approve_delete(
    ctx: Context[Any, Any], contact_id: str, confirm: bool, erase: bool
) -> Approval | Elicit[Approval]:
    """Ask the user through elicitation when possible; otherwise accept only an explicit confirm=true."""
    async with unit(ctx, write=False) as (session, scope):
        question = await privacy.describe_for_confirmation(session, scope, contact_id=contact_id, erase=erase)
    if can_elicit(ctx):
        return Elicit(question, Approval)
    if confirm:
        return Approval(approve=True)
    action = "erasing a contact for good" if erase else "deleting a contact"
    raise ToolError(
        f"confirm: {action} needs the user's yes, and this client cannot be asked directly. "
        f"Ask them ({question}), then call delete_contact again with confirm=true"
    )


def register(server: MCPServer[Any]) -> None:
    """Add the contact tools to a server."""

    @server.tool(annotations=WRITE)
    async def add_contact(
        ctx: Context[Any, Any],
        full_name: Name = None,
        email: Email = None,
        phone: Phone = None,
        company: Company = None,
        title: Title = None,
        website: Website = None,
        address: Address = None,
        notes: Notes = None,
        tags: Tags = None,
        source: Annotated[
            Source | None, Field(description="Where the lead came from; default 'manual'.")
        ] = None,
        referred_by: ReferredBy = None,
        met_at: MetAt = None,
        custom: Custom = None,
        follow_up_in_days: Annotated[
            int | None,
            Field(
                description="Days until the first follow-up is due; default 0 (today: answer fast).",
                ge=0,
                le=3650,
            ),
        ] = None,
        cadence: Annotated[
            str | None,
            Field(
                description="Follow-up cadence to run (see list_cadences); default 'default': "
                "day 0, 2, 7, 30.",
                max_length=50,
            ),
        ] = None,
    ) -> AddContactResult:
        """Add a lead (a person you met) and schedule the first follow-up, due today by default.

        Needs at least a name, an email or a phone. If the person is already stored (same email,
        same phone, or the same name at the same company) nothing is duplicated: the new details
        are merged in and `created` is false. Use referred_by with the referrer's contact id.
        """
        data = ContactCreate(
            full_name=full_name,
            emails=[email] if email else [],
            phones=[phone] if phone else [],
            company=company,
            title=title,
            website=website,
            address=address,
            notes=notes,
            tags=tags or [],
            source=source,
            referred_by=referred_by,
            met_at=met_at,
            custom=custom or {},
        )
        async with unit(ctx, write=True) as (session, scope):
            return await contacts.add_contact(
                session, scope, data=data, followup_in_days=follow_up_in_days, cadence=cadence
            )

    @server.tool(annotations=READ_ONLY)
    async def get_contact(ctx: Context[Any, Any], contact_id: ContactId) -> ContactDetail:
        """Everything about one contact: fields, recent touches, follow-ups and change history."""
        async with unit(ctx, write=False) as (session, scope):
            return await contacts.get_contact(session, scope, contact_id=contact_id)

    @server.tool(annotations=IDEMPOTENT_WRITE)
    async def update_contact(
        ctx: Context[Any, Any],
        contact_id: ContactId,
        full_name: Name = None,
        emails: Annotated[
            list[Annotated[str, Field(max_length=320)]] | None,
            Field(description="Replaces all email addresses.", max_length=50),
        ] = None,
        phones: Annotated[
            list[Annotated[str, Field(max_length=40)]] | None,
            Field(description="Replaces all phone numbers.", max_length=50),
        ] = None,
        company: Company = None,
        title: Title = None,
        website: Website = None,
        address: Address = None,
        notes: Annotated[
            str | None,
            Field(description="Replaces the notes (read them with get_contact first).", max_length=20_000),
        ] = None,
        tags: Annotated[
            list[Annotated[str, Field(max_length=100)]] | None,
            Field(description="Replaces all tags.", max_length=50),
        ] = None,
        source: Annotated[Source | None, Field(description="Where the lead came from.")] = None,
        referred_by: ReferredBy = None,
        met_at: MetAt = None,
        stage: Annotated[Stage | None, Field(description="Pipeline stage.")] = None,
        custom: Custom = None,
        owner: Annotated[
            str | None,
            Field(
                description="Hand the contact to a teammate: 'me', their email or user id; an empty string "
                "leaves it unowned.",
                max_length=320,
            ),
        ] = None,
    ) -> ContactDetail:
        """Change fields of a contact. Only the fields you pass change; an empty string clears a field.

        List fields (emails, phones, tags) are replaced as a whole. Every change is kept in the
        contact's history.
        """
        changes = ContactUpdate(
            full_name=full_name,
            emails=emails,
            phones=phones,
            company=company,
            title=title,
            website=website,
            address=address,
            notes=notes,
            tags=tags,
            source=source,
            referred_by=referred_by,
            met_at=met_at,
            stage=stage,
            custom=custom,
            owner=owner,
        )
        async with unit(ctx, write=True) as (session, scope):
            return await contacts.update_contact(session, scope, contact_id=contact_id, changes=changes)

    @server.tool(annotations=DESTRUCTIVE)
    async def delete_contact(
        ctx: Context[Any, Any],
        contact_id: ContactId,
        approval: Annotated[ElicitationResult[Approval], Resolve(approve_delete)],
        confirm: Annotated[
            bool,
            Field(
                description="Set true only after the user said yes to this delete. Needed when the server "
                "cannot ask the user itself; when it can, it asks them directly."
            ),
        ] = False,
        erase: Annotated[
            bool,
            Field(
                description="true: erase the contact and its whole history for good (a data-protection "
                "request); also works on a contact deleted earlier. false (default): a delete that "
                "restore_contact can undo."
            ),
        ] = False,
    ) -> DeleteResult:
        """Delete a contact: it disappears from every tool and its pending follow-ups are cancelled.

        restore_contact brings it back for 30 days (the default retention). erase=true removes it and its
        whole history for good instead. The user is asked to confirm: directly when this client supports
        it, otherwise ask them yourself and pass confirm=true.
        """
        if not (isinstance(approval, AcceptedElicitation) and approval.data.approve):
            return DeleteResult(
                deleted=False,
                contact_id=contact_id,
                full_name=None,
                note="The user did not confirm; nothing was deleted. Do not retry unless they ask again.",
            )
        async with unit(ctx, write=True) as (session, scope):
            return await privacy.delete_contact(session, scope, contact_id=contact_id, erase=erase)

    @server.tool(annotations=READ_ONLY)
    async def search_contacts(
        ctx: Context[Any, Any],
        query: Annotated[
            str | None,
            Field(
                description="Plain words: a name, company, email, domain (fintech.io) or phone number. "
                "Every word must match (word starts count).",
                max_length=500,
            ),
        ] = None,
        stage: Annotated[Stage | None, Field(description="Only contacts at this stage.")] = None,
        tag: Annotated[str | None, Field(description="Only contacts with this tag.", max_length=100)] = None,
        source: Annotated[Source | None, Field(description="Only contacts from this source.")] = None,
        owner: Annotated[
            str | None,
            Field(
                description="Only contacts owned by this user: 'me' (mine), a teammate's email or user id.",
                max_length=320,
            ),
        ] = None,
        limit: Annotated[int, Field(description="Page size, 1 to 200.", ge=1, le=200)] = 20,
        cursor: Annotated[
            str | None, Field(description="next_cursor from the previous page.", max_length=500)
        ] = None,
    ) -> ContactPage:
        """Find contacts by name, company, title, email, domain, phone or notes, newest first.

        Returns compact summaries; call get_contact for the full record. With no query it lists
        contacts (optionally filtered by stage, tag, source or owner: owner='me' lists mine).
        """
        async with unit(ctx, write=False) as (session, scope):
            return await contacts.search_contacts(
                session,
                scope,
                query=query,
                stage=stage,
                tag=tag,
                source=source,
                owner=owner,
                limit=limit,
                cursor=cursor,
            )

    @server.tool(annotations=WRITE)
    async def log_interaction(
        ctx: Context[Any, Any],
        contact_id: ContactId,
        kind: Annotated[InteractionKind, Field(description="What kind of touch it was.")],
        summary: Annotated[
            str, Field(description="What happened, in a sentence or two.", min_length=1, max_length=20_000)
        ],
        direction: Annotated[
            Direction, Field(description="outbound: you reached out; inbound: they reached you.")
        ] = Direction.OUTBOUND,
        occurred_at: Annotated[
            str | None,
            Field(
                description="When (ISO date or date-time); default now. Past dates are fine.", max_length=40
            ),
        ] = None,
    ) -> InteractionResult:
        """Record a touch with a contact: a call, email, meeting, message or note.

        The first outbound touch sets first_response_at (speed-to-lead). To plan a future touch,
        use schedule_followup instead.
        """
        async with unit(ctx, write=True) as (session, scope):
            return await interactions.log_interaction(
                session,
                scope,
                contact_id=contact_id,
                kind=kind,
                summary=summary,
                direction=direction,
                occurred_at=occurred_at,
            )
