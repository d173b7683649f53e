"""Prompts the user picks from a menu: each one walks the assistant through the right tool calls.

``follow_up_email`` writes one follow-up from the stored facts, ``process_scanned_cards``
captures a stack of business cards, ``weekly_review`` runs the weekly pipeline review.
The messages name the tools in order, say what to read from each result, and
keep the user in charge of anything that changes data.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from lead_mcp.domain import Contact, Stage
from lead_mcp.mcp.unit import resolve_scope, unit
from lead_mcp.services import contacts
from lead_mcp.services.connector import title_of

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


async def find_contact(ctx: Context[Any, Any], text: str) -> Contact | None:
    """The contact a prompt argument names: an id, "Name (id)" as completion offers it, or one name."""
    wanted = text.strip()
    if not wanted:
        return None
    try:
        async with unit(ctx, write=False) as (session, scope):
            found = _UUID.search(wanted)
            if found:
                contact_id = found.group(0).lower()
            else:
                page = await contacts.search_contacts(session, scope, query=wanted, limit=2)
                if len(page.items) != 1:
                    return None
                contact_id = page.items[0].id
            return (await contacts.get_contact(session, scope, contact_id=contact_id)).contact
    except ToolError:  # not found: the prompt still renders and tells the assistant to search
        return None


def _facts(contact: Contact) -> str:
    facts = [f"stage {contact.stage.value}, score {contact.score}"]
    if contact.met_at:
        facts.append(f"met at {contact.met_at}")
    if contact.last_touch_at:
        facts.append(f"last touch {contact.last_touch_at:%Y-%m-%d}")
    if contact.next_followup_at:
        facts.append(f"next follow-up due {contact.next_followup_at:%Y-%m-%d}")
    return "; ".join(facts)


def _filters(stage: str, tag: str) -> str:
    parts = []
    if stage.strip():
        parts.append(f'stage="{stage.strip().lower()}"')
    if tag.strip():
        parts.append(f'tag="{tag.strip().lower()}"')
    return ", ".join(parts)


def register(server: MCPServer[Any]) -> None:
    """Add the prompts to a server."""

    @server.prompt(title="Follow-up email")
    async def follow_up_email(
        ctx: Context[Any, Any],
        contact_id: Annotated[
            str, Field(description="The contact: their id, or a name to look up (completion offers both).")
        ],
        tone: Annotated[
            str, Field(description="How it should sound, e.g. 'warm', 'brief', 'formal'.")
        ] = "warm",
    ) -> str:
        """Write a short, personal follow-up email to one lead from what lead-mcp knows about them."""
        contact = await find_contact(ctx, contact_id)
        voice = tone.strip() or "warm"
        if contact is None:
            return (
                f'Help me write a follow-up email to the contact "{contact_id.strip()}".\n\n'
                f'1. Call search_contacts(query="{contact_id.strip()}") to find them; if several match, '
                "ask me "
                "which one I mean, and use that contact's id below.\n" + _email_steps("<their id>", voice)
            )
        return (
            f"Help me write a follow-up email to {title_of(contact)}.\n"
            f"What lead-mcp shows at a glance: {_facts(contact)}.\n\n"
            + _email_steps(contact.id, voice, start=1)
        )

    @server.prompt(title="Process scanned business cards")
    async def process_scanned_cards(
        met_at: Annotated[
            str, Field(description="Where you met these people, e.g. 'Web Summit 2026' (optional).")
        ] = "",
        tag: Annotated[
            str, Field(description="A tag to put on every new lead, e.g. 'websummit' (optional).")
        ] = "",
    ) -> str:
        """Capture a stack of business cards: scan each, check fields, handle duplicates, plan follow-ups."""
        where = f' met_at="{met_at.strip()}",' if met_at.strip() else ""
        tags = f' tags=["{tag.strip().lower()}"],' if tag.strip() else ""
        place = f" from {met_at.strip()}" if met_at.strip() else ""
        return (
            f"I have business cards to add to lead-mcp{place}. If I have not attached photos or named "
            "files yet, "
            "ask me for them first. Then, for each card, one at a time:\n"
            f"1. Call scan_card(image_base64=<the photo>,{where}{tags} save=true) for an attached photo, or "
            f"scan_card(image_path=<the file>,{where}{tags} save=true) for a file in my scan folder.\n"
            "2. Read back the name, title, company, email and phone from `fields`. Ask me about any field "
            "whose "
            "`confidence` is below 0.6, and fix it with update_contact(contact_id=<contact.id>, ...).\n"
            "3. If `created` is false the card matched a contact I already had (`duplicate_of`): tell me "
            "what "
            "was filled in (`merged_fields`) and what differed (`kept_values`). If it is a different person, "
            "call undo_merge(contact_id=<duplicate_of>) to split them apart.\n"
            "4. If I say who introduced us, find the referrer with search_contacts and set "
            "update_contact(contact_id=<contact.id>, referred_by=<their id>).\n"
            "When every card is in, call list_due_followups() (the first touch of each new lead is due "
            "today), "
            "offer to write the first notes with draft_followup(contact_id=...), and sum up: how many new, "
            "how many merged, and which ones need my check."
        )

    @server.prompt(title="Weekly pipeline review")
    async def weekly_review(
        ctx: Context[Any, Any],
        stage: Annotated[str, Field(description="Focus on one stage, e.g. 'sql' (optional).")] = "",
        tag: Annotated[str, Field(description="Focus on leads with this tag (optional).")] = "",
    ) -> str:
        """Weekly review: who is overdue or due, drafts for the top ones, what converted, who referred."""
        today = resolve_scope(ctx).today()
        since = today - timedelta(days=7)
        focus = _filters(stage if stage.strip().lower() in {s.value for s in Stage} else "", tag)
        search_args = focus or 'stage="lead"'
        focused = f" (focus: {focus})" if focus else ""
        return (
            f"Run my weekly lead review for {since.isoformat()} to {today.isoformat()}{focused}. Use the "
            "lead-mcp "
            "tools in this order:\n"
            "1. list_due_followups(within_days=7): overdue first, then due this week; note each item's "
            "`overdue_days`, `step` and `why` (stage, score, last touch).\n"
            "2. For the five most urgent (overdue first, then highest score), call "
            "draft_followup(contact_id=...) "
            "and keep each draft to a few sentences.\n"
            f'3. pipeline_report(since="{since.isoformat()}", until="{today.isoformat()}"): new leads by '
            "source, "
            "speed-to-lead (median, share under 5 minutes), second-touch rate, conversions and top "
            "referrers.\n"
            f"4. search_contacts({search_args}) and pick out leads with no next follow-up "
            "(`next_followup_at` "
            "empty); suggest a date for each.\n"
            "5. Report under these headings: Overdue, Due this week (with the drafts), Wins, Referrers to "
            "thank, "
            "Speed-to-lead and second touches, and three suggested actions.\n"
            "Change nothing until I agree. Then act with complete_followup (after I sent a note), "
            "schedule_followup (new dates), or bulk_update (always a dry run first, then dry_run=false)."
        )


def _email_steps(contact_id: str, tone: str, *, start: int = 2) -> str:
    """The numbered tool calls of the follow-up email prompt."""
    steps = [
        f'Call get_contact(contact_id="{contact_id}") and read how and where we met, who referred them, what '
        "they asked about (notes and touches) and their pending follow-up.",
        f'Call draft_followup(contact_id="{contact_id}") for a draft built from those stored facts; it '
        "lists the "
        "facts it used.",
        f"Rewrite the draft in my voice, {tone}, under 120 words, with one clear next step. Use only facts "
        "from "
        "the two results above; if something important is missing, ask me instead of inventing it. Show me "
        "the "
        "email; do not send anything yourself.",
        "When I say it is sent, call complete_followup(followup_id=<the pending follow-up's id from "
        "get_contact>, "
        'outcome=<what I said>, kind="email"). If there is no pending follow-up, call '
        f'log_interaction(contact_id="{contact_id}", kind="email", summary=<one line about the email>) '
        "instead.",
    ]
    return "\n".join(f"{n}. {text}" for n, text in enumerate(steps, start=start))
