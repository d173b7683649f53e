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
    next_followup: FollowUp | None = Field(description="The next cadence step, or null when the cadence ended.")


class DeleteResult(_Model):
    """Result of delete_contact."""

    deleted: bool
    contact_id: str
    full_name: str | None


# ---------------------------------------------------------------------------------------------
# Card scans


class CardFields(_Model):
    """Fields read from a business card; null or empty when not on the card."""

    full_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    title: str | None = None
    company: str | None = None
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list, description="E.164, e.g. +14155550100.")
    website: str | None = Field(None, description="Host and path without scheme, e.g. www.example.com/team.")
    address: str | None = Field(None, description="The printed address lines joined by ', '.")


class FieldConfidence(_Model):
    """How sure the reader is of each field, 0 to 1 (0 when the field is empty)."""

    full_name: float = 0.0
    given_name: float = 0.0
    family_name: float = 0.0
    title: float = 0.0
    company: float = 0.0
    emails: float = 0.0
    phones: float = 0.0
    website: float = 0.0
    address: float = 0.0
    overall: float = Field(0.0, description="How likely this is a readable business card at all.")


class ScanLine(_Model):
    """One line of text the OCR read, where it was, and what the reader took it for."""

    text: str
    box: list[int] = Field(description="[x0, y0, x1, y1] in pixels of the straightened card image.")
    confidence: float
    role: str | None = Field(None, description="name, title, company, email, phone, website, address, null.")


class CardScan(_Model):
    """The result of scanning one card image."""

    fields: CardFields
    confidence: FieldConfidence
    lines: list[ScanLine]
    engine: str = Field(description="The OCR engine that read it: tesseract or easyocr.")
    contact: Contact | None = Field(None, description="The saved (created or merged) contact, when saved.")
    created: bool | None = Field(None, description="True: a new contact; false: merged into duplicate_of.")
    duplicate_of: str | None = Field(None, description="Id of the existing contact the card was merged into.")
    followup: FollowUp | None = Field(None, description="The follow-up scheduled for this lead (due today).")
    scan_id: str | None = Field(None, description="Id of the stored scan (the card image is kept with it).")
    image_sha256: str | None = Field(None, description="SHA-256 of the image bytes (same file: recognised).")
    source: str | None = Field(None, description="File name or URL the image came from.")
    already_scanned: bool = Field(False, description="True: this exact image was scanned and saved before.")
    note: str | None = Field(None, description="Why nothing was saved, or what to check.")


class SkippedImage(_Model):
    """A file of a folder scan that was not scanned."""

    name: str
    reason: str
    contact_id: str | None = None


class ScanCardResult(CardScan):
    """scan_card's result: one card, or for a folder every card in `cards` (top-level fields then empty)."""

    cards: list[CardScan] = Field(default_factory=list, description="One result per image (folder scans).")
    skipped: list[SkippedImage] = Field(
        default_factory=list, description="Images of the folder not scanned (already scanned, unreadable)."
    )


class ScanLink(_Model):
    """A phone scan page link: open it on a phone to photograph cards straight into the CRM."""

    url: str
    expires_at: datetime
    valid_hours: int
    tags: list[str] = Field(default_factory=list)
    met_at: str | None = None
