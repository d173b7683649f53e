"""Store invariants checked after fuzzing, crashes, concurrent writers and restores.

Read straight from the database (SQLAlchemy Core, no services), so a bug in the
services cannot hide itself. Each check returns human-readable violations; an
empty list means the store is whole:

- no orphan rows: every foreign key of every table (new tables included, read
  from the ORM metadata) points at a row that exists, and a row that belongs to
  a workspace belongs to the same workspace as the row it points at;
- no pending follow-up for a deleted contact, and every live contact has a
  name, an email or a phone;
- ``contact_keys`` hold exactly the keys of the live contacts (emails, E.164
  phones, folded name+company, unless another contact of that name at that
  company holds it) and none of deleted ones; ``contact_tags`` mirror
  ``contacts.tags``;
- ``next_followup_at`` equals the earliest pending due time (null without one);
- ``first_response_at`` / ``last_touch_at`` agree with the logged touches;
- ``search_text`` is what the contact's fields fold to, and the full-text index
  has one row per contact (SQLite FTS5) or a vector for each (PostgreSQL);
- the pipeline counters (per day, month and all time, kept on every change)
  equal a recount from the contacts (``aggregates.contributions``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from lead_mcp.db import aggregates
from lead_mcp.db.engine import create_engine_unpooled
from lead_mcp.db.tables import Base
from lead_mcp.services import normalize


def _utc(value: Any) -> datetime | None:
    """Timestamps as aware UTC, whatever the driver returned (SQLite gives naive text or datetimes)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])


def _json_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}


async def _rows(conn: AsyncConnection, sql: str, **params: Any) -> list[Any]:
    return list((await conn.execute(text(sql), params)).all())


async def _orphans(conn: AsyncConnection) -> list[str]:
    out = []
    existing = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    for table in Base.metadata.sorted_tables:
        if table.name not in existing:
            continue
        for fk in table.foreign_key_constraints:
            parent = fk.referred_table
            pairs = list(zip(fk.column_keys, [e.column.name for e in fk.elements], strict=True))
            local_not_null = " AND ".join(f"c.{local} IS NOT NULL" for local, _ in pairs)
            join = " AND ".join(f"p.{remote} = c.{local}" for local, remote in pairs)
            first_remote = pairs[0][1]
            sql = (
                f"SELECT count(*) FROM {table.name} c LEFT JOIN {parent.name} p ON {join} "
                f"WHERE {local_not_null} AND p.{first_remote} IS NULL"
            )
            count = (await conn.execute(text(sql))).scalar_one()
            if count:
                out.append(f"{count} {table.name} rows point at a missing {parent.name} ({fk.column_keys})")
            if (
                "workspace_id" in table.c
                and "workspace_id" in parent.c
                and parent.name != "workspaces"
                and fk.column_keys != ["workspace_id"]
            ):
                sql = (
                    f"SELECT count(*) FROM {table.name} c JOIN {parent.name} p ON {join} "
                    "WHERE c.workspace_id <> p.workspace_id"
                )
                count = (await conn.execute(text(sql))).scalar_one()
                if count:
                    out.append(f"{count} {table.name} rows point into another workspace's {parent.name}")
    return out


async def store_violations(url: str) -> list[str]:
    """Everything wrong with the store at ``url`` (empty when all invariants hold)."""
    engine = create_engine_unpooled(url)
    try:
        async with engine.connect() as conn:
            return await _violations(conn)
    finally:
        await engine.dispose()


async def _violations(conn: AsyncConnection) -> list[str]:
    out = await _orphans(conn)
    dialect = conn.dialect.name
    contacts = await _rows(
        conn,
        "SELECT pk, id, workspace_id, full_name, given_name, family_name, company, title, emails, phones, "
        "website, address, notes, tags, met_at, deleted_at, next_followup_at, first_response_at, "
        "last_touch_at, search_text FROM contacts",
    )
    keys: dict[str, set[tuple[str, str]]] = defaultdict(set)
    holder: dict[tuple[str, str, str], str] = {}
    for workspace_id, contact_id, kind, value in await _rows(
        conn, "SELECT workspace_id, contact_id, kind, value FROM contact_keys"
    ):
        keys[contact_id].add((kind, value))
        holder[(workspace_id, kind, value)] = contact_id
    tags: dict[int, set[str]] = defaultdict(set)
    for pk, tag in await _rows(conn, "SELECT contact_pk, tag FROM contact_tags"):
        tags[pk].add(tag)
    pending: dict[str, list[datetime]] = defaultdict(list)
    for contact_id, due in await _rows(
        conn, "SELECT contact_id, due_at FROM followups WHERE status = 'pending'"
    ):
        pending[contact_id].append(_utc(due))  # type: ignore[arg-type]
    touches: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for contact_id, when, direction, kind, data in await _rows(
        conn, "SELECT contact_id, occurred_at, direction, kind, data FROM interactions"
    ):
        if kind == "note" and "stage_change" in _json_dict(data):
            continue  # a stage move is recorded as a note, not a touch: no timestamp moves for it
        touches[contact_id].append((_utc(when), direction))  # type: ignore[arg-type]

    for row in contacts:
        m = row._mapping
        cid = m["id"]
        emails, phones, tag_list = _json_list(m["emails"]), _json_list(m["phones"]), _json_list(m["tags"])
        live = m["deleted_at"] is None
        expected_keys: set[tuple[str, str]] = set()
        if live:
            expected_keys = {("email", e) for e in emails} | {("phone", p) for p in phones}
            name = normalize.name_key(m["full_name"], m["company"])
            # Two people of one name at one company exist when a wrong merge was split off
            # (undo_merge): the name key stays with the contact that had it first.
            if name and holder.get((m["workspace_id"], "name", name), cid) == cid:
                expected_keys.add(("name", name))
            if not (m["full_name"] or emails or phones):
                out.append(f"live contact {cid} has no name, email or phone")
        if keys.get(cid, set()) != expected_keys:
            out.append(
                f"contact {cid}: contact_keys {sorted(keys.get(cid, set()))} "
                f"!= expected {sorted(expected_keys)}"
            )
        if tags.get(m["pk"], set()) != set(tag_list):
            out.append(f"contact {cid}: contact_tags {sorted(tags.get(m['pk'], set()))} != tags {tag_list}")
        earliest = min(pending.get(cid, []), default=None)
        if not live and pending.get(cid):
            out.append(f"deleted contact {cid} still has {len(pending[cid])} pending follow-ups")
        if _utc(m["next_followup_at"]) != (earliest if live else None):
            out.append(
                f"contact {cid}: next_followup_at {m['next_followup_at']} != earliest pending {earliest}"
            )
        its = touches.get(cid, [])
        if its:
            last = max(t for t, _ in its)
            outbound = [t for t, d in its if d == "outbound"]
            if _utc(m["last_touch_at"]) != last:
                out.append(f"contact {cid}: last_touch_at {m['last_touch_at']} != latest touch {last}")
            if outbound and _utc(m["first_response_at"]) != min(outbound):
                out.append(
                    f"contact {cid}: first_response_at {m['first_response_at']} "
                    f"!= first outbound {min(outbound)}"
                )
        expected_text = normalize.search_text(
            full_name=m["full_name"],
            given_name=m["given_name"],
            family_name=m["family_name"],
            company=m["company"],
            title=m["title"],
            emails=emails,
            phones=phones,
            website=m["website"],
            notes=m["notes"],
            tags=tag_list,
            met_at=m["met_at"],
            address=m["address"],
        )
        if m["search_text"] != expected_text:
            out.append(f"contact {cid}: search_text is stale")
    known = {row._mapping["id"] for row in contacts}
    stray = set(keys) - known
    if stray:
        out.append(f"contact_keys of {len(stray)} unknown contacts")

    out.extend(await _counter_violations(conn))
    if dialect == "sqlite":
        fts = (await conn.execute(text("SELECT count(*) FROM contacts_fts"))).scalar_one()
        if fts != len(contacts):
            out.append(f"contacts_fts has {fts} rows for {len(contacts)} contacts")
        # The index must find each contact by its own text (FTS5 'integrity-check' compares it to contacts).
        try:
            await conn.execute(text("INSERT INTO contacts_fts(contacts_fts) VALUES ('integrity-check')"))
        except Exception as exc:  # the check raises on a mismatch
            out.append(f"contacts_fts integrity-check failed: {exc}")
        finally:
            await conn.rollback()
        integrity = (await conn.execute(text("PRAGMA integrity_check"))).scalar_one()
        if integrity != "ok":
            out.append(f"PRAGMA integrity_check: {integrity}")
    else:
        missing = (
            await conn.execute(text("SELECT count(*) FROM contacts WHERE search_tsv IS NULL"))
        ).scalar_one()
        if missing:
            out.append(f"{missing} contacts have no search vector")
    return out


async def _counter_violations(conn: AsyncConnection) -> list[str]:
    """The pipeline counters (kept incrementally on every change) equal a recount from the contacts."""
    columns = ", ".join(aggregates.FACT_COLUMNS)
    expected: dict[tuple[str, tuple[Any, ...]], list[int]] = {}
    for row in await _rows(conn, f"SELECT {columns} FROM contacts"):
        values = dict(row._mapping)
        values["created_at"] = _utc(values["created_at"])
        values["first_response_at"] = _utc(values["first_response_at"])
        aggregates.add_contributions(expected, aggregates.facts_from_values(values), 1)
    wanted = {key: tuple(v) for key, v in expected.items() if any(v)}
    stored: dict[tuple[str, tuple[Any, ...]], tuple[int, ...]] = {}
    for name, table in aggregates._TABLES.items():
        keys, counts = aggregates._KEYS[name], aggregates._VALUES[name]
        for row in await _rows(conn, f"SELECT {', '.join(keys + counts)} FROM {table.name}"):
            m = row._mapping
            key = tuple(_day(m[k]) if k == "day" else m[k] for k in keys)
            value = tuple(int(m[c]) for c in counts)
            if any(value):
                stored[(name, key)] = value
    out = []
    for slot in sorted(set(wanted) | set(stored), key=repr):
        if wanted.get(slot) != stored.get(slot):
            found, recount = stored.get(slot), wanted.get(slot)
            out.append(f"pipeline {slot[0]} {slot[1]}: stored {found} != recount {recount}")
    return out[:20]


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value  # type: ignore[no-any-return]


async def table_dump(url: str, *, workspace_id: str | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every lead-mcp table (optionally one workspace's), sorted: for equality checks."""
    engine = create_engine_unpooled(url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    try:
        async with engine.connect() as conn:
            existing = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
            for table in Base.metadata.sorted_tables:
                if table.name not in existing:
                    continue
                columns = ", ".join(c.name for c in table.columns)
                sql = f"SELECT {columns} FROM {table.name}"
                params: dict[str, Any] = {}
                if workspace_id is not None:
                    if "workspace_id" in table.c:
                        sql += " WHERE workspace_id = :ws"
                    elif table.name == "workspaces":
                        sql += " WHERE id = :ws"
                    else:
                        continue
                    params["ws"] = workspace_id
                rows = (await conn.execute(text(sql), params)).all()
                out[table.name] = sorted((tuple(map(_comparable, r)) for r in rows), key=repr)
    finally:
        await engine.dispose()
    return out


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return value
