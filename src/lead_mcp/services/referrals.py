"""Referrals: close the loop with the person who sent a lead.

When a referred lead books a meeting (reaches ``opportunity``) or becomes a
customer, a "thank the referrer" follow-up is scheduled for the referrer, due
now, once per referred lead and milestone: ``referral_milestones`` has one row
per (lead, milestone), so a lead that goes back and forth between stages never
triggers a second thank-you. A lead that jumps straight to customer gets one
thank-you (for the sale), and both milestones count as done.

A referrer who withdrew consent gets no automatic thank-you: the milestone is
still recorded (with no follow-up), so none appears later either.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.tables import ContactRow, ReferralMilestone
from lead_mcp.domain import FollowUp, FollowUpPurpose
from lead_mcp.services import followups as followup_service
from lead_mcp.services.records import followup_model, record_change
from lead_mcp.services.scope import Scope

MEETING = "meeting"
CUSTOMER = "customer"
MILESTONES_BY_STAGE = {"opportunity": (MEETING,), "customer": (CUSTOMER, MEETING)}
WHAT_HAPPENED = {MEETING: "booked a meeting with you", CUSTOMER: "became a customer"}


def _name(row: ContactRow) -> str:
    return (
        row.full_name
        or (row.emails[0] if row.emails else None)
        or (row.phones[0] if row.phones else "a lead")
    )


def _withdrew_consent(row: ContactRow) -> bool:
    # The same test as contacts.consent_withdrawn (that module imports this one, through stages).
    return bool(row.consent and row.consent.get("withdrawn_at"))


async def on_stage(session: AsyncSession, scope: Scope, lead: ContactRow, stage: str) -> list[FollowUp]:
    """Thank the referrer when a referred lead reaches a milestone stage for the first time."""
    milestones = MILESTONES_BY_STAGE.get(stage)
    if not milestones or not lead.referred_by_id:
        return []
    done = set(
        (
            await session.execute(
                select(ReferralMilestone.milestone).where(ReferralMilestone.contact_id == lead.id)
            )
        ).scalars()
    )
    new = [m for m in milestones if m not in done]
    if not new:
        return []
    referrer = (
        await session.execute(
            select(ContactRow).where(ContactRow.id == lead.referred_by_id, ContactRow.deleted_at.is_(None))
        )
    ).scalar_one_or_none()
    if referrer is None:
        return []
    milestone = new[0]
    if _withdrew_consent(referrer):
        for name in new:
            session.add(
                ReferralMilestone(
                    workspace_id=scope.workspace_id,
                    contact_id=lead.id,
                    milestone=name,
                    referrer_id=referrer.id,
                    followup_id=None,
                    at=scope.now(),
                )
            )
        skipped = {
            "lead_id": lead.id,
            "referrer_id": referrer.id,
            "milestone": milestone,
            "followup_id": None,
            "thank_you": "not scheduled: the referrer withdrew consent",
        }
        record_change(session, scope, referrer.id, "referral_milestone", skipped)
        record_change(session, scope, lead.id, "referral_milestone", skipped)
        await session.flush()
        return []
    lead_name = _name(lead)
    note = (
        f"Thank {_name(referrer)} for introducing {lead_name}: {lead_name} {WHAT_HAPPENED[milestone]}. "
        "A short thank-you keeps the referrals coming."
    )
    followup = followup_service.new_followup(
        scope,
        referrer,
        due_at=scope.now(),
        note=note,
        step=1,
        cadence=followup_service.MANUAL_CADENCE_NAME,
        purpose=FollowUpPurpose.THANK_REFERRER,
    )
    session.add(followup)
    await session.flush()
    for name in new:
        session.add(
            ReferralMilestone(
                workspace_id=scope.workspace_id,
                contact_id=lead.id,
                milestone=name,
                referrer_id=referrer.id,
                followup_id=followup.id,
                at=scope.now(),
            )
        )
    detail = {
        "lead_id": lead.id,
        "referrer_id": referrer.id,
        "milestone": milestone,
        "followup_id": followup.id,
    }
    record_change(session, scope, referrer.id, "referral_milestone", detail)
    record_change(session, scope, lead.id, "referral_milestone", detail)
    await session.flush()
    await followup_service.refresh_next_followup(session, referrer)
    return [followup_model(followup)]
