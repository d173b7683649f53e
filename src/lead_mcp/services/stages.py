"""Stages and qualification: ``cold -> lead -> mql -> sql -> opportunity -> customer``, and ``lost``.

Every stage change goes through :func:`change_stage`, whichever tool asked for
it (qualify_lead, update_contact, complete_followup, bulk_update): it is
recorded in the contact's history (who, when, from -> to, through which tool)
and as a ``note`` interaction carrying the user ("Stage lead -> sql via
qualify_lead"), closing stages stop the cadence, and milestone stages thank
the referrer. That note is not a touch: it is stored without moving
``last_touch_at``, ``first_response_at`` or the outbound-touch count, and
nothing that looks for touches (speed-to-lead, second touches, replies,
scoring, drafts) counts notes. The furthest stage
a contact ever reached is kept by the store (``db/aggregates.py``) for the
conversion figures.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.aggregates import FUNNEL_RANK
from lead_mcp.db.tables import ContactRow, InteractionRow, new_id
from lead_mcp.domain import Direction, FollowUp, InteractionKind, QualifyResult, Stage, StageChange
from lead_mcp.errors import InvalidInput
from lead_mcp.services import cadences, normalize, referrals, scoring
from lead_mcp.services.followups import CLOSED_STAGES
from lead_mcp.services.records import contact_model, load_contact, record_change
from lead_mcp.services.scope import Scope

BANT_LIMITS = {"budget": 300, "authority": 300, "need": 1000, "timeline": 300}


def rank(stage: str) -> int:
    """Position of a stage in the funnel (lost: -1)."""
    return FUNNEL_RANK.get(stage, -1)


async def change_stage(
    session: AsyncSession, scope: Scope, row: ContactRow, stage: Stage, *, via: str
) -> tuple[StageChange | None, list[FollowUp]]:
    """Move a contact to a stage and apply what follows; returns the change and any follow-ups it created."""
    old = row.stage
    new = Stage(stage).value
    if old == new:
        return None, []
    now = scope.now()
    row.stage = new
    row.updated_at = now
    _record_transition(session, scope, row, old, new, via=via)
    if new in CLOSED_STAGES:
        await cadences.stop(session, scope, row, reason=f"now {new}")
    scheduled = await referrals.on_stage(session, scope, row, new)
    change = StageChange(from_stage=Stage(old), to_stage=Stage(new), at=now, by=scope.user_id, via=via)
    return change, scheduled


def _record_transition(
    session: AsyncSession, scope: Scope, row: ContactRow, old: str, new: str, *, via: str
) -> None:
    """The history entry and the note interaction of one stage move (not a touch: no timestamps move)."""
    record_change(
        session, scope, row.id, "stage_changed", {"from": old, "to": new, "by": scope.user_id, "via": via}
    )
    session.add(
        InteractionRow(
            id=new_id(),
            workspace_id=scope.workspace_id,
            contact_id=row.id,
            user_id=scope.user_id,
            kind=InteractionKind.NOTE.value,
            direction=Direction.OUTBOUND.value,
            occurred_at=scope.now(),
            summary=f"Stage {old} → {new} via {via}",
            data={"stage_change": {"from": old, "to": new, "via": via}},
            created_at=scope.now(),
        )
    )


async def after_bulk_stage_change(
    session: AsyncSession, scope: Scope, moved: list[tuple[ContactRow, str]], *, via: str
) -> list[FollowUp]:
    """What :func:`change_stage` does, for many contacts whose stage was already set (old stage given).

    Besides the caller's own history entry (``bulk_updated`` with the stage's old and new value),
    each move is recorded as one stage change does it (a ``stage_changed`` entry with ``by`` and
    a note interaction); this stops cadences for closed stages (one statement per 500 contacts),
    thanks referrers, and recomputes scores in batches.
    """
    if not moved:
        return []
    for row, old in moved:
        _record_transition(session, scope, row, old, row.stage, via=via)
    closed = [row for row, _ in moved if row.stage in CLOSED_STAGES]
    await cadences.stop_many(session, scope, closed)
    scheduled: list[FollowUp] = []
    for row, _ in moved:
        if row.referred_by_id and row.stage in referrals.MILESTONES_BY_STAGE:
            scheduled += await referrals.on_stage(session, scope, row, row.stage)
    await scoring.rescore_many(session, scope, [row for row, _ in moved])
    return scheduled


async def qualify_lead(
    session: AsyncSession,
    scope: Scope,
    *,
    contact_id: str,
    stage: Stage | None = None,
    budget: str | None = None,
    authority: str | None = None,
    need: str | None = None,
    timeline: str | None = None,
) -> QualifyResult:
    """Set a lead's stage and BANT facts, and return its fresh score with the reasons."""
    row = await load_contact(session, contact_id)
    given = {"budget": budget, "authority": authority, "need": need, "timeline": timeline}
    changed: dict[str, dict[str, Any]] = {}
    for name, raw in given.items():
        if raw is None:
            continue
        value = normalize.clean_text(raw)
        if value and len(value) > BANT_LIMITS[name]:
            raise InvalidInput(name, f"is {len(value)} characters; at most {BANT_LIMITS[name]}", "Shorten it")
        if getattr(row, name) != value:
            changed[name] = {"old": getattr(row, name), "new": value}
            setattr(row, name, value)
    if changed:
        row.updated_at = scope.now()
        record_change(session, scope, row.id, "qualified", {"fields": changed, "by": scope.user_id})
    stage_change: StageChange | None = None
    scheduled: list[FollowUp] = []
    if stage is not None:
        stage_change, scheduled = await change_stage(session, scope, row, stage, via="qualify_lead")
    await session.flush()
    score, reasons = await scoring.score_contact(session, scope, row)
    await session.flush()
    return QualifyResult(
        contact=contact_model(row),
        score=score,
        reasons=reasons,
        stage_change=stage_change,
        also_scheduled=scheduled,
        missing=[name for name in BANT_LIMITS if not getattr(row, name)],
    )
