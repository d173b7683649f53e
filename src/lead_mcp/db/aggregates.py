"""Running aggregates behind ``pipeline_report``, kept in the same transaction as every contact change.

Scanning a million contacts for each report is too slow, so three small tables
hold counters per UTC creation day, per month and for all time (the ``grain``
column: ``d`` a day, ``m`` a month whose ``day`` is its 1st, ``a`` all time
under the sentinel day ``0001-01-01``):

    pipeline_counts     (grain, day, source, stage, furthest) -> contacts, touched, touched_twice
    pipeline_speed      (grain, day, bucket)                  -> contacts answered within that bucket
    pipeline_referrers  (grain, day, referrer_id)             -> referred, converted

A report reads whole months from the month rows, the remaining whole days from
the day rows, and the partial days at its edges from the contacts themselves.

A contact *contributes* a fixed set of counter increments that depends only on
its own columns (:func:`contributions`). After every ORM flush a listener
subtracts the contribution of each changed contact's previous state and adds
that of its new state, so any code path that changes contacts through the
session (add, merge, stage change, touch, soft delete, restore, hard delete)
keeps the counters exact without knowing about them. ``update(ContactRow)`` and
``delete(ContactRow)`` statements run through a session are caught too: the
affected contacts are read before (and, for an update, after) the statement.
Core ``insert`` statements are not seen by either listener: the bulk import
calls :func:`count_values` with the rows it inserts, and add_contact
:func:`count_new_contact` for the one it writes. Only SQL that bypasses
the session entirely (a raw bulk load, as the benchmark does) needs
:func:`rebuild` afterwards.

A second listener keeps ``contacts.furthest_stage`` (the furthest funnel stage
ever held, which conversion rates count) in step with ``stage``.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, delete, event, insert, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from lead_mcp.clock import utc
from lead_mcp.db.tables import ContactRow, PipelineCount, PipelineReferrer, PipelineSpeed

ALL_TIME = date(1, 1, 1)
DAY, MONTH, ALL = "d", "m", "a"
GRAINS = (DAY, MONTH, ALL)
FUNNEL = ("cold", "lead", "mql", "sql", "opportunity", "customer")
FUNNEL_RANK = {stage: rank for rank, stage in enumerate(FUNNEL)}
LOST = "lost"
CONVERTED = "customer"
# Leads brought in by an import were not new when they arrived: speed-to-lead and the
# second-touch rate leave them out (they still count in by_stage, by_source and conversion).
NOT_NEW_SOURCES = frozenset({"import"})

COUNTS = "counts"
SPEED = "speed"
REFERRERS = "referrers"

_TABLES: dict[str, Table] = {
    COUNTS: PipelineCount.__table__,  # type: ignore[dict-item]
    SPEED: PipelineSpeed.__table__,  # type: ignore[dict-item]
    REFERRERS: PipelineReferrer.__table__,  # type: ignore[dict-item]
}
_KEYS = {
    COUNTS: ("workspace_id", "grain", "day", "source", "stage", "furthest"),
    SPEED: ("workspace_id", "grain", "day", "bucket"),
    REFERRERS: ("workspace_id", "grain", "day", "referrer_id"),
}
_VALUES = {
    COUNTS: ("contacts", "touched", "touched_twice"),
    SPEED: ("contacts",),
    REFERRERS: ("referred", "converted"),
}

Key = tuple[Any, ...]
Deltas = dict[tuple[str, Key], list[int]]


def speed_bucket(minutes: int) -> int:
    """The histogram bucket (its lower bound in minutes) a response time falls in.

    Whole minutes below 1 hour, 5 minutes below 2 hours, 15 minutes below 8 hours,
    1 hour below 2 days, 1 day below 30 days, and one bucket for 30 days or more.
    """
    if minutes < 60:
        return max(minutes, 0)
    if minutes < 120:
        return minutes - minutes % 5
    if minutes < 480:
        return minutes - minutes % 15
    if minutes < 2880:
        return minutes - minutes % 60
    if minutes < 43200:
        return minutes - minutes % 1440
    return 43200


def response_minutes(created_at: datetime, first_response_at: datetime) -> int:
    """Whole minutes from a lead's creation to our first outbound touch (0 when back-filled earlier)."""
    seconds = (utc(first_response_at) - utc(created_at)).total_seconds()
    return max(int(seconds // 60), 0)


def furthest_of(stage: str, furthest: str | None) -> str:
    """The furthest funnel stage after holding ``stage`` (``lost`` never advances it)."""
    current = furthest if furthest in FUNNEL_RANK else None
    if stage not in FUNNEL_RANK:
        return current or "lead"
    if current is None or FUNNEL_RANK[stage] > FUNNEL_RANK[current]:
        return stage
    return current


@dataclass(frozen=True)
class Facts:
    """The columns of a contact that the aggregates depend on."""

    workspace_id: str
    created_at: datetime
    source: str
    stage: str
    furthest: str
    outbound_touches: int
    first_response_at: datetime | None
    referred_by_id: str | None
    deleted: bool


FACT_COLUMNS = (
    "workspace_id",
    "created_at",
    "source",
    "stage",
    "furthest_stage",
    "outbound_touches",
    "first_response_at",
    "referred_by_id",
    "deleted_at",
)


def facts_from_values(values: Mapping[Any, Any]) -> Facts:
    """Facts from a mapping of the FACT_COLUMNS (a row read with Core, or attribute values)."""
    stage = values["stage"] or "lead"
    return Facts(
        workspace_id=values["workspace_id"],
        created_at=values["created_at"],
        source=values["source"] or "manual",
        stage=stage,
        furthest=furthest_of(stage, values["furthest_stage"]),
        outbound_touches=int(values["outbound_touches"] or 0),
        first_response_at=values["first_response_at"],
        referred_by_id=values["referred_by_id"],
        deleted=values["deleted_at"] is not None,
    )


def contributions(
    facts: Facts, *, grains: tuple[str, ...] = GRAINS
) -> Iterator[tuple[str, Key, tuple[int, ...]]]:
    """The counter increments one contact adds: (table, key, values); keyed by workspace, grain, day."""
    if facts.deleted:
        return
    day = utc(facts.created_at).date()
    starts = {DAY: day, MONTH: day.replace(day=1), ALL: ALL_TIME}
    new_lead = facts.source not in NOT_NEW_SOURCES
    touched = int(new_lead and facts.outbound_touches >= 1)
    twice = int(new_lead and facts.outbound_touches >= 2)
    converted = int(facts.furthest == CONVERTED)
    bucket = None
    if new_lead and facts.first_response_at is not None:
        bucket = speed_bucket(response_minutes(facts.created_at, facts.first_response_at))
    ws = facts.workspace_id
    for grain in grains:
        d = starts[grain]
        yield COUNTS, (ws, grain, d, facts.source, facts.stage, facts.furthest), (1, touched, twice)
        if bucket is not None:
            yield SPEED, (ws, grain, d, bucket), (1,)
        if facts.referred_by_id:
            yield REFERRERS, (ws, grain, d, facts.referred_by_id), (1, converted)


def add_contributions(deltas: Deltas, facts: Facts | None, sign: int) -> None:
    """Add (sign=1) or subtract (sign=-1) a contact's contributions into ``deltas``."""
    if facts is None:
        return
    for table, key, values in contributions(facts):
        slot = deltas.get((table, key))
        if slot is None:
            slot = deltas[(table, key)] = [0] * len(values)
        for i, value in enumerate(values):
            slot[i] += sign * value


def _attribute_facts(row: ContactRow, *, previous: bool) -> Facts:
    """A contact's facts now, or as they were before the pending flush (attribute history)."""
    state = inspect(row)
    values: dict[str, Any] = {}
    for name in FACT_COLUMNS:
        if not previous:
            values[name] = getattr(row, name)
            continue
        history = state.attrs[name].history
        if history.deleted:
            values[name] = history.deleted[0]
        elif history.unchanged:
            values[name] = history.unchanged[0]
        else:
            values[name] = getattr(row, name)
    return facts_from_values(values)


@event.listens_for(Session, "before_flush")
def _keep_furthest_stage(session: Session, _ctx: UOWTransaction, _instances: object) -> None:
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, ContactRow):
            furthest = furthest_of(obj.stage or "lead", obj.furthest_stage)
            if obj.furthest_stage != furthest:
                obj.furthest_stage = furthest


@event.listens_for(Session, "after_flush")
def _apply_contact_changes(session: Session, _ctx: UOWTransaction) -> None:
    deltas: Deltas = {}
    new = set(session.new)
    gone = set(session.deleted)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, ContactRow):
            continue
        before = None if obj in new else _attribute_facts(obj, previous=True)
        after = None if obj in gone else _attribute_facts(obj, previous=False)
        if before == after:
            continue
        add_contributions(deltas, before, -1)
        add_contributions(deltas, after, 1)
    if deltas:
        apply_deltas(session.connection(), deltas)


@event.listens_for(Session, "do_orm_execute")
def _apply_bulk_statements(state: ORMExecuteState) -> Result[Any] | None:
    if not (state.is_update or state.is_delete):
        return None
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ is not ContactRow:
        return None
    session = state.session
    where = state.statement.whereclause  # type: ignore[attr-defined]
    columns = [getattr(ContactRow, name) for name in FACT_COLUMNS]
    # Read through the session, so the same workspace filter applies as to the statement itself.
    query = select(ContactRow.pk, *columns)
    before = session.execute(query.where(where) if where is not None else query).all()
    result = state.invoke_statement()
    deltas: Deltas = {}
    for row in before:
        add_contributions(deltas, facts_from_values(row._mapping), -1)
    if state.is_update and before:
        pks = [row.pk for row in before]
        for start in range(0, len(pks), 500):
            after = session.execute(select(*columns).where(ContactRow.pk.in_(pks[start : start + 500]))).all()
            for row in after:
                add_contributions(deltas, facts_from_values(row._mapping), 1)
    if deltas:
        apply_deltas(session.connection(), deltas)
    return result


def count_inserted(connection: Connection, workspace_id: str, contact_pks: Sequence[int]) -> None:
    """Count contacts added by a Core ``insert`` (bulk imports), which no flush listener sees.

    The rows are read back by key in the caller's transaction, so column defaults are counted
    exactly as stored and the counters commit or roll back with the rows themselves.
    """
    columns = [ContactRow.__table__.c[name] for name in FACT_COLUMNS]
    deltas: Deltas = {}
    for start in range(0, len(contact_pks), 500):
        chunk = list(contact_pks[start : start + 500])
        table = ContactRow.__table__
        rows = connection.execute(
            select(*columns).where(table.c.workspace_id == workspace_id, table.c.pk.in_(chunk))
        )
        for facts in facts_of_rows(rows):
            add_contributions(deltas, facts, 1)
    if deltas:
        apply_deltas(connection, deltas)


def count_values(connection: Connection, rows: Iterable[tuple[Mapping[str, Any], int]]) -> None:
    """Count contacts added by a Core ``insert`` from the parameter sets it wrote (no read-back).

    ``rows`` holds each distinct parameter set with the number of rows written with it. Every set
    must name each of FACT_COLUMNS itself (no column default left to the database), so the facts
    counted are exactly the values stored. Rows with the same facts are counted together.
    """
    same: Counter[Facts] = Counter()
    for values, count in rows:
        missing = [name for name in FACT_COLUMNS if name not in values]
        if missing:
            raise ValueError(f"count_values needs every fact column; missing {missing}")
        same[facts_from_values(values)] += count
    deltas: Deltas = {}
    for facts, count in same.items():
        add_contributions(deltas, facts, count)
    if deltas:
        apply_deltas(connection, deltas)


def _delta_rows(deltas: Deltas) -> dict[str, list[dict[str, Any]]]:
    """The upsert parameters of each counter table, in a fixed key order."""
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (table, key), values in sorted(deltas.items(), key=lambda item: (item[0][0], _sort_key(item[0][1]))):
        if not any(values):
            continue
        row = dict(zip(_KEYS[table], key, strict=True))
        row.update(zip(_VALUES[table], values, strict=True))
        by_table[table].append(row)
    return by_table


def apply_deltas(connection: Connection, deltas: Deltas) -> None:
    """Add deltas to the counters: upserts in a fixed key order, so concurrent writers never deadlock."""
    dialect = connection.dialect.name
    for table_name, rows in _delta_rows(deltas).items():
        connection.execute(_upsert(table_name, dialect), rows)


async def count_new_contact(connection: AsyncConnection, values: Mapping[str, Any]) -> None:
    """Count one contact written with a Core insert (add_contact's), from the values it was inserted with."""
    deltas: Deltas = {}
    facts = facts_from_values({"first_response_at": None, "deleted_at": None, **values})
    add_contributions(deltas, facts, 1)
    dialect = connection.dialect.name
    for table_name, rows in _delta_rows(deltas).items():
        await connection.execute(_upsert(table_name, dialect), rows)


@functools.cache
def _upsert(table_name: str, dialect: str) -> Any:
    """The counter upsert of one table, built once (it runs on every flush that changes a contact)."""
    target = _TABLES[table_name]
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(target)
    return stmt.on_conflict_do_update(
        index_elements=list(_KEYS[table_name]),
        set_={name: target.c[name] + stmt.excluded[name] for name in _VALUES[table_name]},
    )


def _sort_key(key: Key) -> tuple[str, ...]:
    return tuple(str(part) for part in key)


def fact_select(workspace_id: str) -> Any:
    """A Core select of the fact columns of a workspace's contacts."""
    columns = ContactRow.__table__.c
    return select(*(columns[name] for name in FACT_COLUMNS)).where(columns.workspace_id == workspace_id)


def facts_of_rows(rows: Iterable[Any]) -> Iterator[Facts]:
    """Facts of rows read with :func:`fact_select`."""
    for row in rows:
        yield facts_from_values(row._mapping)


def rebuild_sync(connection: Connection, workspace_id: str, *, batch: int = 50_000) -> int:
    """Recompute a workspace's counters from its contacts (after bulk SQL changes); returns contacts seen."""
    for target in _TABLES.values():
        connection.execute(delete(target).where(target.c.workspace_id == workspace_id))
    deltas: Deltas = {}
    seen = 0
    result = connection.execute(fact_select(workspace_id).execution_options(yield_per=batch))
    for facts in facts_of_rows(result):
        add_contributions(deltas, facts, 1)
        seen += 1
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (table, key), values in deltas.items():
        if any(values):
            row = dict(zip(_KEYS[table], key, strict=True))
            row.update(zip(_VALUES[table], values, strict=True))
            by_table[table].append(row)
    for table_name, rows in by_table.items():
        for start in range(0, len(rows), batch):
            connection.execute(insert(_TABLES[table_name]), rows[start : start + batch])
    return seen


async def rebuild(session: AsyncSession, workspace_id: str) -> int:
    """:func:`rebuild_sync` inside an async session's transaction."""
    await session.flush()
    return await session.run_sync(lambda sync: rebuild_sync(sync.connection(), workspace_id))
