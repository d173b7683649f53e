"""Pydantic models of the domain: what services take and return, and what tools show.

Naming follows families: ``ContactCreate`` / ``ContactUpdate`` come in,
``Contact`` / ``ContactSummary`` go out. Descriptions here become the output
schemas an assistant reads, so they are written for it.
"""

from __future__ import annotations

from datetime import date, datetime
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


class FollowUpPurpose(StrEnum):
    """What a follow-up is for."""

    CADENCE = "cadence"
    MANUAL = "manual"
    REPLY = "reply"
    MEETING_PREP = "meeting_prep"
    THANK_REFERRER = "thank_referrer"
    NURTURE = "nurture"


class FollowUpResult(StrEnum):
    """How a follow-up went, as a structured result that moves the lead (see complete_followup)."""

    REPLIED = "replied"
    NO_ANSWER = "no_answer"
    MEETING_BOOKED = "meeting_booked"
    NOT_INTERESTED = "not_interested"
    WRONG_PERSON = "wrong_person"
    NOT_NOW = "not_now"
    WON = "won"


class Tone(StrEnum):
    """Voice of a drafted follow-up note."""

    FRIENDLY = "friendly"
    PROFESSIONAL = "professional"
    BRIEF = "brief"


class _Model(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# A custom-field value as stored and shown: text, a number, or a date as YYYY-MM-DD text.
CustomValue = str | int | float


class Consent(_Model):
    """Consent a person gave (form leads): on what basis and when."""

    basis: str = Field(description="Legal basis, e.g. 'consent' for a ticked form box.")
    given_at: datetime | None = Field(description="When consent was given (null when none was recorded).")
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
    custom: dict[str, CustomValue] = Field(
        default_factory=dict,
        description="Custom-field values by field key (list_custom_fields names them): text, number, "
        "date as YYYY-MM-DD, or one of a choice field's choices.",
    )


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
    custom: dict[str, Any] = Field(default_factory=dict)


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
    custom: dict[str, Any] | None = Field(
        None, description="Custom-field values to set by key; null or an empty string clears that field."
    )
    owner: str | None = None


class Interaction(_Model):
    """One touch with a contact."""

    id: str
    contact_id: str
    kind: InteractionKind
    direction: Direction
    occurred_at: datetime
    summary: str
    user_id: str | None = Field(
        None, description="The seat who logged it (null: the local user or a visitor)."
    )
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
    purpose: FollowUpPurpose = Field(
        FollowUpPurpose.CADENCE,
        description="What it is for: a cadence step, a manual reminder, answering a reply, meeting prep, "
        "thanking a referrer, or a later nurture check-in.",
    )
    outcome: str | None = Field(None, description="What happened, in the user's words, once done.")
    completed_at: datetime | None = None


class ChangeRecord(_Model):
    """One entry of a contact's history: created, merged, field changed."""

    id: str = Field(description="Id of this history entry (undo_merge takes the id of a 'merged' entry).")
    at: datetime
    user_id: str | None = Field(
        None, description="The seat who made the change (null: the local user, a card visitor, the system)."
    )
    action: str = Field(description="created, merged, updated, deleted ...")
    detail: dict[str, Any] = Field(description="What changed: fields with old and new values, kept values.")


class ContactDetail(_Model):
    """A contact with its touches, follow-ups and history (get_contact)."""

    contact: Contact
    interactions: list[Interaction] = Field(description="Newest first.")
    followups: list[FollowUp] = Field(description="Pending first, then by due time.")
    history: list[ChangeRecord] = Field(description="Newest first.")
    interactions_truncated: bool = Field(False, description="True when older interactions were left out.")
    followups_truncated: bool = Field(False, description="True when older closed follow-ups were left out.")
    history_truncated: bool = Field(False, description="True when older history entries were left out.")


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
    purpose: FollowUpPurpose = FollowUpPurpose.CADENCE
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
    reply_followup: FollowUp | None = Field(
        None,
        description="When this touch was a reply, the cadence stops and this follow-up (due now) reminds you "
        "to answer.",
    )


class StageChange(_Model):
    """A move of a contact from one pipeline stage to another (kept in its history)."""

    from_stage: Stage
    to_stage: Stage
    at: datetime
    by: str | None = Field(None, description="Id of the user who made the change (null: the local user).")
    via: str = Field(description="What made the change: qualify_lead, update_contact, complete_followup ...")


class CompleteFollowUpResult(_Model):
    """Result of complete_followup: the closed follow-up, the logged touch and the next one."""

    completed: FollowUp
    interaction: Interaction | None
    next_followup: FollowUp | None = Field(
        description="The next cadence step, or null when the cadence ended."
    )
    result: FollowUpResult | None = Field(None, description="The structured result that was applied.")
    contact: ContactSummary | None = Field(None, description="The contact after the change (stage, score).")
    stage_change: StageChange | None = Field(None, description="The stage move the result caused, if any.")
    also_scheduled: list[FollowUp] = Field(
        default_factory=list,
        description="Other follow-ups this created: meeting prep, a nurture check-in, or a thank-you "
        "to the referrer.",
    )
    effects: list[str] = Field(
        default_factory=list, description="What happened besides closing the follow-up, in plain sentences."
    )


class ScoreReason(_Model):
    """One factor of a lead's score."""

    factor: str = Field(
        description="Factor name from the weights table, e.g. title_seniority, replied, budget."
    )
    group: str = Field(description="fit, behaviour, recency, bant or stage.")
    points: int = Field(description="Points this factor gave (0 when it did not apply).")
    max_points: int = Field(description="The most this factor can give.")
    detail: str = Field(description="Why, in words; for a missing fact, what to find out.")


class QualifyResult(_Model):
    """Result of qualify_lead: the contact, its new score with the reasons, and what the change set off."""

    contact: Contact
    score: int = Field(description="Lead score 0-100: the sum of the reasons' points (0 once lost).")
    reasons: list[ScoreReason] = Field(
        description="Every factor, with the points it gave; the highest first."
    )
    stage_change: StageChange | None = Field(None, description="The stage move, when the stage changed.")
    also_scheduled: list[FollowUp] = Field(
        default_factory=list, description="Follow-ups the change created (a thank-you to the referrer)."
    )
    missing: list[str] = Field(
        default_factory=list, description="BANT facts still unknown: ask about these next."
    )


class Cadence(_Model):
    """A follow-up cadence: its steps as day offsets from the first touch."""

    name: str
    steps_days: list[int] = Field(
        description="Day offsets of the touches from the first one, e.g. [0, 2, 7, 30]."
    )
    description: str | None = None
    builtin: bool = Field(description="True for the built-in default cadence.")


class CadenceList(_Model):
    """The cadences of this workspace."""

    items: list[Cadence]


class DraftFact(_Model):
    """A stored fact a drafted note was built from."""

    name: str = Field(description="met_at, referred_by, source, asked_about, last_touch, step, ...")
    value: str = Field(description="The stored value, exactly as used.")
    source: str = Field(description="Where it is stored, e.g. contact.met_at or interaction <id>.")


class Draft(_Model):
    """A drafted follow-up note, the facts it uses, and the follow-up it is stored on."""

    contact_id: str
    followup: FollowUp = Field(description="The pending follow-up the draft was stored on (as its note).")
    tone: Tone
    first_touch: bool = Field(description="True when we have not reached out to this person yet.")
    subject: str = Field(description="A subject line for an email.")
    text: str = Field(
        description="The note: only stored facts, no invented details. Polish it in the user's voice."
    )
    facts: list[DraftFact] = Field(description="Every stored fact the note uses.")
    missing: list[str] = Field(
        default_factory=list,
        description="Facts that are not stored and would make the note better; ask the user rather "
        "than guess.",
    )


class SpeedToLead(_Model):
    """How fast new leads got a first outbound touch (creation -> first outbound touch)."""

    leads: int = Field(description="New leads in the period (imports are left out: they were not new).")
    responded: int = Field(description="Leads that got an outbound touch.")
    unanswered: int = Field(description="Leads with no outbound touch yet.")
    median_minutes: int | None = Field(
        description="Median minutes to the first touch over responded leads (nearest rank; exact "
        "below 1 hour, "
        "then rounded down to 5 min below 2 h, 15 min below 8 h, 1 h below 2 days, 1 day beyond)."
    )
    p90_minutes: int | None = Field(description="90th percentile minutes, same rounding as the median.")
    share_under_5_minutes: float | None = Field(
        description="Share (0-1) of all leads touched within 5 minutes; unanswered leads count against it."
    )
    share_under_1_hour: float | None = Field(description="Share (0-1) of all leads touched within 1 hour.")


class SecondTouch(_Model):
    """How many new leads got a first and a second outbound touch."""

    leads: int = Field(description="New leads in the period (imports left out).")
    touched: int = Field(description="Leads with at least one outbound touch.")
    touched_twice: int = Field(description="Leads with at least two outbound touches.")


class SourceConversion(_Model):
    """Conversion of the leads from one source."""

    source: Source
    leads: int
    reached_opportunity: int = Field(description="Leads that reached opportunity (a meeting) or further.")
    customers: int = Field(description="Leads that became customers (even if lost later).")
    rate: float | None = Field(description="customers / leads (0-1); null without leads.")


class StageTransition(_Model):
    """How many leads that reached one stage went on to reach the next."""

    from_stage: Stage
    to_stage: Stage
    reached_from: int = Field(description="Leads whose furthest stage is from_stage or beyond.")
    reached_to: int = Field(description="Leads whose furthest stage is to_stage or beyond.")
    rate: float | None = Field(description="reached_to / reached_from (0-1).")


class ReferredLead(_Model):
    """A lead someone referred."""

    id: str
    full_name: str | None


class TopReferrer(_Model):
    """A contact who referred leads, with what those leads became."""

    referrer_id: str
    full_name: str | None = Field(description="Null when the referrer was deleted.")
    company: str | None
    referred: int = Field(description="Leads in the period they referred.")
    converted: int = Field(description="Of those, leads that became customers.")
    converted_leads: list[ReferredLead] = Field(description="The converted leads (up to 5).")


class OverdueItem(_Model):
    """An overdue follow-up."""

    followup_id: str
    contact_id: str
    full_name: str | None
    due_at: datetime
    overdue_days: int


class OverdueFollowUps(_Model):
    """Pending follow-ups due before today (calendar days in the configured zone), across all contacts."""

    count: int
    oldest_due_at: datetime | None
    items: list[OverdueItem] = Field(description="The most overdue first (up to 10).")


class PipelineReport(_Model):
    """Pipeline numbers for the contacts created in a period (default: all time)."""

    since: datetime | None = Field(description="Start of the period (inclusive); null: the beginning.")
    until: datetime | None = Field(description="End of the period (exclusive); null: now.")
    contacts: int = Field(description="Contacts created in the period (deleted ones left out).")
    by_stage: dict[str, int] = Field(description="Contacts per current stage; adds up to contacts.")
    by_source: dict[str, int] = Field(
        description="Contacts per source; adds up to contacts (a contact added without a source is manual)."
    )
    speed_to_lead: SpeedToLead
    second_touch_rate: float | None = Field(
        description="Share (0-1) of new leads with at least two outbound touches (most sales need a second "
        "touch); null without leads."
    )
    second_touch: SecondTouch
    conversion_by_source: list[SourceConversion] = Field(description="Per source, most leads first.")
    conversion_by_stage: list[StageTransition] = Field(
        description="Funnel from cold to customer: of the leads that reached a stage, the share that "
        "reached the next."
    )
    top_referrers: list[TopReferrer] = Field(
        description="Up to 10 referrers, most converted leads first, then most referred."
    )
    overdue_followups: OverdueFollowUps


class DeleteResult(_Model):
    """Result of delete_contact."""

    deleted: bool = Field(description="True when it was deleted or erased; false if the user said no.")
    contact_id: str
    full_name: str | None
    erased: bool = Field(False, description="True when the contact and its whole history are gone for good.")
    restorable_until: datetime | None = Field(
        None, description="restore_contact brings the contact back until this time (not after an erase)."
    )
    note: str | None = Field(None, description="What happened, e.g. that the user declined.")


# --- Custom fields, privacy, bulk changes, calendar feed, ChatGPT connector (issue 7b) ---


class CustomFieldType(StrEnum):
    """The type of a custom field's values."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"


class CustomField(_Model):
    """A user-defined property of contacts."""

    key: str = Field(description="The key values are stored under, e.g. 'industry' (add_contact's custom).")
    label: str = Field(description="The name people see, e.g. 'Industry'.")
    type: CustomFieldType
    choices: list[str] | None = Field(None, description="Allowed values of a choice field.")
    description: str | None = None
    created_at: datetime


class CustomFieldList(_Model):
    """The workspace's custom fields."""

    items: list[CustomField]


class KeyClash(_Model):
    """A value that another contact took while this one was deleted."""

    field: str = Field(description="emails, phones or full_name.")
    value: str
    other_contact_id: str = Field(description="The contact that holds it now (get_contact shows it).")


class RestoreResult(_Model):
    """Result of restore_contact."""

    contact: Contact
    restored_followups: int = Field(description="Follow-ups the delete had cancelled, pending again.")
    clashes: list[KeyClash] = Field(
        default_factory=list,
        description="Emails or phones another contact took meanwhile: removed from this contact (kept in its "
        "history), and names that now match another contact. Compare the two with get_contact.",
    )


class ConsentResult(_Model):
    """Result of withdraw_consent."""

    contact: Contact
    cancelled_followups: int = Field(description="Pending follow-ups cancelled by the withdrawal.")


class UndoMergeResult(_Model):
    """Result of undo_merge."""

    contact: Contact
    reverted: list[str] = Field(description="Fields given back their values from before the merge.")
    skipped: dict[str, str] = Field(
        default_factory=dict, description="Fields left alone because they changed after the merge, and why."
    )
    split_contact: Contact | None = Field(
        None, description="The new contact made from the details the merge brought in (split_off=true)."
    )
    split_set_aside: list[str] = Field(
        default_factory=list,
        description="Incoming emails or phones the new contact could not take: a contact still holds them.",
    )


class BulkChange(_Model):
    """What bulk_update changes on each selected contact."""

    add_tags: list[str] = Field(default_factory=list)
    remove_tags: list[str] = Field(default_factory=list)
    stage: Stage | None = None
    owner_id: str | None = Field(None, description="The new owner's user id ('' clears the owner).")


class BulkUpdateResult(_Model):
    """Result of bulk_update: how many contacts match, and how many changed (0 on a dry run)."""

    dry_run: bool
    matched: int = Field(description="Contacts the selection covers.")
    changed: int = Field(description="Contacts actually changed (0 on a dry run).")
    would_change: int = Field(description="Contacts the change would alter (the rest already have it).")
    change: BulkChange
    sample: list[ContactSummary] = Field(description="Up to 10 selected contacts, to check the selection by.")
    note: str


class CalendarFeedResult(_Model):
    """The private calendar feed of due follow-ups."""

    url: str | None = Field(
        description="The secret https URL to subscribe to; shown only when the feed is made or rotated."
    )
    webcal_url: str | None = Field(description="The same feed as webcal:// (opens Apple Calendar directly).")
    active: bool = Field(description="True while a feed exists.")
    created_at: datetime | None
    last_fetched_at: datetime | None = Field(description="When a calendar app last fetched the feed.")
    note: str


class ConnectorSearchResult(_Model):
    """One search hit, as ChatGPT connectors read it."""

    id: str = Field(description="Pass to fetch to read the whole record.")
    title: str
    url: str


class ConnectorSearchResults(_Model):
    """search results, as ChatGPT connectors and deep research read them."""

    results: list[ConnectorSearchResult]


class ConnectorDocument(_Model):
    """A contact as one document, as ChatGPT connectors and deep research read it."""

    id: str
    title: str
    text: str = Field(description="The record as readable text: fields, notes, touches, follow-ups.")
    url: str
    metadata: dict[str, str] = Field(description="Stage, source, score, company and other facts as strings.")


class CardTheme(StrEnum):
    """Look of the public card page."""

    CLASSIC = "classic"
    MIDNIGHT = "midnight"
    FOREST = "forest"
    SUNSET = "sunset"
    MONO = "mono"


class CardLink(_Model):
    """A link shown on the card page (LinkedIn, booking page, portfolio...)."""

    label: str
    url: str


class Card(_Model):
    """The user's own digital business card, as published at its page."""

    slug: str = Field(description="The page's address part: the card lives at {public base}/c/{slug}.")
    published: bool = Field(description="False after unpublish_card: the page then answers 410 Gone.")
    full_name: str
    title: str | None
    company: str | None
    email: str | None
    phone: str | None = Field(description="E.164, e.g. +14155550100.")
    website: str | None = Field(description="Host and path without scheme, e.g. example.com/team.")
    bio: str | None
    links: list[CardLink]
    theme: CardTheme
    has_photo: bool
    former_slugs: list[str] = Field(
        default_factory=list, description="Earlier slugs; they redirect here, so printed codes keep working."
    )
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class CardLinks(_Model):
    """Where a card can be opened, saved and scanned."""

    url: str = Field(description="The card page, to share as a link.")
    vcard_url: str = Field(description="The vCard 3.0 download ('Save contact').")
    qr_url: str = Field(description="The QR code as PNG (encodes the page URL + ?src=qr to count scans).")
    qr_svg_url: str = Field(description="The same QR code as SVG, for print.")
    nfc_url: str = Field(
        description="An NDEF message (one URI record, ?src=nfc) to write onto an NFC tag or sticker."
    )


class PublishCardResult(CardLinks):
    """Result of publish_card: the card's links, the card, and whether the link works beyond this machine."""

    slug: str
    created: bool = Field(description="True on the first publish; false when an existing card was updated.")
    card: Card
    reachable_from_internet: bool = Field(
        description="False when the public base URL is loopback: the link then only opens on this machine."
    )
    notice: str | None = Field(None, description="Something to tell the user (e.g. how to share it).")


class UnpublishCardResult(_Model):
    """Result of unpublish_card."""

    slug: str
    published: bool = Field(description="Always false after this call.")
    was_published: bool = Field(description="False when the card was already unpublished.")
    url: str = Field(description="The page, which now answers 410 Gone (publish_card brings it back).")


class CardStatsDay(_Model):
    """One day of card activity (calendar day in the configured time zone)."""

    day: date
    views: int = Field(description="Page views (link previews by known bots are not counted).")
    qr_scans: int = Field(description="Views that came from the QR code (?src=qr); included in views.")
    nfc_taps: int = Field(description="Views that came from an NFC tag (?src=nfc); included in views.")
    vcard_downloads: int = Field(description="'Save contact' downloads of the vCard.")
    form_submissions: int = Field(description="Lead form posts that were accepted and stored.")
    new_leads: int = Field(description="Form submissions that created a new contact (the rest merged).")
    spam_blocked: int = Field(description="Posts refused as automated (honeypot, too fast, bad token).")


class CardStats(_Model):
    """Card analytics: per-day counts and totals, without any data about the visitors."""

    slug: str
    since: date
    until: date
    totals: CardStatsDay = Field(description="Sums over the period (its day is the period's last day).")
    conversion_rate: float | None = Field(
        description="Form submissions per page view over the period (null without views)."
    )
    save_rate: float | None = Field(description="vCard downloads per page view (null without views).")
    days: list[CardStatsDay] = Field(description="Days with any activity, newest first.")


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


# --- Exchange: exports, imports, HubSpot (issue 6) ---------------------------------------------


class ExportResult(_Model):
    """An export: the text itself (up to 1,000 contacts that fit in one result) or a resource to read."""

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
    notices: list[str] = Field(
        default_factory=list,
        description="Warnings about the whole file, e.g. lines that were not UTF-8 and were read as "
        "Windows-1252 (Excel's default); worth telling the user.",
    )


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
