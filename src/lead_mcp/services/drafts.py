"""Drafted follow-up notes: short, personal, deterministic, and built only from stored facts.

A draft is assembled from the sentences in :data:`TEMPLATES` (one set per tone)
whose facts are stored: where you met, who referred them, what they asked
about, the last touch, the cadence step, the meeting, the referred lead. A
sentence whose fact is missing is left out rather than guessed, and the fact is
listed in ``missing`` so the assistant can ask the user. Every value that goes
into the text is returned in ``facts`` with where it is stored, so the
assistant can check and polish the note in the user's voice. The note is kept
on the contact's pending follow-up (one due now is created when there is none).

Only the lead's own words are ever quoted back to them: the message they sent
through the card page's form. Every other touch summary (an inbound email or
call the user logged, the outcome of a follow-up) is the user's own note, and
may be private ("Internal: ..."), so a draft never repeats it.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import utc
from lead_mcp.db.tables import ContactRow, FollowUpRow, InteractionRow, ReferralMilestone
from lead_mcp.domain import Draft, DraftFact, FollowUpPurpose, Tone
from lead_mcp.errors import InvalidInput
from lead_mcp.services import cadences
from lead_mcp.services import followups as followup_service
from lead_mcp.services.cards import NO_MESSAGE_SUMMARY
from lead_mcp.services.records import followup_model, load_contact, record_change
from lead_mcp.services.scope import Scope

RECENT_TOUCHES = 50
MAX_QUOTE = 160

TOUCH_PHRASES = {
    "email": "my email",
    "call": "our call",
    "meeting": "our meeting",
    "message": "my message",
    "card_shared": "the card I shared",
}

TEMPLATES: dict[Tone, dict[str, str]] = {
    Tone.FRIENDLY: {
        "greeting": "Hi {name},",
        "greeting_plain": "Hi,",
        "open_met_referred": "It was great to meet you at {met_at}, and thanks to {referrer} "
        "for introducing us.",
        "open_met": "It was great to meet you at {met_at}.",
        "open_referred": "{referrer} suggested I get in touch with you.",
        "open_form": "Thank you for leaving your details on my card page.",
        "open_scan": "Thank you for giving me your card.",
        "open_plain": "I wanted to get in touch.",
        "need": "You mentioned {need}, and I would be glad to help with that.",
        "asked": 'Thanks for your message ("{asked}"); I would be glad to help with that.',
        "interest": "I would love to hear what you are working on and whether I can help.",
        "ask_call": "Would you have time for a short call this week or next?",
        "later_open": "I am following up on {last_touch} ({last_touch_date}).",
        "later_met": "I am following up on {last_touch} ({last_touch_date}) after we met at {met_at}.",
        "later_need": "I would still be glad to help with {need}.",
        "later_plain": "I would still be glad to help if the timing is right.",
        "last_step": "I do not want to crowd your inbox, so this is my last note for now; "
        "just reply whenever the timing suits you.",
        "reply_open": "Thanks for getting back to me.",
        "reply_asked": 'Thanks for getting back to me ("{asked}").',
        "reply_ask": "Shall we find a time to talk about the next steps?",
        "prep_dated": "I am looking forward to our meeting on {meeting_date}.",
        "prep_open": "I am looking forward to our meeting.",
        "prep_need": "I will come prepared to talk about {need}; is there anything else "
        "you would like to cover?",
        "prep_plain": "Is there anything specific you would like us to cover?",
        "thanks_open": "Thank you for introducing me to {lead}.",
        "thanks_meeting": "We have booked a meeting, and I really appreciate you thinking of me.",
        "thanks_customer": "{lead} is now a customer, and I really appreciate you thinking of me.",
        "nurture_open": "I wanted to check in and see whether the timing is better now.",
        "signoff": "Best,",
        "subject_met": "Great to meet you at {met_at}",
        "subject_referred": "{referrer} suggested we connect",
        "subject_form": "Thanks for getting in touch",
        "subject_first": "Getting in touch",
        "subject_later": "Following up",
        "subject_last": "Closing the loop",
        "subject_reply": "Next steps",
        "subject_prep": "Our meeting",
        "subject_thanks": "Thank you for the introduction",
        "subject_nurture": "Checking in",
    },
    Tone.PROFESSIONAL: {
        "greeting": "Dear {full_name},",
        "greeting_plain": "Hello,",
        "open_met_referred": "It was a pleasure to meet you at {met_at}, and I am grateful to {referrer} "
        "for the introduction.",
        "open_met": "It was a pleasure to meet you at {met_at}.",
        "open_referred": "{referrer} kindly suggested that I contact you.",
        "open_form": "Thank you for leaving your details on my card page.",
        "open_scan": "Thank you for your card.",
        "open_plain": "I am writing to introduce myself.",
        "need": "You mentioned {need}, and I would be pleased to support you with it.",
        "asked": 'Thank you for your message ("{asked}"); I would be pleased to help.',
        "interest": "I would welcome the opportunity to learn about your priorities and how I might help.",
        "ask_call": "Would you be available for a short call in the coming days?",
        "later_open": "I am following up on {last_touch} ({last_touch_date}).",
        "later_met": "I am following up on {last_touch} ({last_touch_date}) after we met at {met_at}.",
        "later_need": "I would still be pleased to support you with {need}.",
        "later_plain": "I would still be pleased to help should the timing be right.",
        "last_step": "As I do not wish to crowd your inbox, this will be my last note for now; "
        "please reply whenever the timing suits you.",
        "reply_open": "Thank you for your reply.",
        "reply_asked": 'Thank you for your reply ("{asked}").',
        "reply_ask": "Would you be available for a call to agree on the next steps?",
        "prep_dated": "I look forward to our meeting on {meeting_date}.",
        "prep_open": "I look forward to our meeting.",
        "prep_need": "I will be prepared to discuss {need}; please let me know if there is anything else "
        "you would like to cover.",
        "prep_plain": "Please let me know if there is anything specific you would like to cover.",
        "thanks_open": "Thank you very much for introducing me to {lead}.",
        "thanks_meeting": "We have scheduled a meeting, and I am grateful for your recommendation.",
        "thanks_customer": "{lead} is now a customer, and I am grateful for your recommendation.",
        "nurture_open": "I am writing to see whether the timing may be better now.",
        "signoff": "Kind regards,",
        "subject_met": "Following our meeting at {met_at}",
        "subject_referred": "Introduction from {referrer}",
        "subject_form": "Thank you for your enquiry",
        "subject_first": "Introduction",
        "subject_later": "Following up",
        "subject_last": "Closing the loop",
        "subject_reply": "Next steps",
        "subject_prep": "Our upcoming meeting",
        "subject_thanks": "Thank you for the introduction",
        "subject_nurture": "Checking in",
    },
    Tone.BRIEF: {
        "greeting": "Hi {name},",
        "greeting_plain": "Hi,",
        "open_met_referred": "Great meeting you at {met_at}; thanks to {referrer} for the intro.",
        "open_met": "Great meeting you at {met_at}.",
        "open_referred": "{referrer} suggested we talk.",
        "open_form": "Thanks for your note on my card page.",
        "open_scan": "Thanks for your card.",
        "open_plain": "Quick hello.",
        "need": "Happy to help with {need}.",
        "asked": 'Re your message ("{asked}"): happy to help.',
        "interest": "Happy to help if I can.",
        "ask_call": "Call this week?",
        "later_open": "Following up on {last_touch} ({last_touch_date}).",
        "later_met": "Following up on {last_touch} ({last_touch_date}) after {met_at}.",
        "later_need": "Still happy to help with {need}.",
        "later_plain": "Still happy to help.",
        "last_step": "Last note from me for now; reply any time.",
        "reply_open": "Thanks for getting back to me.",
        "reply_asked": 'Thanks for your reply ("{asked}").',
        "reply_ask": "Time to talk next steps?",
        "prep_dated": "See you on {meeting_date}.",
        "prep_open": "Looking forward to our meeting.",
        "prep_need": "I will bring ideas on {need}; anything else to cover?",
        "prep_plain": "Anything you want to cover?",
        "thanks_open": "Thanks for introducing me to {lead}.",
        "thanks_meeting": "We have a meeting booked; much appreciated.",
        "thanks_customer": "{lead} is now a customer; much appreciated.",
        "nurture_open": "Checking in: is the timing better now?",
        "signoff": "Best,",
        "subject_met": "{met_at}",
        "subject_referred": "Intro via {referrer}",
        "subject_form": "Your note",
        "subject_first": "Hello",
        "subject_later": "Following up",
        "subject_last": "Closing the loop",
        "subject_reply": "Next steps",
        "subject_prep": "Our meeting",
        "subject_thanks": "Thanks for the intro",
        "subject_nurture": "Checking in",
    },
}
"""Every sentence a draft can contain, per tone; ``{fact}`` slots are filled with stored values only."""


def template_words() -> frozenset[str]:
    """Every word the templates themselves contribute (tests check drafts use nothing else but facts)."""
    words: set[str] = set()
    for sentences in TEMPLATES.values():
        for sentence in sentences.values():
            literal = "".join(part for part, *_ in string.Formatter().parse(sentence))
            words.update(_words(literal))
    for phrase in TOUCH_PHRASES.values():
        words.update(_words(phrase))
    return frozenset(words)


def _words(text: str) -> list[str]:
    return "".join(ch if ch.isalnum() else " " for ch in text.lower()).split()


@dataclass
class _Facts:
    """Facts found for a draft, each with where it is stored."""

    values: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    asked_is_latest: bool = False  # their quoted message is also their latest inbound touch

    def put(self, name: str, value: str | None, source: str) -> None:
        if value:
            self.values[name] = value
            self.sources[name] = source

    def has(self, *names: str) -> bool:
        return all(name in self.values for name in names)


def their_own_words(touch: InteractionRow) -> str | None:
    """The lead's own words in a touch (a card-form message), or None when the summary is the user's."""
    data = touch.data or {}
    if touch.direction != "inbound" or data.get("source") != "card_form":
        return None
    verbatim = data.get("verbatim")
    if verbatim is None:  # stored before the flag: only a real message is theirs
        verbatim = touch.summary != NO_MESSAGE_SUMMARY
    return touch.summary if verbatim and touch.summary.strip() else None


def _quote(text: str) -> str:
    flat = " ".join(text.replace('"', "'").split())
    return flat if len(flat) <= MAX_QUOTE else flat[: MAX_QUOTE - 1].rstrip() + "…"


def _day(scope: Scope, when: datetime) -> str:
    local = utc(when).astimezone(scope.zone)
    return f"{local.strftime('%A')} {local.day} {local.strftime('%B')}"


async def _pending(session: AsyncSession, contact_id: str, followup_id: str | None) -> FollowUpRow | None:
    if followup_id is not None:
        followup = await followup_service.load_followup(session, followup_id)
        if followup.contact_id != contact_id or followup.status != "pending":
            raise InvalidInput(
                "followup_id",
                f"follow-up {followup.id} is not a pending follow-up of this contact",
                "Leave it out to use the contact's next pending follow-up",
            )
        return followup
    return (
        (
            await session.execute(
                select(FollowUpRow)
                .where(FollowUpRow.contact_id == contact_id, FollowUpRow.status == followup_service.PENDING)
                .order_by(FollowUpRow.due_at, FollowUpRow.id)
                .limit(1)
            )
        )
        .scalars()
        .first()
    )


async def _gather(
    session: AsyncSession, scope: Scope, row: ContactRow, followup: FollowUpRow | None
) -> tuple[_Facts, list[InteractionRow]]:
    facts = _Facts()
    facts.put(
        "name",
        row.given_name or row.full_name,
        "contact.given_name" if row.given_name else "contact.full_name",
    )
    facts.put("full_name", row.full_name, "contact.full_name")
    facts.put("met_at", row.met_at, "contact.met_at")
    facts.put("source", row.source, "contact.source")
    facts.put("need", row.need, "contact.need")
    if row.referred_by_id:
        referrer = (
            await session.execute(
                select(ContactRow).where(ContactRow.id == row.referred_by_id, ContactRow.deleted_at.is_(None))
            )
        ).scalar_one_or_none()
        if referrer is not None:
            facts.put("referrer", referrer.full_name, f"contact {referrer.id} (referred_by)")
    touches = list(
        (
            await session.execute(
                select(InteractionRow)
                .where(InteractionRow.contact_id == row.id)
                .order_by(InteractionRow.occurred_at.desc(), InteractionRow.id)
                .limit(RECENT_TOUCHES)
            )
        )
        .scalars()
        .all()
    )
    inbound = [t for t in touches if t.direction == "inbound" and t.kind != "note"]
    quoted = next((t for t in inbound if their_own_words(t)), None)
    if quoted is not None:
        facts.put("asked", _quote(quoted.summary), f"interaction {quoted.id} (their message, card form)")
        facts.asked_is_latest = quoted is inbound[0]
    outbound = next((t for t in touches if t.direction == "outbound" and t.kind in TOUCH_PHRASES), None)
    if outbound is not None:
        facts.put("last_touch", TOUCH_PHRASES[outbound.kind], f"interaction {outbound.id} ({outbound.kind})")
        facts.put(
            "last_touch_date", _day(scope, outbound.occurred_at), f"interaction {outbound.id} occurred_at"
        )
    meeting = next((t for t in touches if (t.data or {}).get("meeting_at")), None)
    if meeting is not None:
        when = datetime.fromisoformat(str((meeting.data or {})["meeting_at"]))
        if when >= scope.now():
            facts.put("meeting_date", _day(scope, when), f"interaction {meeting.id} (meeting booked)")
    if followup is not None and followup.purpose == FollowUpPurpose.THANK_REFERRER.value:
        milestone = (
            (
                await session.execute(
                    select(ReferralMilestone).where(ReferralMilestone.followup_id == followup.id)
                )
            )
            .scalars()
            .first()
        )
        if milestone is not None:
            lead = (
                await session.execute(
                    select(ContactRow).where(
                        ContactRow.id == milestone.contact_id, ContactRow.deleted_at.is_(None)
                    )
                )
            ).scalar_one_or_none()
            if lead is not None:
                facts.put("lead", lead.full_name, f"contact {lead.id} (referred by this contact)")
                facts.put("milestone", milestone.milestone, "referral milestone")
    return facts, touches


def _render(sentence: str, facts: _Facts, used: set[str]) -> str:
    names = [name for _, name, *_ in string.Formatter().parse(sentence) if name]
    used.update(names)
    return sentence.format(**{name: facts.values[name] for name in names})


def _compose(tone: Tone, facts: _Facts, *, kind: str, last_step: bool) -> tuple[str, str, set[str]]:
    """Pick the sentences whose facts are stored; returns (subject, text, facts used)."""
    t = TEMPLATES[tone]
    used: set[str] = set()
    picks: list[str] = []
    subject = "subject_later"

    def pick(key: str) -> None:
        picks.append(key)

    if kind == "thanks" and facts.has("lead"):
        pick("thanks_open")
        pick("thanks_customer" if facts.values.get("milestone") == "customer" else "thanks_meeting")
        subject = "subject_thanks"
    elif kind == "reply":
        # Quote them only when the reply itself is their message; else the reply is the user's summary.
        pick("reply_asked" if facts.has("asked") and facts.asked_is_latest else "reply_open")
        pick("reply_ask")
        subject = "subject_reply"
    elif kind == "prep":
        pick("prep_dated" if facts.has("meeting_date") else "prep_open")
        pick("prep_need" if facts.has("need") else "prep_plain")
        subject = "subject_prep"
    elif kind == "nurture":
        pick("nurture_open")
        pick("later_need" if facts.has("need") else "interest")
        pick("ask_call")
        subject = "subject_nurture"
    elif kind == "first":
        if facts.has("met_at", "referrer"):
            pick("open_met_referred")
            subject = "subject_met"
        elif facts.has("met_at"):
            pick("open_met")
            subject = "subject_met"
        elif facts.has("referrer"):
            pick("open_referred")
            subject = "subject_referred"
        elif facts.values.get("source") == "card_form":
            pick("open_form")
            subject = "subject_form"
        elif facts.values.get("source") == "card_scan":
            pick("open_scan")
            subject = "subject_first"
        else:
            pick("open_plain")
            subject = "subject_first"
        if facts.has("need"):
            pick("need")
        elif facts.has("asked"):
            pick("asked")
        else:
            pick("interest")
        pick("ask_call")
    else:  # a later touch
        if facts.has("last_touch", "met_at"):
            pick("later_met")
        elif facts.has("last_touch"):
            pick("later_open")
        elif facts.has("met_at"):
            pick("open_met")
        pick("later_need" if facts.has("need") else "later_plain")
        if last_step:
            pick("last_step")
            subject = "subject_last"
        else:
            pick("ask_call")

    if tone is Tone.PROFESSIONAL:
        greeting = "greeting" if facts.has("full_name") else "greeting_plain"
    else:
        greeting = "greeting" if facts.has("name") else "greeting_plain"
    body = " ".join(_render(t[key], facts, used) for key in picks)
    text = f"{_render(t[greeting], facts, used)}\n\n{body}\n\n{t['signoff']}"
    if subject in ("subject_met",) and not facts.has("met_at"):
        subject = "subject_first"
    return _render(t[subject], facts, used), text, used


def _missing(facts: _Facts, kind: str, row: ContactRow) -> list[str]:
    missing = []
    if kind == "first" and not facts.has("met_at"):
        missing.append("met_at: where you met is not stored (update_contact met_at)")
    if row.source == "referral" and not facts.has("referrer"):
        missing.append("referred_by: who referred them is not stored (update_contact referred_by)")
    if not facts.has("need") and kind in ("first", "later", "prep", "nurture"):
        missing.append("need: what they need is not stored (qualify_lead need)")
    if not facts.has("name"):
        missing.append("name: their name is not stored")
    if kind == "thanks" and not facts.has("lead"):
        missing.append("lead: which referred lead to thank them for is not stored")
    missing.append("signature: the note has no sign-off name; add the user's own")
    return missing


async def draft_followup(
    session: AsyncSession,
    scope: Scope,
    *,
    contact_id: str,
    tone: Tone = Tone.FRIENDLY,
    followup_id: str | None = None,
) -> Draft:
    """Draft a short follow-up note from the contact's history and store it on the pending follow-up."""
    row = await load_contact(session, contact_id)
    followup = await _pending(session, row.id, followup_id)
    facts, _touches = await _gather(session, scope, row, followup)
    purpose = FollowUpPurpose(followup.purpose) if followup is not None else FollowUpPurpose.MANUAL
    first_touch = row.first_response_at is None
    kind = {
        FollowUpPurpose.THANK_REFERRER: "thanks",
        FollowUpPurpose.REPLY: "reply",
        FollowUpPurpose.MEETING_PREP: "prep",
        FollowUpPurpose.NURTURE: "nurture",
    }.get(purpose, "first" if first_touch else "later")
    last_step = False
    if followup is not None and kind == "later" and purpose is FollowUpPurpose.CADENCE:
        steps = await cadences.steps_of(session, followup.cadence)
        last_step = len(steps) > 1 and followup.step >= len(steps)
        facts.put(
            "step",
            f"{followup.step} of {len(steps)}",
            f"follow-up {followup.id} ({followup.cadence} cadence)",
        )
    subject, text, used = _compose(tone, facts, kind=kind, last_step=last_step)

    if followup is None:
        followup = followup_service.new_followup(
            scope, row, due_at=scope.now(), note=None, step=1, cadence=followup_service.MANUAL_CADENCE_NAME
        )
        session.add(followup)
        await session.flush()
    previous = followup.note
    followup.note = text
    followup.updated_at = scope.now()
    detail: dict[str, Any] = {"followup_id": followup.id, "tone": tone.value, "previous_note": previous}
    record_change(session, scope, row.id, "drafted", detail)
    await session.flush()
    await followup_service.refresh_next_followup(session, row)
    shown = [name for name in facts.values if name in used or name in ("source", "step")]
    return Draft(
        contact_id=row.id,
        followup=followup_model(followup),
        tone=tone,
        first_touch=first_touch,
        subject=subject,
        text=text,
        facts=[DraftFact(name=n, value=facts.values[n], source=facts.sources[n]) for n in shown],
        missing=_missing(facts, kind, row),
    )
