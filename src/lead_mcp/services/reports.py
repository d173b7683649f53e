"""pipeline_report: the numbers a small business can act on, fast at a million contacts.

The period selects contacts by creation time. Whole UTC days inside the
period are read from the running aggregates (``db/aggregates.py``: counters
per creation day kept in the same transaction as every change, plus an
all-time row set); the partial days at the period's edges are computed from
the contacts themselves with the same contribution function, so the figures
are exact for any ``since``/``until`` while the work stays proportional to the
number of days, not contacts. The default period (all time) reads only the
all-time rows. Definitions of every figure are in the output schema
(``domain.PipelineReport``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import local_date, start_of_day
from lead_mcp.db.aggregates import (
    ALL,
    ALL_TIME,
    CONVERTED,
    COUNTS,
    DAY,
    FUNNEL,
    FUNNEL_RANK,
    MONTH,
    NOT_NEW_SOURCES,
    REFERRERS,
    SPEED,
    contributions,
    fact_select,
    facts_of_rows,
)
from lead_mcp.db.tables import ContactRow, FollowUpRow, PipelineCount, PipelineReferrer, PipelineSpeed
from lead_mcp.domain import (
    OverdueFollowUps,
    OverdueItem,
    PipelineReport,
    ReferredLead,
    SecondTouch,
    Source,
    SourceConversion,
    SpeedToLead,
    Stage,
    StageTransition,
    TopReferrer,
)
from lead_mcp.errors import InvalidInput
from lead_mcp.services.followups import PENDING
from lead_mcp.services.interactions import bare_date, parse_instant
from lead_mcp.services.scope import Scope

TOP_REFERRERS = 10
CONVERTED_LEADS_SHOWN = 5
OVERDUE_SHOWN = 10
OPPORTUNITY_RANK = FUNNEL_RANK["opportunity"]
CONVERTED_LITERAL: ColumnElement[str] = literal_column(f"'{CONVERTED}'")


class _Totals:
    """Counters summed over the period."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.speed: dict[int, int] = defaultdict(int)
        self.referrers: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def add(self, table: str, key: tuple[Any, ...], values: tuple[int, ...] | list[int]) -> None:
        if table == COUNTS:
            slot = self.counts[(key[3], key[4], key[5])]
            for i, v in enumerate(values):
                slot[i] += int(v)
        elif table == SPEED:
            self.speed[int(key[3])] += int(values[0])
        elif table == REFERRERS:
            ref = self.referrers[key[3]]
            ref[0] += int(values[0])
            ref[1] += int(values[1])


def _period(scope: Scope, since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    lo = parse_instant(since, scope, field="since", date_time=time(0)) if since else None
    hi = None
    if until:
        hi = parse_instant(until, scope, field="until", date_time=time(0))
        if bare_date(until) is not None:  # a bare date includes that whole day
            hi = start_of_day(local_date(hi, scope.zone) + timedelta(days=1), scope.zone)
    if lo is not None and hi is not None and lo >= hi:
        raise InvalidInput("until", "is not after since", "Give a period whose end comes after its start")
    return lo, hi


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass
class _Plan:
    """Which counter rows cover a period, and which edge intervals are counted from the contacts."""

    workspace_id: str
    all_time: bool = False
    ranges: list[tuple[str, date | None, date | None]] = field(default_factory=list)
    edges: list[tuple[datetime | None, datetime | None]] = field(default_factory=list)

    def rows(self, table: Any) -> ColumnElement[bool]:
        """The condition on a counter table's rows, workspace included.

        Statements using it run with ``all_workspaces``: the session's own workspace filter, ANDed
        outside the OR, would make SQLite scan the workspace's rows instead of the ranges.
        """
        if self.all_time:
            return and_(table.workspace_id == self.workspace_id, table.grain == ALL, table.day == ALL_TIME)
        parts = []
        for name, start, end in self.ranges:
            # The workspace goes in every branch, so each is a primary-key range (SQLite's MULTI-INDEX OR).
            grain, day = table.grain, table.day
            conditions = [table.workspace_id == self.workspace_id, grain == name]
            if start is not None:
                conditions.append(day >= start)
            if end is not None:
                conditions.append(day < end)
            parts.append(and_(*conditions))
        return or_(*parts) if parts else false()


def _plan(workspace_id: str, lo: datetime | None, hi: datetime | None) -> _Plan:
    """Whole months from month rows, other whole UTC days from day rows, partial days from the contacts."""
    if lo is None and hi is None:
        return _Plan(workspace_id, all_time=True)
    d_lo = (
        None if lo is None else (lo.date() if lo == _midnight(lo.date()) else lo.date() + timedelta(days=1))
    )
    d_hi = None if hi is None else hi.date()
    if d_lo is not None and d_hi is not None and d_lo >= d_hi:
        return _Plan(workspace_id, edges=[(lo, hi)])
    plan = _Plan(workspace_id)
    if lo is not None and d_lo is not None and lo < _midnight(d_lo):
        plan.edges.append((lo, _midnight(d_lo)))
    if hi is not None and d_hi is not None and hi > _midnight(d_hi):
        plan.edges.append((_midnight(d_hi), hi))
    m_lo = None if d_lo is None else (d_lo if d_lo.day == 1 else _next_month(d_lo))
    m_hi = None if d_hi is None else d_hi.replace(day=1)
    if m_lo is not None and m_hi is not None and m_lo >= m_hi:
        plan.ranges.append((DAY, d_lo, d_hi))
        return plan
    plan.ranges.append((MONTH, m_lo, m_hi))
    if d_lo is not None and m_lo is not None and d_lo < m_lo:
        plan.ranges.append((DAY, d_lo, m_lo))
    if d_hi is not None and m_hi is not None and m_hi < d_hi:
        plan.ranges.append((DAY, m_hi, d_hi))
    return plan


async def _read_counters(session: AsyncSession, totals: _Totals, plan: _Plan) -> None:
    rows = await session.execute(
        select(
            PipelineCount.source,
            PipelineCount.stage,
            PipelineCount.furthest,
            func.sum(PipelineCount.contacts),
            func.sum(PipelineCount.touched),
            func.sum(PipelineCount.touched_twice),
        )
        .where(plan.rows(PipelineCount))
        .execution_options(all_workspaces=True)
        .group_by(PipelineCount.source, PipelineCount.stage, PipelineCount.furthest)
    )
    for source, stage, furthest, contacts, touched, twice in rows:
        totals.add(COUNTS, ("", "", "", source, stage, furthest), (contacts, touched, twice))
    speed = await session.execute(
        select(PipelineSpeed.bucket, func.sum(PipelineSpeed.contacts))
        .where(plan.rows(PipelineSpeed))
        .execution_options(all_workspaces=True)
        .group_by(PipelineSpeed.bucket)
    )
    for bucket, contacts in speed:
        totals.add(SPEED, ("", "", "", bucket), (contacts,))


async def _top_referrers_from_counters(
    session: AsyncSession, plan: _Plan, *, extra: int, include: set[str]
) -> dict[str, list[int]]:
    """Referrer totals: the top ones (enough to stay exact once edges are added) and those in ``include``."""
    limit = TOP_REFERRERS + extra
    found: dict[str, list[int]] = {}
    rows = plan.rows(PipelineReferrer)
    if plan.all_time:
        stmt = (
            select(PipelineReferrer.referrer_id, PipelineReferrer.referred, PipelineReferrer.converted)
            .where(rows)
            .execution_options(all_workspaces=True)
            .order_by(
                PipelineReferrer.converted.desc(),
                PipelineReferrer.referred.desc(),
                PipelineReferrer.referrer_id,
            )
            .limit(limit)
        )
        for referrer, referred, converted in await session.execute(stmt):
            found[referrer] = [int(referred), int(converted)]
        return found
    referred_sum = func.sum(PipelineReferrer.referred)
    converted_sum = func.sum(PipelineReferrer.converted)
    stmt = (
        select(PipelineReferrer.referrer_id, referred_sum, converted_sum)
        .where(rows)
        .execution_options(all_workspaces=True)
        .group_by(PipelineReferrer.referrer_id)
        .order_by(converted_sum.desc(), referred_sum.desc(), PipelineReferrer.referrer_id)
        .limit(limit)
    )
    for referrer, referred, converted in await session.execute(stmt):
        found[referrer] = [int(referred), int(converted)]
    missing = include - set(found)
    if missing:
        stmt = (
            select(PipelineReferrer.referrer_id, referred_sum, converted_sum)
            .where(rows, PipelineReferrer.referrer_id.in_(missing))
            .execution_options(all_workspaces=True)
            .group_by(PipelineReferrer.referrer_id)
        )
        for referrer, referred, converted in await session.execute(stmt):
            found[referrer] = [int(referred), int(converted)]
    return found


async def _scan_edges(
    session: AsyncSession, scope: Scope, totals: _Totals, edges: list[tuple[Any, Any]]
) -> _Totals:
    """Contributions of the contacts created in the edge intervals (also returned on their own)."""
    edge_totals = _Totals()
    columns = ContactRow.__table__.c
    for start, end in edges:
        stmt = fact_select(scope.workspace_id).where(columns.deleted_at.is_(None))
        if start is not None:
            stmt = stmt.where(columns.created_at >= start)
        if end is not None:
            stmt = stmt.where(columns.created_at < end)
        for facts in facts_of_rows(await session.execute(stmt)):
            for table, key, values in contributions(facts, grains=(DAY,)):
                totals.add(table, key, values)
                edge_totals.add(table, key, values)
    return edge_totals


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentile(hist: dict[int, int], share: float) -> int | None:
    """Nearest-rank percentile of a histogram of bucket lower bounds."""
    total = sum(hist.values())
    if total == 0:
        return None
    rank = max(math.ceil(share * total), 1)
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return bucket
    return max(hist)


async def _referrer_details(
    session: AsyncSession,
    scope: Scope,
    ranked: list[tuple[str, list[int]]],
    lo: datetime | None,
    hi: datetime | None,
) -> list[TopReferrer]:
    if not ranked:
        return []
    ids = [referrer for referrer, _ in ranked]
    # Looked up by the unique id alone, deliberately across workspaces (each row's workspace is
    # checked below, which the session guard cannot see, hence across_workspaces): with the usual workspace
    # filter, SQLite without statistics would rather walk the workspace's index than the id index.
    people = {
        row.id: row
        for row in (
            await session.execute(
                select(ContactRow.id, ContactRow.workspace_id, ContactRow.full_name, ContactRow.company)
                .where(ContactRow.id.in_(ids), ContactRow.deleted_at.is_(None))
                .execution_options(across_workspaces=True)
            )
        ).all()
        if row.workspace_id == scope.workspace_id
    }
    converted_ids = [referrer for referrer, (_, converted) in ranked if converted]
    leads: dict[str, list[ReferredLead]] = defaultdict(list)
    if converted_ids:
        order = func.row_number().over(
            partition_by=ContactRow.referred_by_id, order_by=(ContactRow.created_at, ContactRow.id)
        )
        inner = select(
            ContactRow.id, ContactRow.full_name, ContactRow.referred_by_id, order.label("n")
        ).where(
            ContactRow.referred_by_id.in_(converted_ids),  # implies "IS NOT NULL" for the partial index
            ContactRow.furthest_stage == CONVERTED_LITERAL,  # a literal, so the partial index applies
            ContactRow.deleted_at.is_(None),
        )
        if lo is not None:
            inner = inner.where(ContactRow.created_at >= lo)
        if hi is not None:
            inner = inner.where(ContactRow.created_at < hi)
        shown = inner.subquery()
        rows = await session.execute(
            select(shown.c.id, shown.c.full_name, shown.c.referred_by_id)
            .where(shown.c.n <= CONVERTED_LEADS_SHOWN)
            .order_by(shown.c.referred_by_id, shown.c.n)
        )
        for lead_id, full_name, referrer in rows:
            leads[referrer].append(ReferredLead(id=lead_id, full_name=full_name))
    out = []
    for referrer, (referred, converted) in ranked:
        person = people.get(referrer)
        if person is None:  # a deleted referrer disappears from the report as from every tool
            continue
        out.append(
            TopReferrer(
                referrer_id=referrer,
                full_name=person.full_name,
                company=person.company,
                referred=referred,
                converted=converted,
                converted_leads=leads.get(referrer, []),
            )
        )
    return out


async def _overdue(session: AsyncSession, scope: Scope) -> OverdueFollowUps:
    today = scope.today()
    cutoff = start_of_day(today, scope.zone)
    pending = and_(FollowUpRow.status == PENDING, FollowUpRow.due_at < cutoff)
    count, oldest = (
        await session.execute(select(func.count(), func.min(FollowUpRow.due_at)).where(pending))
    ).one()
    rows = (
        await session.execute(
            select(FollowUpRow.id, FollowUpRow.contact_id, FollowUpRow.due_at, ContactRow.full_name)
            .join(ContactRow, ContactRow.id == FollowUpRow.contact_id)
            .where(pending, ContactRow.deleted_at.is_(None))
            .order_by(FollowUpRow.due_at, FollowUpRow.id)
            .limit(OVERDUE_SHOWN)
        )
    ).all()
    items = [
        OverdueItem(
            followup_id=r.id,
            contact_id=r.contact_id,
            full_name=r.full_name,
            due_at=r.due_at,
            overdue_days=(today - local_date(r.due_at, scope.zone)).days,
        )
        for r in rows
    ]
    return OverdueFollowUps(count=int(count or 0), oldest_due_at=oldest, items=items)


async def pipeline_report(
    session: AsyncSession, scope: Scope, *, since: str | None = None, until: str | None = None
) -> PipelineReport:
    """Counts, speed-to-lead, second touches, conversion, referrers and overdue follow-ups for a period."""
    lo, hi = _period(scope, since, until)
    totals = _Totals()
    plan = _plan(scope.workspace_id, lo, hi)
    if plan.all_time or plan.ranges:
        await _read_counters(session, totals, plan)
    edge_totals = await _scan_edges(session, scope, totals, plan.edges)
    referrers: dict[str, list[int]] = {}
    if plan.all_time or plan.ranges:
        referrers = await _top_referrers_from_counters(
            session, plan, extra=len(edge_totals.referrers), include=set(edge_totals.referrers)
        )
    for referrer, (referred, converted) in edge_totals.referrers.items():
        slot = referrers.setdefault(referrer, [0, 0])
        slot[0] += referred
        slot[1] += converted
    ranked = sorted(
        ((r, v) for r, v in referrers.items() if v[0] > 0),
        key=lambda item: (-item[1][1], -item[1][0], item[0]),
    )[:TOP_REFERRERS]

    by_stage = {stage.value: 0 for stage in Stage}
    by_source = {source.value: 0 for source in Source}
    leads = touched = twice = 0
    per_source: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    reached = [0] * len(FUNNEL)
    for (source, stage, furthest), (contacts, touched_n, twice_n) in totals.counts.items():
        if not contacts:
            continue
        by_stage[stage] = by_stage.get(stage, 0) + contacts
        by_source[source] = by_source.get(source, 0) + contacts
        if source not in NOT_NEW_SOURCES:
            leads += contacts
            touched += touched_n
            twice += twice_n
        rank = FUNNEL_RANK.get(furthest, FUNNEL_RANK["lead"])
        slot = per_source[source]
        slot[0] += contacts
        slot[1] += contacts if rank >= OPPORTUNITY_RANK else 0
        slot[2] += contacts if furthest == CONVERTED else 0
        for i in range(rank + 1):
            reached[i] += contacts
    contacts_total = sum(by_stage.values())
    responded = sum(totals.speed.values())
    speed = SpeedToLead(
        leads=leads,
        responded=responded,
        unanswered=max(leads - responded, 0),
        median_minutes=_percentile(totals.speed, 0.5),
        p90_minutes=_percentile(totals.speed, 0.9),
        share_under_5_minutes=_rate(sum(n for b, n in totals.speed.items() if b < 5), leads),
        share_under_1_hour=_rate(sum(n for b, n in totals.speed.items() if b < 60), leads),
    )
    conversion = [
        SourceConversion(
            source=Source(source), leads=n, reached_opportunity=opp, customers=won, rate=_rate(won, n)
        )
        for source, (n, opp, won) in sorted(per_source.items(), key=lambda item: (-item[1][0], item[0]))
        if n
    ]
    transitions = [
        StageTransition(
            from_stage=Stage(FUNNEL[i]),
            to_stage=Stage(FUNNEL[i + 1]),
            reached_from=reached[i],
            reached_to=reached[i + 1],
            rate=_rate(reached[i + 1], reached[i]),
        )
        for i in range(len(FUNNEL) - 1)
    ]
    return PipelineReport(
        since=lo,
        until=hi,
        contacts=contacts_total,
        by_stage=by_stage,
        by_source=by_source,
        speed_to_lead=speed,
        second_touch_rate=_rate(twice, leads),
        second_touch=SecondTouch(leads=leads, touched=touched, touched_twice=twice),
        conversion_by_source=conversion,
        conversion_by_stage=transitions,
        top_referrers=await _referrer_details(session, scope, ranked, lo, hi),
        overdue_followups=await _overdue(session, scope),
    )
