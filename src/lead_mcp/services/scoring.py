"""Lead scoring: a 0-100 score with its reasons, recomputed whenever a fact about the lead changes.

The score is the sum of the points in :data:`WEIGHTS` (maxima add up to 100);
a lost lead scores 0. It is stored on ``contacts.score``, where the due list
uses it to break ties, and recomputed on every change of the facts it reads:
touches (log_interaction, complete_followup), stage and BANT (qualify_lead,
update_contact), and new details (add_contact, merges, update_contact).
Recency is measured at that moment, so a lead that goes quiet keeps its
score until something about it changes; qualify_lead always recomputes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, case, func, literal, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import utc
from lead_mcp.db.tables import ContactRow, InteractionRow, UTCDateTime
from lead_mcp.domain import ScoreReason
from lead_mcp.services import normalize
from lead_mcp.services.scope import Scope


@dataclass(frozen=True)
class Weight:
    """One scoring factor: its group, the most it gives, and what it rewards."""

    group: str
    points: int
    rewards: str


WEIGHTS: dict[str, Weight] = {
    # fit: is this someone who can buy? (25)
    "title_seniority": Weight(
        "fit",
        12,
        "Executive title 12 (founder, owner, C-level, president, partner, "
        "managing director); senior 9 (VP, director, head); manager or lead 6; other 2.",
    ),
    "company": Weight("fit", 4, "A company is stored."),
    "business_email": Weight("fit", 4, "An email on a company domain (not a free mail provider)."),
    "referred": Weight(
        "fit", 5, "Came through a referral (referred_by set, or source referral): a warm intro."
    ),
    # behaviour: did they raise their hand? (30)
    "replied": Weight(
        "behaviour", 12, "Wrote back after our first outbound touch (a card-form post is not a reply)."
    ),
    "form_post": Weight(
        "behaviour", 8, "Left their details on your card page's form (source card_form, or a later post)."
    ),
    "meeting": Weight(
        "behaviour", 6, "A meeting was held or booked (a meeting touch, or opportunity stage)."
    ),
    "card_views": Weight("behaviour", 4, "Opened or saved your card (inbound card_shared touches)."),
    # recency: how fresh is their last engagement? (15)
    "engagement_recency": Weight(
        "recency", 15, "Their last inbound touch (or form post): within 7 days 15, 30 days 8, 90 days 3."
    ),
    # BANT: how qualified is the opportunity? (20)
    "budget": Weight("bant", 5, "Budget is known."),
    "authority": Weight("bant", 5, "Authority (who decides) is known."),
    "need": Weight("bant", 5, "The need is known."),
    "timeline": Weight("bant", 5, "The timeline is known."),
    # stage: how far along the funnel? (10)
    "stage": Weight("stage", 10, "mql 3, sql 6, opportunity or customer 10; a lost lead scores 0 overall."),
}
"""The scoring weights, the one place they are defined. Maxima add up to 100."""

TITLE_TIERS: tuple[tuple[int, str, frozenset[str]], ...] = (
    (
        12,
        "executive",
        frozenset(
            {
                "ceo",
                "cto",
                "cfo",
                "coo",
                "cmo",
                "cio",
                "cro",
                "cpo",
                "cso",
                "chief",
                "founder",
                "cofounder",
                "owner",
                "president",
                "partner",
                "managing director",
                "general manager",
                "geschaftsfuhrer",
                "inhaber",
                "proprietor",
                "principal",
            }
        ),
    ),
    (9, "senior", frozenset({"vp", "svp", "evp", "vice president", "director", "head"})),
    (6, "manager", frozenset({"manager", "lead", "leiter", "leiterin", "supervisor", "senior"})),
)
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.de",
        "yahoo.fr",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.de",
        "hotmail.fr",
        "outlook.com",
        "outlook.de",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "t-online.de",
        "freenet.de",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "yandex.ru",
        "yandex.com",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "btinternet.com",
        "comcast.net",
        "verizon.net",
    }
)
RECENCY_BANDS = ((7, 15), (30, 8), (90, 3))
STAGE_POINTS = {"mql": 3, "sql": 6, "opportunity": 10, "customer": 10}

assert sum(w.points for w in WEIGHTS.values()) == 100, "the weights must add up to 100"


@dataclass(frozen=True)
class Behaviour:
    """What a contact's touches say about them."""

    replied: bool
    meetings: int
    card_views: int
    last_inbound_at: datetime | None
    form_posts: int = 0


def is_form_post() -> ColumnElement[bool]:
    """A touch that is a card-form post: it scores as form_post, never as a reply.

    The issue's cadence rule: a form post or a scan starts the cadence; it is not a reply.
    """
    return func.coalesce(InteractionRow.data["source"].as_string(), "") == "card_form"


@functools.cache
def _behaviour_statement(answered: bool) -> Select[Any]:
    """The behaviour aggregate, built once (with a reply column when we have reached out).

    Building its sums, cases and comparisons cost more than running it; the contact and
    the first response are bound per call.
    """
    inbound = InteractionRow.direction == "inbound"
    replied: ColumnElement[Any] = literal(0)
    if answered:
        after_ours = InteractionRow.occurred_at > bindparam("first_response_at")
        answer = inbound & after_ours & ~is_form_post()
        replied = func.max(case((answer, 1), else_=0))
    return select(
        func.sum(case((InteractionRow.kind == "meeting", 1), else_=0)),
        func.sum(case((inbound & (InteractionRow.kind == "card_shared"), 1), else_=0)),
        type_coerce(func.max(case((inbound, InteractionRow.occurred_at))), UTCDateTime()),
        replied,
        func.sum(case((inbound & is_form_post(), 1), else_=0)),
    ).where(InteractionRow.contact_id == bindparam("contact_id"))


async def behaviour_of(session: AsyncSession, row: ContactRow) -> Behaviour:
    """Read the behaviour facts from the contact's touches (one indexed aggregate query)."""
    answered = row.first_response_at is not None
    params: dict[str, Any] = {"contact_id": row.id}
    if answered:
        params["first_response_at"] = row.first_response_at
    meetings, card_views, last_inbound, has_replied, form_posts = (
        await session.execute(_behaviour_statement(answered), params)
    ).one()
    return Behaviour(
        replied=bool(has_replied),
        meetings=int(meetings or 0),
        card_views=int(card_views or 0),
        last_inbound_at=last_inbound,
        form_posts=int(form_posts or 0),
    )


def title_tier(title: str | None) -> tuple[int, str]:
    """Points and tier name for a job title."""
    if not title:
        return 0, "none"
    folded = f" {normalize.fold(title)} "
    compact = folded.replace("co founder", "cofounder").replace("vice president", "vp")
    for points, name, words in TITLE_TIERS:
        if any(f" {word} " in compact for word in words):
            return points, name
    return 2, "other"


def _business_domain(emails: list[str]) -> str | None:
    for email in emails:
        domain = email.rsplit("@", 1)[-1].lower()
        if domain and domain not in FREE_MAIL_DOMAINS:
            return domain
    return None


def _reason(factor: str, points: int, detail: str) -> ScoreReason:
    weight = WEIGHTS[factor]
    return ScoreReason(
        factor=factor, group=weight.group, points=points, max_points=weight.points, detail=detail
    )


def compute(row: ContactRow, behaviour: Behaviour, now: datetime) -> tuple[int, list[ScoreReason]]:
    """The score and its reasons for a contact, from its fields and behaviour (pure)."""
    reasons: list[ScoreReason] = []
    points, tier = title_tier(row.title)
    reasons.append(
        _reason(
            "title_seniority", points, f"title '{row.title}' ({tier})" if row.title else "no title stored"
        )
    )
    reasons.append(
        _reason("company", 4, f"works at {row.company}")
        if row.company
        else _reason("company", 0, "no company stored")
    )
    domain = _business_domain(list(row.emails))
    if domain:
        reasons.append(_reason("business_email", 4, f"email on company domain {domain}"))
    else:
        reasons.append(
            _reason("business_email", 0, "only free-mail addresses" if row.emails else "no email stored")
        )
    if row.referred_by_id or row.source == "referral":
        reasons.append(
            _reason("referred", 5, "referred by a contact" if row.referred_by_id else "source referral")
        )
    else:
        reasons.append(_reason("referred", 0, "not referred"))

    reasons.append(
        _reason("replied", 12, "replied after our first touch")
        if behaviour.replied
        else _reason("replied", 0, "no reply after our first touch yet")
    )
    if behaviour.form_posts or row.source == "card_form":
        posts = max(behaviour.form_posts, 1)
        detail = "left details on your card page" + (f" ({posts} times)" if posts > 1 else "")
        reasons.append(_reason("form_post", 8, detail))
    else:
        reasons.append(_reason("form_post", 0, "did not come through the card form"))
    met = behaviour.meetings > 0 or row.stage in ("opportunity", "customer")
    reasons.append(
        _reason(
            "meeting",
            6,
            f"{behaviour.meetings} meeting touch(es)" if behaviour.meetings else "meeting booked",
        )
        if met
        else _reason("meeting", 0, "no meeting yet")
    )
    reasons.append(
        _reason("card_views", 4, f"{behaviour.card_views} card view(s)")
        if behaviour.card_views
        else _reason("card_views", 0, "no card views recorded")
    )

    engaged = behaviour.last_inbound_at
    if row.source == "card_form" and (engaged is None or row.created_at > engaged):
        engaged = row.created_at
    if engaged is None:
        reasons.append(_reason("engagement_recency", 0, "they have not reached out yet"))
    else:
        age = (utc(now) - utc(engaged)) / timedelta(days=1)
        recency = next((pts for days, pts in RECENCY_BANDS if age <= days), 0)
        reasons.append(_reason("engagement_recency", recency, f"last engaged {max(int(age), 0)} day(s) ago"))

    for factor in ("budget", "authority", "need", "timeline"):
        value = getattr(row, factor)
        reasons.append(
            _reason(factor, 5, f"{factor}: {value}")
            if value
            else _reason(factor, 0, f"{factor} unknown: ask")
        )
    stage_points = STAGE_POINTS.get(row.stage, 0)
    reasons.append(_reason("stage", stage_points, f"stage {row.stage}"))

    total = min(sum(r.points for r in reasons), 100)
    if row.stage == "lost":
        total = 0
        reasons.append(
            ScoreReason(
                factor="lost", group="stage", points=0, max_points=0, detail="lead is lost: score set to 0"
            )
        )
    reasons.sort(key=lambda r: (-r.points, list(WEIGHTS).index(r.factor) if r.factor in WEIGHTS else 99))
    return total, reasons


async def behaviours_of(session: AsyncSession, rows: list[ContactRow]) -> dict[str, Behaviour]:
    """Behaviour facts of many contacts, one grouped query per 500 (contacts without touches left out)."""
    inbound = InteractionRow.direction == "inbound"
    replied = InteractionRow.occurred_at > ContactRow.first_response_at  # NULL (never) before a first touch
    found: dict[str, Behaviour] = {}
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 500):
        result = await session.execute(
            select(
                InteractionRow.contact_id,
                func.sum(case((InteractionRow.kind == "meeting", 1), else_=0)),
                func.sum(case((inbound & (InteractionRow.kind == "card_shared"), 1), else_=0)),
                type_coerce(func.max(case((inbound, InteractionRow.occurred_at))), UTCDateTime()),
                func.max(case((inbound & replied & ~is_form_post(), 1), else_=0)),
                func.sum(case((inbound & is_form_post(), 1), else_=0)),
            )
            .join(ContactRow, ContactRow.id == InteractionRow.contact_id)
            .where(InteractionRow.contact_id.in_(ids[start : start + 500]))
            .group_by(InteractionRow.contact_id)
        )
        for contact_id, meetings, card_views, last_inbound, has_replied, form_posts in result:
            found[contact_id] = Behaviour(
                replied=bool(has_replied),
                meetings=int(meetings or 0),
                card_views=int(card_views or 0),
                last_inbound_at=last_inbound,
                form_posts=int(form_posts or 0),
            )
    return found


async def rescore_many(session: AsyncSession, scope: Scope, rows: list[ContactRow]) -> None:
    """Recompute and store the scores of many contacts (bulk changes)."""
    await session.flush()
    behaviours = await behaviours_of(session, rows)
    now = scope.now()
    for row in rows:
        total, _ = compute(row, behaviours.get(row.id, NO_BEHAVIOUR), now)
        if row.score != total:
            row.score = total


NO_BEHAVIOUR = Behaviour(replied=False, meetings=0, card_views=0, last_inbound_at=None)


def initial_score(row: ContactRow, now: datetime) -> int:
    """The score of a contact that has no touches yet (a new one)."""
    return compute(row, NO_BEHAVIOUR, now)[0]


async def score_contact(
    session: AsyncSession, scope: Scope, row: ContactRow
) -> tuple[int, list[ScoreReason]]:
    """Recompute a contact's score now, store it, and return it with the reasons."""
    behaviour = await behaviour_of(session, row)
    total, reasons = compute(row, behaviour, scope.now())
    if row.score != total:
        row.score = total
    return total, reasons


async def rescore(session: AsyncSession, scope: Scope, row: ContactRow) -> int:
    """Recompute and store a contact's score after its facts changed."""
    await session.flush()
    total, _ = await score_contact(session, scope, row)
    return total
