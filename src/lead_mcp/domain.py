"""Pydantic models of the domain: what services take and return, and what tools show.

Naming follows families: ``ContactCreate`` / ``ContactUpdate`` come in,
``Contact`` / ``ContactSummary`` go out. Descriptions here become the output
schemas an assistant reads, so they are written for it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Source(StrEnum):
    """Where a lead came from."""

    MANUAL = "manual"
    CARD_SCAN = "card_scan"
    CARD_SHARE = "card_share"
    CARD_FORM = "card_form"
    IMPORT = "import"
    REFERRAL = "referral"
    EVENT = "event"


class Stage(StrEnum):
    """Pipeline stage, in order; `lost` is the exit."""

    COLD = "cold"
    LEAD = "lead"
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    LOST = "lost"


class InteractionKind(StrEnum):
    """What kind of touch an interaction was."""

    NOTE = "note"
    EMAIL = "email"
    CALL = "call"
    MEETING = "meeting"
    MESSAGE = "message"
    CARD_SHARED = "card_shared"


class Direction(StrEnum):
    """Who reached out: us (outbound) or them (inbound)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class FollowUpStatus(StrEnum):
    """State of a follow-up."""

    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"


class _Model(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Consent(_Model):
    """Consent a person gave (form leads): on what basis and when."""

    basis: str = Field(description="Legal basis, e.g. 'consent' for a ticked form box.")
    given_at: datetime = Field(description="When consent was given.")
    text: str | None = Field(None, description="The wording the person agreed to.")
    withdrawn_at: datetime | None = Field(None, description="When consent was withdrawn, if it was.")


class ContactSummary(_Model):
    """A compact contact, as lists show it; call get_contact for the full record."""

    id: str
    full_name: str | None
    company: str | None
    title: str | None
    emails: list[str]
    phones: list[str] = Field(description="Phone numbers in E.164, e.g. +14155550100.")
    stage: Stage
    source: Source
    score: int = Field(description="Lead score 0-100; higher means more promising.")
    next_followup_at: datetime | None = Field(description="When the next pending follow-up is due.")


class Contact(ContactSummary):
    """A lead with every stored field."""

    given_name: str | None
    family_name: str | None
    website: str | None
    address: str | None
    notes: str | None
    tags: list[str]
    referred_by: str | None = Field(description="Id of the contact who referred this one.")
    met_at: str | None = Field(description="Event or place where you met.")
    owner_id: str | None = Field(None, description="Id of the user who owns this lead.")
    budget: str | None
    authority: str | None
    need: str | None
    timeline: str | None
    consent: Consent | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None = Field(description="First outbound touch (speed-to-lead).")
    last_touch_at: datetime | None


class ContactCreate(BaseModel):
    """What add_contact (and imports, scans, forms) bring in."""

    full_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    company: str | None = None
    title: str | None = None
    website: str | None = None
    address: str | None = None
    notes: str | None = None
    tags: list[str] = Field(default_factory=list)
    source: Source | None = None
    referred_by: str | None = None
    met_at: str | None = None
    consent: Consent | None = None


class ContactUpdate(BaseModel):
    """Fields to change on a contact; only the fields given are touched."""

    full_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    emails: list[str] | None = None
    phones: list[str] | None = None
    company: str | None = None
    title: str | None = None
    website: str | None = None
    address: str | None = None
    notes: str | None = None
    tags: list[str] | None = None
    source: Source | None = None
    referred_by: str | None = None
    met_at: str | None = None
    stage: Stage | None = None
    owner: str | None = None


class Interaction(_Model):
    """One touch with a contact."""

    id: str
    contact_id: str
    kind: InteractionKind
    direction: Direction
    occurred_at: datetime
    summary: str
    created_at: datetime


class FollowUp(_Model):
    """A reminder to reach out to a contact."""

    id: str
    contact_id: str
    due_at: datetime
    status: FollowUpStatus
    note: str | None = Field(description="The drafted message or reminder.")
    step: int = Field(description="Cadence step, 1 for the first touch.")
    cadence: str = Field(description="Name of the cadence this follow-up belongs to.")
    outcome: str | None = Field(None, description="What happened, in the user's words, once done.")
    completed_at: datetime | None = None


class ChangeRecord(_Model):
    """One entry of a contact's history: created, merged, field changed."""

    at: datetime
    action: str = Field(description="created, merged, updated, deleted ...")
    detail: dict[str, Any] = Field(description="What changed: fields with old and new values, kept values.")


class ContactDetail(_Model):
    """A contact with its touches, follow-ups and history (get_contact)."""

    contact: Contact
    interactions: list[Interaction] = Field(description="Newest first.")
    followups: list[FollowUp] = Field(description="Pending first, then by due time.")
    history: list[ChangeRecord] = Field(description="Newest first.")
    interactions_truncated: bool = Field(False, description="True when older interactions were left out.")


class AddContactResult(_Model):
    """Result of add_contact: the stored contact and whether it was new."""

    contact: Contact
    created: bool = Field(description="False when the details were merged into an existing contact.")
    duplicate_of: str | None = Field(
        None, description="Id of the existing contact the details were merged into (when created is false)."
    )
    merged_fields: list[str] = Field(
        default_factory=list, description="Fields that gained a value from this call (on a merge)."
    )
    kept_values: dict[str, str] = Field(
        default_factory=dict,
        description="Differing new values that were not applied because the field was already filled.",
    )
    followup: FollowUp | None = Field(None, description="The follow-up scheduled for this lead, if one was.")


class ContactPage(_Model):
    """One page of contacts."""

    items: list[ContactSummary]
    next_cursor: str | None = Field(description="Pass as cursor to get the next page; null on the last page.")


class DueReason(_Model):
    """Why a follow-up matters."""

    stage: Stage
    score: int
    last_touch_at: datetime | None
    met_at: str | None


class DueFollowUp(_Model):
    """A follow-up that is due, with the contact it is for."""

    followup_id: str
    contact: ContactSummary
    due_at: datetime
    overdue_days: int = Field(description="Calendar days past due (0 when due today or later).")
    step: int
    note: str | None
    why: DueReason


class DuePage(_Model):
    """One page of due follow-ups: overdue first, then by due time, ties by score."""

    items: list[DueFollowUp]
    next_cursor: str | None


class InteractionResult(_Model):
    """Result of log_interaction."""

    interaction: Interaction
    contact: ContactSummary
    first_response_at: datetime | None = Field(description="Set by the first outbound touch.")


class CompleteFollowUpResult(_Model):
    """Result of complete_followup: the closed follow-up, the logged touch and the next one."""

    completed: FollowUp
    interaction: Interaction | None
    next_followup: FollowUp | None = Field(
        description="The next cadence step, or null when the cadence ended."
    )


class DeleteResult(_Model):
    """Result of delete_contact."""

    deleted: bool
    contact_id: str
    full_name: str | None


# --- Access: workspaces, seats, tokens, identity ---

SCOPE_READ = "leads:read"
SCOPE_WRITE = "leads:write"
ALL_SCOPES = (SCOPE_READ, SCOPE_WRITE)


class Role(StrEnum):
    """A seat's role in its workspace."""

    OWNER = "owner"
    MEMBER = "member"


class WorkspaceInfo(_Model):
    """A workspace (tenant)."""

    id: str
    name: str
    is_local: bool = Field(
        description="True for the single workspace of stdio and unauthenticated local HTTP."
    )
    created_at: datetime


class Seat(_Model):
    """A user (seat) in a workspace."""

    id: str
    workspace_id: str
    email: str
    name: str | None
    role: Role
    has_password: bool = Field(description="True when the seat can sign in with a password (auth=builtin).")
    external_subject: str | None = Field(
        None, description="Subject of the external identity provider (auth=jwt)."
    )


class TokenInfo(_Model):
    """A token's record (never the token itself, which is stored only as a hash)."""

    id: str
    kind: str = Field(description="access, refresh or personal.")
    user_id: str
    workspace_id: str
    name: str | None
    scopes: list[str]
    client_id: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class Principal(_Model):
    """Who a verified bearer token speaks for: the seat, its workspace and the scopes granted."""

    user_id: str
    workspace_id: str
    email: str
    role: Role
    scopes: list[str]
    token_id: str | None = None
    kind: str = Field(
        description="access (OAuth), personal (CLI-made token) or jwt (external identity provider)."
    )
    client_id: str | None = None
    expires_at: datetime | None = None
    resource: str | None = None


class WhoAmIUser(_Model):
    """The signed-in seat."""

    id: str
    email: str
    name: str | None


class WhoAmIWorkspace(_Model):
    """The workspace every call of this connection reads and writes."""

    id: str
    name: str


class WhoAmI(_Model):
    """Result of whoami: the user, workspace, role and scopes of this connection."""

    user: WhoAmIUser | None = Field(description="The signed-in seat; null for the local workspace (stdio).")
    workspace: WhoAmIWorkspace
    role: Role = Field(description="owner or member; the local workspace's user is its owner.")
    scopes: list[str] = Field(
        description="leads:read lets every read tool run; leads:write the tools that change data."
    )
    auth: str = Field(description="local (stdio or loopback HTTP), oauth, personal (access token) or jwt.")
    read_only_mode: bool = Field(description="True when this server exposes only the read tools.")
