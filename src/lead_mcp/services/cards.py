"""The user's own business card: publish, unpublish, analytics, and the leads its page brings in.

One card per workspace, at ``{public base}/c/{slug}``. Slugs are lower-case
words joined by hyphens, unique across every workspace, and never reused:
every slug a card has had stays in ``card_slugs`` and redirects to the
current one, so a QR code printed last year still reaches the same person and
never a stranger. The public routes read cards in a session without a
workspace (:func:`find_public_card`); everything else is scoped as usual.

Analytics are counters per card and local day. Nothing about a visitor is
stored: no address, no cookie, no user agent.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from lead_mcp.config import Settings
from lead_mcp.db.tables import CardDailyStat, CardRow, CardSlug, FollowUpRow
from lead_mcp.domain import (
    AddContactResult,
    Card,
    CardLink,
    CardLinks,
    CardStats,
    CardStatsDay,
    CardTheme,
    Consent,
    ContactCreate,
    Direction,
    FollowUpStatus,
    InteractionKind,
    PublishCardResult,
    Role,
    Source,
    UnpublishCardResult,
)
from lead_mcp.errors import Conflict, InvalidInput, NotFound
from lead_mcp.services import contacts as contact_service
from lead_mcp.services import followups as followup_service
from lead_mcp.services import interactions as interaction_service
from lead_mcp.services import normalize, phones, scoring, vcard_text
from lead_mcp.services.records import contact_model, dialect_name, followup_model, load_contact
from lead_mcp.services.scope import Scope

SLUG_MIN, SLUG_MAX = 3, 40
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Words a slug may not be: paths this server (or a proxy in front of it) may want, and confusing names.
RESERVED_SLUGS = frozenset(
    """about account accounts admin administrator api app apps assets auth authorize billing blog c callback
    card cards cdn config contact contacts css dashboard default docs download downloads edit export favicon
    health healthz help home images img index js lead leads login logout mail mcp me new nfc null oauth
    official owner pages photo privacy profile public qr register robots root security settings signin signout
    signup sitemap static status support system terms test token undefined user users vcard vcf well-known
    www""".split()  # noqa: SIM905 - a word list reads better as text
)
MAX_BIO = 1000
MAX_LINKS = 6
MAX_LINK_LABEL = 40
MAX_PHOTO_BYTES = 512 * 1024
MAX_FORM_NAME = 200
MAX_FORM_MESSAGE = 2000
MAX_STATS_DAYS = 366
# The summary of a form post without a message: what happened, said for the user, never their words
# (the interaction's data says ``verbatim: false``, so drafts never quote it back to them).
NO_MESSAGE_SUMMARY = "Left their details on your card page (no message)."
PHOTO_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
_KNOWN_LINK_LABELS = {
    "linkedin.com": "LinkedIn",
    "github.com": "GitHub",
    "gitlab.com": "GitLab",
    "x.com": "X",
    "twitter.com": "X",
    "instagram.com": "Instagram",
    "facebook.com": "Facebook",
    "youtube.com": "YouTube",
    "tiktok.com": "TikTok",
    "mastodon.social": "Mastodon",
    "bsky.app": "Bluesky",
    "medium.com": "Medium",
    "substack.com": "Substack",
    "calendly.com": "Book a meeting",
    "cal.com": "Book a meeting",
    "dribbble.com": "Dribbble",
    "behance.net": "Behance",
    "wa.me": "WhatsApp",
    "t.me": "Telegram",
}
# Link-preview fetchers and crawlers: their visits are not people looking at the card.
_BOT_MARKERS = (
    "bot",
    "crawler",
    "spider",
    "slurp",
    "facebookexternalhit",
    "whatsapp",
    "preview",
    "curl/",
    "wget/",
    "python-",
)


class CardEvent(StrEnum):
    """A counted thing that happened on a card's public page."""

    VIEW = "views"
    QR_SCAN = "qr_scans"
    NFC_TAP = "nfc_taps"
    VCARD_DOWNLOAD = "vcard_downloads"
    FORM_SUBMISSION = "form_submissions"
    NEW_LEAD = "new_leads"
    SPAM_BLOCKED = "spam_blocked"


@dataclass
class CardInput:
    """publish_card's arguments: ``None`` keeps what is stored, ``""`` clears it."""

    full_name: str
    title: str | None = None
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    bio: str | None = None
    slug: str | None = None
    theme: CardTheme | None = None
    links: list[str] | None = None
    photo_base64: str | None = None


@dataclass
class PublicCard:
    """A card as its public page needs it (read without a workspace filter)."""

    id: str
    workspace_id: str
    user_id: str | None
    card: Card
    photo: bytes | None = field(default=None, repr=False)
    photo_type: str | None = None


@dataclass
class LeadForm:
    """What a visitor sent through the card page's form (already checked for spam)."""

    name: str
    email: str | None
    phone: str | None
    message: str | None
    consent_text: str


# ---------------------------------------------------------------- URLs


def page_url(settings: Settings, slug: str, src: str | None = None) -> str:
    """The card page's public URL, optionally marked with where the visit came from."""
    url = f"{settings.public_base_url}/c/{slug}"
    return f"{url}?src={src}" if src else url


def card_links(settings: Settings, slug: str) -> CardLinks:
    """Every public URL of a card."""
    base = page_url(settings, slug)
    return CardLinks(
        url=base,
        vcard_url=f"{base}.vcf",
        qr_url=f"{base}/qr.png",
        qr_svg_url=f"{base}/qr.svg",
        nfc_url=f"{base}/nfc.ndef",
    )


def loopback_notice(settings: Settings) -> str:
    """What to tell the user when the card's link only opens on this machine."""
    return (
        f"This link only works on this computer: LEAD_MCP_PUBLIC_BASE_URL is {settings.public_base_url}, "
        "a loopback address, so other people's phones cannot open it or scan the QR code. To share the card, "
        "run `lead-mcp serve` behind a tunnel or reverse proxy that gives it a public HTTPS address "
        "(for example Cloudflare Tunnel, Tailscale Funnel, ngrok, or Caddy/nginx on a server), set "
        "LEAD_MCP_PUBLIC_BASE_URL to that address, restart, and publish again. Or run "
        "`lead-mcp card export DIR` and upload that folder to any static web host."
    )


# ---------------------------------------------------------------- validation


def slugify(text: str) -> str:
    """A URL-safe slug from a name ("José Müller" -> "jose-muller"), at most 40 characters."""
    # Only ASCII letters and digits are safe in every URL bar, QR code and NFC tag.
    words = [w for w in (re.sub(r"[^a-z0-9]", "", word) for word in normalize.fold(text).split()) if w]
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > SLUG_MAX:
            break
        slug = candidate
    if not slug and words:
        slug = words[0][:SLUG_MAX]
    return slug


def check_slug(raw: str) -> str:
    """A slug given by the user, lower-cased, or InvalidInput saying what is allowed."""
    slug = raw.strip().lower()
    fix = "Use 3 to 40 lower-case letters, digits and single hyphens, e.g. 'ana-souza'"
    if not SLUG_MIN <= len(slug) <= SLUG_MAX or not _SLUG_RE.match(slug):
        raise InvalidInput("slug", f"{raw!r} is not a valid slug", fix)
    if slug in RESERVED_SLUGS:
        raise InvalidInput("slug", f"{slug!r} is reserved", "Pick another, e.g. your name: 'ana-souza'")
    return slug


def is_valid_slug(slug: str) -> bool:
    """True when a path segment could be a card slug (cheap check before any database work)."""
    return SLUG_MIN <= len(slug) <= SLUG_MAX and bool(_SLUG_RE.match(slug))


def _text(value: str | None, field_name: str, limit: int) -> str | None:
    text = normalize.clean_text(value)
    if text and len(text) > limit:
        raise InvalidInput(field_name, f"is {len(text)} characters; at most {limit}", "Shorten it")
    return text


def _check_link(raw: str) -> CardLink:
    text = raw.strip()
    label: str | None = None
    if "|" in text:
        label_part, text = (part.strip() for part in text.split("|", 1))
        label = normalize.clean_text(label_part)
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme not in {"http", "https"} or "." not in host or any(c.isspace() for c in text):
        raise InvalidInput(
            "links",
            f"{raw!r} is not an http(s) link",
            "Give full links such as https://linkedin.com/in/ana, optionally 'Label | https://...'",
        )
    if label and len(label) > MAX_LINK_LABEL:
        raise InvalidInput(
            "links", f"label {label!r} is longer than {MAX_LINK_LABEL} characters", "Shorten it"
        )
    if not label:
        bare = host.removeprefix("www.")
        label = _KNOWN_LINK_LABELS.get(bare) or next(
            (name for domain, name in _KNOWN_LINK_LABELS.items() if bare.endswith("." + domain)), bare
        )
    return CardLink(label=label, url=text)


def _check_photo(raw: str) -> tuple[bytes, str]:
    text = raw.strip()
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "photo_base64", "is not base64", "Pass the PNG or JPEG file's bytes base64-encoded"
        ) from None
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInput(
            "photo_base64",
            f"is {len(data) // 1024} KB; at most {MAX_PHOTO_BYTES // 1024} KB",
            "Use a smaller square photo, e.g. 400x400 pixels",
        )
    for magic, image_type in PHOTO_TYPES:
        if data.startswith(magic):
            return data, image_type
    raise InvalidInput("photo_base64", "is not a PNG or JPEG image", "Pass a PNG or JPEG photo")


# ---------------------------------------------------------------- rows and models


async def _slugs_of(session: AsyncSession, card_id: str) -> list[str]:
    rows = (
        await session.execute(
            select(CardSlug.slug)
            .where(CardSlug.card_id == card_id)
            .order_by(CardSlug.created_at, CardSlug.slug)
        )
    ).scalars()
    return list(rows)


def card_model(row: CardRow, former_slugs: list[str]) -> Card:
    """The card as tools and pages show it."""
    return Card(
        slug=row.slug,
        published=row.published,
        full_name=row.full_name,
        title=row.title,
        company=row.company,
        email=row.email,
        phone=row.phone,
        website=row.website,
        bio=row.bio,
        links=[CardLink.model_validate(link) for link in row.links or []],
        theme=CardTheme(row.theme),
        has_photo=row.photo_type is not None,
        former_slugs=[s for s in former_slugs if s != row.slug],
        created_at=row.created_at,
        updated_at=row.updated_at,
        published_at=row.published_at,
    )


async def _own_card(session: AsyncSession, scope: Scope) -> CardRow | None:
    """The caller's card: every seat has its own; the local user's (stdio, no seat) has none.

    A published card without a seat (made over stdio before the workspace had seats) counts as the
    owner's; a removed seat's card is unpublished (accounts.remove_user), so it is nobody's.
    """
    if scope.user_id is None:
        statement = select(CardRow).where(CardRow.user_id.is_(None))
    elif scope.role is Role.OWNER:
        statement = (
            select(CardRow)
            .where(or_(CardRow.user_id == scope.user_id, and_(CardRow.user_id.is_(None), CardRow.published)))
            .order_by(CardRow.user_id.is_(None))
        )
    else:
        statement = select(CardRow).where(CardRow.user_id == scope.user_id)
    return (await session.execute(statement.order_by(CardRow.created_at).limit(1))).scalars().first()


async def _slug_holder(session: AsyncSession, slug: str) -> str | None:
    """The card (in any workspace) that has or had this slug."""
    # Slugs are unique across workspaces: a deliberate look at every workspace's (the guard allows it).
    statement = (
        select(CardSlug.card_id).where(CardSlug.slug == slug).execution_options(across_workspaces=True)
    )
    return (await session.execute(statement)).scalar()


async def _free_slug(session: AsyncSession, base: str, card_id: str | None) -> str:
    """``base`` or the first free ``base-2``, ``base-3``... (a random tail after that)."""
    if not base:
        return f"card-{secrets.token_hex(3)}"
    if len(base) < SLUG_MIN or base in RESERVED_SLUGS:
        base = f"{base}-card"
    base = base[: SLUG_MAX - 4].rstrip("-")
    candidates = [base, *(f"{base}-{n}" for n in range(2, 21))]
    for candidate in candidates:
        holder = await _slug_holder(session, candidate)
        if holder is None or holder == card_id:
            return candidate
    return f"{base}-{secrets.token_hex(3)}"


async def publish_card(session: AsyncSession, scope: Scope, *, data: CardInput) -> PublishCardResult:
    """Create or update the caller's own card (each seat has one) and publish it; returns its links."""
    full_name = _text(data.full_name, "full_name", 300)
    if not full_name:
        raise InvalidInput("full_name", "is empty", "Give the name to show on the card, e.g. 'Ana Souza'")
    row = await _own_card(session, scope)
    created = row is None
    now = scope.now()
    if row is not None and row.user_id is None and scope.user_id is not None:
        row.user_id = scope.user_id  # the owner takes over the card made before seats
    if row is None:
        row = CardRow(
            workspace_id=scope.workspace_id,
            user_id=scope.user_id,
            full_name=full_name,
            slug="",
            published=True,
            links=[],
            theme=CardTheme.CLASSIC.value,
            created_at=now,
            updated_at=now,
            published_at=now,
        )

    row.full_name = full_name
    if data.title is not None:
        row.title = _text(data.title, "title", 300)
    if data.company is not None:
        row.company = _text(data.company, "company", 300)
    if data.bio is not None:
        row.bio = _text(data.bio, "bio", MAX_BIO)
    if data.email is not None:
        row.email = normalize.normalize_email(data.email, "email") if data.email.strip() else None
    if data.phone is not None:
        row.phone = (
            normalize.normalize_phone(data.phone, scope.settings.default_region, "phone")
            if data.phone.strip()
            else None
        )
    if data.website is not None:
        row.website = normalize.normalize_website(data.website, "website") if data.website.strip() else None
    if data.links is not None:
        if len(data.links) > MAX_LINKS:
            raise InvalidInput(
                "links", f"has {len(data.links)} links; at most {MAX_LINKS}", "Keep the best ones"
            )
        row.links = [_check_link(link).model_dump() for link in data.links if link.strip()]
    if data.theme is not None:
        row.theme = data.theme.value
    if data.photo_base64 is not None:
        if data.photo_base64.strip():
            row.photo, row.photo_type = _check_photo(data.photo_base64)
        else:
            row.photo, row.photo_type = None, None

    notices: list[str] = []
    old_slug = row.slug or None
    if data.slug is not None and data.slug.strip():
        wanted = check_slug(data.slug)
        holder = await _slug_holder(session, wanted)
        if holder is not None and holder != row.id:
            suggestion = await _free_slug(session, wanted, row.id)
            raise Conflict(f"slug: {wanted!r} is taken; pick another, e.g. {suggestion!r}, or leave slug out")
        row.slug = wanted
    elif not row.slug:
        row.slug = await _free_slug(session, slugify(full_name), row.id)
    if old_slug and old_slug != row.slug:
        notices.append(
            f"The address changed from /c/{old_slug} to /c/{row.slug}; old links and printed QR codes "
            "keep working (they redirect to the new address)."
        )
    if not row.published:
        row.published_at = now
    row.published = True
    row.updated_at = now
    if created:
        session.add(row)
        await session.flush()
    if await _slug_holder(session, row.slug) is None:
        session.add(CardSlug(slug=row.slug, workspace_id=scope.workspace_id, card_id=row.id, created_at=now))
    await session.flush()

    reachable = not scope.settings.public_base_is_loopback
    if not reachable:
        notices.insert(0, loopback_notice(scope.settings))
    links = card_links(scope.settings, row.slug)
    return PublishCardResult(
        **links.model_dump(),
        slug=row.slug,
        created=created,
        card=card_model(row, await _slugs_of(session, row.id)),
        reachable_from_internet=reachable,
        notice=" ".join(notices) or None,
    )


async def unpublish_card(session: AsyncSession, scope: Scope) -> UnpublishCardResult:
    """Take the card page offline (it answers 410 Gone); publish_card brings it back."""
    row = await _own_card(session, scope)
    if row is None:
        raise NotFound("There is no card in this workspace; call publish_card to create one")
    was_published = row.published
    row.published = False
    row.updated_at = scope.now()
    await session.flush()
    return UnpublishCardResult(
        slug=row.slug, published=False, was_published=was_published, url=page_url(scope.settings, row.slug)
    )


async def get_card(session: AsyncSession, scope: Scope) -> Card:
    """The workspace's card, or NotFound saying how to make one."""
    row = await _own_card(session, scope)
    if row is None:
        raise NotFound("There is no card in this workspace yet; call publish_card to create one")
    return card_model(row, await _slugs_of(session, row.id))


async def load_own_public_card(session: AsyncSession, scope: Scope) -> PublicCard:
    """The workspace's card with its photo (for the static export)."""
    row = (await session.execute(select(CardRow).options(undefer(CardRow.photo)))).scalars().first()
    if row is None:
        raise NotFound(
            "There is no card in this workspace yet; call publish_card (or ask your assistant) first"
        )
    return PublicCard(
        id=row.id,
        workspace_id=row.workspace_id,
        user_id=row.user_id,
        card=card_model(row, await _slugs_of(session, row.id)),
        photo=row.photo,
        photo_type=row.photo_type,
    )


# ---------------------------------------------------------------- public side


class Lookup(StrEnum):
    """What a public slug leads to."""

    FOUND = "found"
    MOVED = "moved"
    GONE = "gone"
    MISSING = "missing"


async def find_public_card(
    session: AsyncSession, slug: str, *, with_photo: bool = False
) -> tuple[Lookup, PublicCard | None]:
    """The card a public URL names, in any workspace (the session must not be workspace-scoped)."""
    if not session.info.get("all_workspaces"):
        raise RuntimeError("find_public_card needs a session opened with all_workspaces=True")
    if not is_valid_slug(slug):
        return Lookup.MISSING, None
    statement = select(CardRow).join(CardSlug, CardSlug.card_id == CardRow.id).where(CardSlug.slug == slug)
    if with_photo:
        statement = statement.options(undefer(CardRow.photo))
    found = (await session.execute(statement)).scalar_one_or_none()
    if found is None:
        return Lookup.MISSING, None
    public = PublicCard(
        id=found.id,
        workspace_id=found.workspace_id,
        user_id=found.user_id,
        card=card_model(found, []),
        photo=found.photo if with_photo else None,
        photo_type=found.photo_type,
    )
    if not found.published:
        return Lookup.GONE, public
    if found.slug != slug:
        return Lookup.MOVED, public
    return Lookup.FOUND, public


def is_bot(user_agent: str | None) -> bool:
    """True for link-preview fetchers and crawlers (their visits are not counted as views)."""
    agent = (user_agent or "").lower()
    return not agent or any(marker in agent for marker in _BOT_MARKERS)


async def count(session: AsyncSession, scope: Scope, card_id: str, *events: CardEvent) -> None:
    """Add one to each of ``events`` on today's counters of a card."""
    if not events:
        return
    values: dict[str, Any] = {e.value: 1 for e in events}
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    table = CardDailyStat.__table__
    statement = insert(CardDailyStat).values(
        card_id=card_id, day=scope.today(), workspace_id=scope.workspace_id, **values
    )
    statement = statement.on_conflict_do_update(
        index_elements=[CardDailyStat.card_id, CardDailyStat.day],
        set_={name: table.c[name] + 1 for name in values},
    )
    await session.execute(statement)


def consent_text(settings: Settings, owner: str) -> str:
    """The consent box's wording for a card's owner."""
    return settings.card_consent_text.format(owner=owner)


async def submit_lead(
    session: AsyncSession, scope: Scope, *, card: PublicCard, form: LeadForm
) -> AddContactResult:
    """A visitor's form post becomes a de-duplicated lead with their message and a follow-up due today."""
    name = _text(form.name, "name", MAX_FORM_NAME)
    message = _text(form.message, "message", MAX_FORM_MESSAGE)
    if not name:
        raise InvalidInput("name", "is empty", "Give your name")
    if not (form.email and form.email.strip()) and not (form.phone and form.phone.strip()):
        raise InvalidInput("email", "neither an email nor a phone number was given", "Give one of them")
    now = scope.now()
    data = ContactCreate(
        full_name=name,
        emails=[form.email] if form.email and form.email.strip() else [],
        phones=[form.phone] if form.phone and form.phone.strip() else [],
        source=Source.CARD_FORM,
        consent=Consent(basis="consent", given_at=now, text=form.consent_text),
    )
    result = await contact_service.add_contact(session, scope, data=data, followup_in_days=0)
    row = await load_contact(session, result.contact.id)
    # The newest consent is the one that counts: it says what they agreed to, and when.
    row.consent = data.consent.model_dump(mode="json") if data.consent else row.consent
    interaction_service.add_interaction(
        session,
        scope,
        row,
        kind=InteractionKind.MESSAGE,
        direction=Direction.INBOUND,
        summary=message or NO_MESSAGE_SUMMARY,
        occurred_at=now,
        # verbatim: the summary is the visitor's own message (drafts may quote it back to them).
        data={"source": Source.CARD_FORM.value, "card": card.card.slug, "verbatim": bool(message)},
    )
    if result.followup is None:
        # They were known and already had a follow-up: a new message means answering today.
        pending = (
            await session.execute(
                select(FollowUpRow)
                .where(FollowUpRow.contact_id == row.id, FollowUpRow.status == FollowUpStatus.PENDING.value)
                .order_by(FollowUpRow.due_at)
                .limit(1)
            )
        ).scalar_one_or_none()
        if pending is None or pending.due_at > now:
            result.followup = await followup_service.schedule_followup(
                session,
                scope,
                contact_id=row.id,
                due=now.isoformat(),
                note="New message from your card page: reply today.",
            )
        else:
            result.followup = followup_model(pending)
    await scoring.rescore(session, scope, row)  # the post counts as form_post (and is recent engagement)
    extra = [CardEvent.NEW_LEAD] if result.created else []
    await count(session, scope, card.id, CardEvent.FORM_SUBMISSION, *extra)
    result.contact = contact_model(row)
    return result


# ---------------------------------------------------------------- vCard and stats


def card_vcard(
    card: Card,
    settings: Settings,
    *,
    photo: bytes | None = None,
    photo_type: str | None = None,
    source_url: str | None = None,
) -> str:
    """The card as one vCard 3.0 that phones import ("Save contact").

    ``SOURCE`` (where the card can be fetched again) is ``source_url`` when given (a static
    copy's own address), else the live server's ``/c/{slug}.vcf``.
    """
    given, family = normalize.split_name(card.full_name)
    lines = [
        vcard_text.content_line("PRODID", "-//lead-mcp//card//EN"),
        vcard_text.content_line("N", vcard_text.structured([family, given, None, None, None])),
        vcard_text.content_line("FN", vcard_text.escape(card.full_name)),
    ]
    if card.company:
        lines.append(vcard_text.content_line("ORG", vcard_text.escape(card.company)))
    if card.title:
        lines.append(vcard_text.content_line("TITLE", vcard_text.escape(card.title)))
    if card.phone:
        kind = "TYPE=CELL" if phone_kind(card.phone) == "Mobile" else "TYPE=WORK"
        lines.append(vcard_text.content_line("TEL", vcard_text.escape(card.phone), [kind, "TYPE=VOICE"]))
    if card.email:
        lines.append(
            vcard_text.content_line("EMAIL", vcard_text.escape(card.email), ["TYPE=INTERNET", "TYPE=PREF"])
        )
    if card.website:
        lines.append(vcard_text.content_line("URL", f"https://{card.website}"))
    for index, link in enumerate(card.links, start=1):
        lines.append(vcard_text.content_line(f"item{index}.URL", link.url))
        lines.append(vcard_text.content_line(f"item{index}.X-ABLabel", vcard_text.escape(link.label)))
    if card.bio:
        lines.append(vcard_text.content_line("NOTE", vcard_text.escape(card.bio)))
    source = source_url or f"{page_url(settings, card.slug)}.vcf"
    lines.append(vcard_text.content_line("SOURCE", source))
    if photo and photo_type:
        lines.append(vcard_text.photo_line(photo, photo_type))
    lines.append(vcard_text.content_line("REV", card.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return vcard_text.card(lines)


def phone_kind(e164: str) -> str:
    """What the number is, as a card labels it: "Mobile" only when the numbering plan says so."""
    kind = phones.number_type(e164)
    if kind == phonenumbers.PhoneNumberType.MOBILE:
        return "Mobile"
    if kind == phonenumbers.PhoneNumberType.TOLL_FREE:
        return "Toll-free"
    return "Phone"


def _empty_day(day: date) -> CardStatsDay:
    return CardStatsDay(
        day=day,
        views=0,
        qr_scans=0,
        nfc_taps=0,
        vcard_downloads=0,
        form_submissions=0,
        new_leads=0,
        spam_blocked=0,
    )


async def card_stats(session: AsyncSession, scope: Scope, *, days: int = 30) -> CardStats:
    """Views, scans, taps, saves and form leads per day over the last ``days`` days, with totals and rates."""
    if not 1 <= days <= MAX_STATS_DAYS:
        raise InvalidInput(
            "days", f"must be between 1 and {MAX_STATS_DAYS}", "Use 7 for a week, 30 for a month"
        )
    row = await _own_card(session, scope)
    if row is None:
        raise NotFound("There is no card in this workspace yet; call publish_card to create one")
    until = scope.today()
    since = until - timedelta(days=days - 1)
    stats = (
        await session.execute(
            select(CardDailyStat)
            .where(CardDailyStat.card_id == row.id, CardDailyStat.day >= since, CardDailyStat.day <= until)
            .order_by(CardDailyStat.day.desc())
        )
    ).scalars()
    counters = [e.value for e in CardEvent]
    day_items = []
    totals = _empty_day(until)
    for stat in stats:
        item = CardStatsDay(day=stat.day, **{name: getattr(stat, name) for name in counters})
        day_items.append(item)
        for name in counters:
            setattr(totals, name, getattr(totals, name) + getattr(item, name))
    views = totals.views
    return CardStats(
        slug=row.slug,
        since=since,
        until=until,
        totals=totals,
        conversion_rate=round(totals.form_submissions / views, 4) if views else None,
        save_rate=round(totals.vcard_downloads / views, 4) if views else None,
        days=day_items,
    )
