"""ORM tables. Every row carries ``workspace_id``: no query may cross workspaces.

Schema changes go through Alembic (``migrations/``); a test checks that a
database migrated to head matches these models. Full-text search objects are
dialect-specific and live in the migrations only (see ``db/search.py``).
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A fresh opaque id (UUID4 text): never sequential, never guessable."""
    return str(uuid.uuid4())


def new_ids(count: int) -> list[str]:
    """``count`` fresh ids for rows written together in bulk (an import's contacts and history).

    UUIDv7 text (RFC 9562): the current Unix time in milliseconds, then 74 random bits, so they
    are as unguessable as any id needs to be (they reveal only when the row was made, which the
    row's ``created_at`` says anyway). Unlike random UUID4s, one batch's ids sit side by side in
    every index on them (contacts.id, the keys' and history's contact_id) instead of touching a
    page each: a 100k-row import took 10% less CPU. Made from one read of the random source
    (0.8 us an id against ``str(uuid.uuid4())``'s 6.0).
    """
    raw = bytearray(os.urandom(16 * count))
    now = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    for index, octet in enumerate(now):  # the same 48-bit timestamp at the head of every id
        raw[index::16] = bytes((octet,)) * count
    raw[6::16] = raw[6::16].translate(_VERSION_7)
    raw[8::16] = raw[8::16].translate(_VARIANT)
    h = raw.hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


_VERSION_7 = bytes((octet & 0x0F) | 0x70 for octet in range(256))  # octet 6: version 7, 4 random bits
_VARIANT = bytes((octet & 0x3F) | 0x80 for octet in range(256))  # octet 8: the RFC 9562 variant


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and read back timezone-aware on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only aliases the rowid (and so keeps it stable through VACUUM) for INTEGER PRIMARY KEY.
RowKey = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with the naming convention Alembic relies on."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class WorkspaceScoped:
    """Mixin for rows that belong to a workspace; the session guard filters on it."""

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))


class Workspace(Base):
    """A tenant: one person or a team."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    is_local: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class User(Base, WorkspaceScoped):
    """A seat in a workspace."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="owner")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The `sub` of an external identity provider's tokens (auth=jwt), bound on first sign-in.
    external_subject: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ux_users_workspace_email", "workspace_id", "email", unique=True),
        Index("ix_users_email", "email"),
        Index("ux_users_external_subject", "external_subject", unique=True),
    )


class ContactRow(Base, WorkspaceScoped):
    """A lead. ``pk`` is internal (search index key); ``id`` is the public opaque id."""

    __tablename__ = "contacts"

    pk: Mapped[int] = mapped_column(RowKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    full_name: Mapped[str | None] = mapped_column(String(300))
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(300))
    company: Mapped[str | None] = mapped_column(String(300))
    emails: Mapped[list[str]] = mapped_column(JSONType, default=list)
    phones: Mapped[list[str]] = mapped_column(JSONType, default=list)
    website: Mapped[str | None] = mapped_column(String(500))
    address: Mapped[str | None] = mapped_column(String(1000))
    notes: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source: Mapped[str] = mapped_column(String(20), default="manual")
    referred_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    met_at: Mapped[str | None] = mapped_column(String(300))
    stage: Mapped[str] = mapped_column(String(20), default="lead")
    budget: Mapped[str | None] = mapped_column(String(300))
    authority: Mapped[str | None] = mapped_column(String(300))
    need: Mapped[str | None] = mapped_column(String(1000))
    timeline: Mapped[str | None] = mapped_column(String(300))
    score: Mapped[int] = mapped_column(Integer, default=0)
    consent: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_touch_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_followup_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Values of the workspace's custom fields, by field key (see services/custom_fields.py).
    custom: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Pipeline facts (issue 7): the furthest funnel stage ever held (kept by db/aggregates.py) and
    # how many times we reached out; both feed the report's running aggregates.
    furthest_stage: Mapped[str] = mapped_column(String(20), default="lead", server_default="lead")
    outbound_touches: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        Index("ix_contacts_workspace_pk", "workspace_id", "pk"),
        Index("ix_contacts_workspace_stage_pk", "workspace_id", "stage", "pk"),
        Index("ix_contacts_workspace_source_pk", "workspace_id", "source", "pk"),
        Index("ix_contacts_workspace_created", "workspace_id", "created_at"),
        # pipeline_report's "converted leads of a referrer": small, as only referred customers are in it.
        Index(
            "ix_contacts_referred_converted",
            "workspace_id",
            "referred_by_id",
            "created_at",
            sqlite_where=text("furthest_stage = 'customer' AND referred_by_id IS NOT NULL"),
            postgresql_where=text("furthest_stage = 'customer' AND referred_by_id IS NOT NULL"),
        ),
    )


class ContactKey(Base, WorkspaceScoped):
    """A normalized de-duplication key (email, E.164 phone, folded name+company).

    The primary key makes a key unique per workspace, so two concurrent adds of
    the same email end in one contact even when both passed the pre-check.
    """

    __tablename__ = "contact_keys"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(400), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)


class ContactTag(Base, WorkspaceScoped):
    """A tag on a contact, indexed for the tag filter."""

    __tablename__ = "contact_tags"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    contact_pk: Mapped[int] = mapped_column(
        RowKey, ForeignKey("contacts.pk", ondelete="CASCADE"), primary_key=True
    )

    # The contact first, then the workspace (every workspace session's statement names it): with
    # two equalities this index wins over the primary key's (workspace_id=?) even before SQLite
    # has statistics, which would otherwise read every tag of the workspace to find one contact's.
    __table_args__ = (Index("ix_contact_tags_contact_ws", "contact_pk", "workspace_id"),)


class InteractionRow(Base, WorkspaceScoped):
    """A touch: note, email, call, meeting, message, card shared."""

    __tablename__ = "interactions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # A contact's touches (rescoring, get_contact): contact and workspace ahead of the time, so
        # SQLite without statistics takes it over ix_interactions_workspace_occurred (one equality),
        # which reads every touch of the workspace for one contact's.
        Index("ix_interactions_contact_ws_occurred", "contact_id", "workspace_id", "occurred_at"),
        Index("ix_interactions_workspace_occurred", "workspace_id", "occurred_at"),
    )


class FollowUpRow(Base, WorkspaceScoped):
    """A reminder to reach out; ``step`` counts cadence steps from 1."""

    __tablename__ = "followups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="pending")
    note: Mapped[str | None] = mapped_column(Text)
    step: Mapped[int] = mapped_column(Integer, default=1)
    cadence: Mapped[str] = mapped_column(String(100), default="default")
    # What the follow-up is for: cadence, manual, reply, meeting_prep, thank_referrer, nurture.
    purpose: Mapped[str] = mapped_column(String(20), default="cadence", server_default="cadence")
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # The due list: pending rows of one workspace in due order.
        Index(
            "ix_followups_pending_due",
            "workspace_id",
            "due_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # A contact's follow-ups (has_pending, its next due one): three equalities and the due order, so
        # it beats the due list's partial index on (workspace_id, due_at) even before SQLite has statistics.
        Index("ix_followups_contact_ws_status_due", "contact_id", "workspace_id", "status", "due_at"),
    )


class ContactChange(Base, WorkspaceScoped):
    """History of a contact: created, merged, updated, deleted (kept so a wrong merge can be undone)."""

    __tablename__ = "contact_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (Index("ix_contact_changes_contact_at", "contact_id", "at"),)


class CustomFieldRow(Base, WorkspaceScoped):
    """A user-defined, typed property of contacts (text, number, date or choice)."""

    __tablename__ = "custom_fields"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(10))
    choices: Mapped[list[str] | None] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ux_custom_fields_workspace_key", "workspace_id", "key", unique=True),)


class CalendarFeedRow(Base, WorkspaceScoped):
    """A private calendar feed of due follow-ups; only the SHA-256 of its secret token is kept."""

    __tablename__ = "calendar_feeds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ux_calendar_feeds_token_hash", "token_hash", unique=True),)


class CadenceRow(Base, WorkspaceScoped):
    """A named follow-up cadence of a workspace: day offsets of its steps from the first touch."""

    __tablename__ = "cadences"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    steps: Mapped[list[int]] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReferralMilestone(Base, WorkspaceScoped):
    """A referred lead reached a milestone and its referrer was thanked (once per lead and milestone)."""

    __tablename__ = "referral_milestones"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    milestone: Mapped[str] = mapped_column(String(20), primary_key=True)
    referrer_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    followup_id: Mapped[str | None] = mapped_column(ForeignKey("followups.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


# Running aggregates behind pipeline_report (see db/aggregates.py). Each counter exists at three
# grains: "d" per UTC creation day, "m" per month (day = the 1st), and "a" all time (day = 0001-01-01).


class PipelineCount(Base, WorkspaceScoped):
    """Contacts per creation day (or month), source, current stage and furthest stage."""

    __tablename__ = "pipeline_counts"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    furthest: Mapped[str] = mapped_column(String(20), primary_key=True)
    contacts: Mapped[int] = mapped_column(BigInteger, default=0)
    touched: Mapped[int] = mapped_column(BigInteger, default=0)
    touched_twice: Mapped[int] = mapped_column(BigInteger, default=0)


class PipelineSpeed(Base, WorkspaceScoped):
    """Speed-to-lead histogram: leads per creation day (or month) and response-time bucket (minutes)."""

    __tablename__ = "pipeline_speed"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    contacts: Mapped[int] = mapped_column(BigInteger, default=0)


class PipelineReferrer(Base, WorkspaceScoped):
    """Referred leads per creation day (or month) and referrer, and how many became customers."""

    __tablename__ = "pipeline_referrers"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    referrer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    referred: Mapped[int] = mapped_column(BigInteger, default=0)
    converted: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        # All-time top referrers are read straight off this index (grain "a").
        Index("ix_pipeline_referrers_rank", "workspace_id", "grain", "day", "converted", "referred"),
    )


class CardRow(Base, WorkspaceScoped):
    """A seat's digital business card (one per seat; the local user's has no seat), at /c/{slug}."""

    __tablename__ = "cards"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    full_name: Mapped[str] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(300))
    company: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(500))
    bio: Mapped[str | None] = mapped_column(Text)
    links: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    theme: Mapped[str] = mapped_column(String(20), default="classic")
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # loaded only where shown
    photo_type: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("workspace_id", "user_id", name="uq_cards_workspace_user"),)


class CardSlug(Base, WorkspaceScoped):
    """Every slug a card has had: unique across all workspaces, so an old printed QR code never
    reaches someone else's card; former slugs redirect to the current one."""

    __tablename__ = "card_slugs"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CardDailyStat(Base, WorkspaceScoped):
    """Counts of one card's activity on one local day; nothing about the visitors themselves."""

    __tablename__ = "card_daily_stats"

    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    views: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    qr_scans: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    nfc_taps: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    vcard_downloads: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    form_submissions: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    new_leads: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    spam_blocked: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


# --- Access: OAuth 2.1 authorization server state, tokens, rate limits (all shared by replicas) ---


class OAuthClient(Base):
    """An OAuth client: registered dynamically (RFC 7591) or known by its metadata document URL."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(500), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # "dynamic" or "document"
    # SHA-256 of the client secret; the secret itself is shown once, at registration.
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    info: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OAuthRequest(Base):
    """An authorization request waiting for the user to sign in and consent (no user yet, so no workspace)."""

    __tablename__ = "oauth_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True
    )
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    csrf_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class OAuthCode(Base, WorkspaceScoped):
    """A one-time authorization code (stored hashed), bound to client, redirect URI, PKCE and resource."""

    __tablename__ = "oauth_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True
    )
    grant_id: Mapped[str] = mapped_column(String(36))
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    code_challenge: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    redirect_uri_explicit: Mapped[bool] = mapped_column(default=True)
    resource: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuthToken(Base, WorkspaceScoped):
    """An access, refresh or personal access token of a seat, stored as its SHA-256 only.

    Tokens of one sign-in share a ``grant_id``: refreshing rotates within the grant, and a
    replayed refresh token or authorization code revokes the whole grant.
    """

    __tablename__ = "auth_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # "access", "refresh" or "personal"
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str | None] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"))
    grant_id: Mapped[str | None] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    resource: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RateLimitHit(Base):
    """Hits of one rate-limit key in one fixed window; in the database so every replica counts together.

    Keys never hold a visitor's address in the clear (see ``services.ratelimit.client_bucket``).
    """

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ServerSecret(Base):
    """Secrets generated once and shared by every replica (card form key, request-state sealing key)."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CardScanRow(Base, WorkspaceScoped):
    """A scanned card: the image (a straightened JPEG), its hash, what was read, the contact it became."""

    __tablename__ = "card_scans"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    image: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_type: Mapped[str] = mapped_column(String(30), default="image/jpeg")
    source: Mapped[str] = mapped_column(String(10))
    source_name: Mapped[str | None] = mapped_column(String(500))
    engine: Mapped[str] = mapped_column(String(20))
    reading: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ux_card_scans_workspace_sha256", "workspace_id", "sha256", unique=True),)


class ScanLinkRow(Base, WorkspaceScoped):
    """A short-lived phone scan page link; only the token's hash is stored."""

    __tablename__ = "scan_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    met_at: Mapped[str | None] = mapped_column(String(300))
    uploads: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExportRow(Base, WorkspaceScoped):
    """A stored export too big to return inline, read as ``lead://exports/{id}.vcf|csv`` until it expires."""

    __tablename__ = "exports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(10))
    version: Mapped[str | None] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(200))
    contact_count: Mapped[int] = mapped_column(Integer, default=0)
    byte_size: Mapped[int] = mapped_column(BigInteger, default=0)
    complete: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExportChunk(Base, WorkspaceScoped):
    """One piece of a stored export's text, in order (so no single row holds megabytes)."""

    __tablename__ = "export_chunks"

    export_id: Mapped[str] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)


class HubSpotLink(Base, WorkspaceScoped):
    """What was last pushed to HubSpot for a contact: its HubSpot id, when, and a hash of the properties."""

    __tablename__ = "hubspot_links"

    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    hubspot_id: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(320))
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pushed_hash: Mapped[str] = mapped_column(String(64))
