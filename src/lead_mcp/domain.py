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
    next_followup: FollowUp | None = Field(
        description="The next cadence step, or null when the cadence ended."
    )


class DeleteResult(_Model):
    """Result of delete_contact."""

    deleted: bool
    contact_id: str
    full_name: str | None


# --- Exchange: exports, imports, HubSpot (issue 6) ---------------------------------------------


class ExportResult(_Model):
    """An export: the text itself (up to 1,000 contacts) or a resource to read (more)."""

    format: str = Field(description="vcard or csv.")
    version: str | None = Field(None, description="vCard version (3.0 or 4.0); null for CSV.")
    count: int = Field(description="Contacts exported.")
    bytes: int = Field(description="Size of the export in bytes (UTF-8).")
    filename: str = Field(description="A file name to save it under, e.g. lead-mcp-contacts-2026-03-10.vcf.")
    content: str | None = Field(
        None, description="The .vcf or .csv text when the export is inline; null when it is a resource."
    )
    resource_uri: str | None = Field(
        None,
        description="lead://exports/... to read with resources/read when the export is too big to inline.",
    )
    expires_at: datetime | None = Field(None, description="When a stored export is deleted.")


class ImportIssue(_Model):
    """A record that was not imported (error) or lost a value (warning), and why."""

    record: int = Field(description="1-based record number: the card or data row in the file.")
    line: int | None = Field(None, description="1-based line of the file where the record starts.")
    reason: str


class ImportResult(_Model):
    """What an import did: counts, and each record that failed with its line and reason."""

    format: str = Field(description="vcard, csv, linkedin or google: what the file was read as.")
    dry_run: bool = Field(False, description="True when nothing was saved (counts are what would happen).")
    records: int = Field(description="Records read (cards or data rows, blank rows not counted).")
    created: int = Field(description="New contacts.")
    merged: int = Field(description="Records merged into an existing contact (new details added).")
    skipped: int = Field(description="Records that matched an existing contact and brought nothing new.")
    errors: list[ImportIssue] = Field(description="Records not imported, with line and reason (first 200).")
    errors_total: int = Field(0, description="All errors, when there are more than listed.")
    warnings: list[ImportIssue] = Field(
        default_factory=list,
        description="Values dropped from imported records, e.g. an invalid phone (first 200).",
    )
    warnings_total: int = 0
    committed_through: int = Field(
        description="Every record up to this number is saved. Imports commit in batches; if one stops "
        "half-way, the records after this number were not saved and re-running the import is safe."
    )
    columns: dict[str, str] = Field(default_factory=dict, description="CSV column -> the field it filled.")
    unmapped_columns: list[str] = Field(
        default_factory=list, description="CSV columns that hold data but map to no contact field."
    )
    follow_ups_scheduled: bool = Field(False, description="True when new contacts got a first follow-up.")


class SyncFailure(_Model):
    """A contact HubSpot did not take, and why."""

    contact_id: str
    full_name: str | None
    email: str | None
    reason: str


class SyncResult(_Model):
    """What sync_hubspot pushed: counts and each failed contact with the reason."""

    pushed: int = Field(description="Contacts HubSpot accepted in this run (created + updated).")
    created: int = Field(description="Of those, contacts new to HubSpot.")
    updated: int = Field(description="Of those, contacts that already existed in HubSpot (matched by email).")
    unchanged: int = Field(description="Contacts skipped because nothing changed since their last push.")
    failed: list[SyncFailure] = Field(description="Contacts not pushed, with the reason (first 200).")
    failed_total: int = Field(0, description="All failures, when there are more than listed.")
    requests: int = Field(0, description="HTTP requests sent to HubSpot, retries included.")
    retries: int = Field(0, description="Requests repeated after a 429 or 5xx answer.")
    warnings: list[str] = Field(default_factory=list)
