"""Benchmark: ``pipeline_report`` on seeded SQLite stores of 100k and 1M contacts (goal: <= 200 ms at 1M).

Usage: ``python -m benchmarks.pipeline_report [--sizes 100000 1000000] [--runs 15]``.

A seeded generator writes a store of three years of leads (sources, stages,
furthest stages, touches, speed-to-lead delays, referrals from a few thousand
referrers, pending follow-ups, FTS index via the migration's triggers) straight
into SQLite, then fills the report's running aggregates with the same code the
server uses (``db/aggregates.rebuild_sync``). Stores are cached under
``benchmarks/.data/pipeline-<n>.db`` (the 1M one takes a few minutes to build).

For each store it times the report through the service and through the MCP
tool (in-memory client) for several periods: all time (the default), the last
30 and 365 days, and a window with partial days at both ends; it prints the
medians and the query plan (EXPLAIN QUERY PLAN) of every statement one report
runs. It also checks that the aggregates match a from-scratch recount.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event

from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.db import migrate
from lead_mcp.db.aggregates import FUNNEL, rebuild_sync
from lead_mcp.db.engine import Database
from lead_mcp.mcp.server import build_server
from lead_mcp.services import reports
from lead_mcp.services.scope import Scope
from lead_mcp.services.workspaces import ensure_local_workspace
from mcp import Client

DATA = Path(__file__).resolve().parent / ".data"
GENERATOR_VERSION = 3
SEED = 7
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
YEARS = 3

GIVEN = [
    "Ana",
    "Maria",
    "José",
    "Li",
    "Wei",
    "Chen",
    "Sofia",
    "Lucas",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Mia",
    "Ethan",
    "Aisha",
    "Omar",
    "Yuki",
    "Priya",
    "Lena",
    "Tom",
]
FAMILY = [
    "Souza",
    "Silva",
    "Müller",
    "Schmidt",
    "Nguyen",
    "Kim",
    "Lee",
    "Park",
    "Garcia",
    "Rossi",
    "Dubois",
    "Smith",
    "Khan",
    "Patel",
    "Sato",
    "Novak",
    "Berg",
]
COMPANIES = [
    "Fintech",
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Hooli",
    "Vandelay",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Litware",
]
SOURCES = [
    ("manual", 25),
    ("card_scan", 25),
    ("card_form", 15),
    ("event", 13),
    ("referral", 12),
    ("import", 7),
]
SOURCES += [("card_share", 3)]
FURTHEST = [("cold", 5), ("lead", 45), ("mql", 20), ("sql", 12), ("opportunity", 10), ("customer", 8)]
PERIODS: list[tuple[str, dict[str, str]]] = [
    ("all time", {}),
    ("last 30 days", {"since": "2026-02-08"}),
    ("last 365 days", {"since": "2025-03-10"}),
    ("partial-day window", {"since": "2025-06-15T13:30:00+02:00", "until": "2025-09-20T08:00:00+02:00"}),
]


def store_path(size: int) -> Path:
    """Where the cached store of this size lives."""
    return DATA / f"pipeline-{size}-v{GENERATOR_VERSION}.db"


def _pick(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([name for name, _ in table], weights=[w for _, w in table])[0]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def _rows(size: int, workspace_id: str) -> Any:
    """Contact and follow-up rows in creation order (deterministic for a size)."""
    rng = random.Random(SEED)
    start = NOW - timedelta(days=365 * YEARS)
    span = (NOW - start).total_seconds()
    offsets = sorted(rng.random() * span for _ in range(size))
    ids: list[str] = []
    referrers = max(size // 300, 10)
    for i, offset in enumerate(offsets):
        created = start + timedelta(seconds=offset)
        contact_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        ids.append(contact_id)
        source = _pick(rng, SOURCES)
        referred_by = None
        if source == "referral" and i > referrers:
            referred_by = ids[int(referrers * rng.random() ** 2)]  # a few referrers send most leads
        furthest = _pick(rng, FURTHEST)
        stage = furthest if furthest == "customer" or rng.random() > 0.3 else "lost"
        roll = rng.random()
        touches = 0 if roll < 0.25 else 1 if roll < 0.6 else rng.randint(2, 6)
        first_response = None
        if touches:
            minutes = rng.uniform(0, 5) if rng.random() < 0.15 else rng.lognormvariate(4.0, 1.8)
            first_response = created + timedelta(minutes=minutes)
        given, family, company = rng.choice(GIVEN), rng.choice(FAMILY), rng.choice(COMPANIES)
        name = f"{given} {family}"
        email = f"{given.lower()}.{family.lower()}{i}@{company.lower()}.com"
        contact = (
            contact_id,
            workspace_id,
            name,
            given,
            family,
            company,
            json.dumps([email]),
            "[]",
            "[]",
            source,
            referred_by,
            stage,
            furthest,
            touches,
            rng.randint(0, 100),
            _iso(created),
            _iso(created),
            _iso(first_response) if first_response else None,
            f"{given.lower()} {family.lower()} {company.lower()} {email}",
        )
        followup = None
        active = stage not in ("customer", "lost")
        if active and (NOW - created < timedelta(days=90) or rng.random() < 0.03):
            due = created + timedelta(days=rng.choice((0, 2, 7, 30)), hours=rng.random() * 8)
            followup = (
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                workspace_id,
                contact_id,
                _iso(due),
                "pending",
                "Check in",
                1,
                "default",
                "cadence",
                _iso(created),
                _iso(created),
            )
        yield contact, followup


def build(size: int) -> Path:
    """Build (or reuse) the store of this size."""
    path = store_path(size)
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{partial}"
    asyncio.run(migrate.upgrade(url))
    db = Database(url)

    async def workspace() -> str:
        async with db.transaction(all_workspaces=True) as session:
            return await ensure_local_workspace(session, FixedClock(NOW))

    workspace_id = asyncio.run(workspace())
    asyncio.run(db.dispose())
    started = time.perf_counter()
    conn = sqlite3.connect(partial)
    conn.execute("PRAGMA synchronous=OFF")
    contact_sql = (
        "INSERT INTO contacts (id, workspace_id, full_name, given_name, family_name, company, emails, "
        "phones, tags, source, referred_by_id, stage, furthest_stage, outbound_touches, score, created_at, "
        "updated_at, first_response_at, search_text) VALUES (" + ",".join("?" * 19) + ")"
    )
    followup_sql = (
        "INSERT INTO followups (id, workspace_id, contact_id, due_at, status, note, step, cadence, purpose, "
        "created_at, updated_at) VALUES (" + ",".join("?" * 11) + ")"
    )
    batch_c: list[tuple[Any, ...]] = []
    batch_f: list[tuple[Any, ...]] = []
    with conn:
        for contact, followup in _rows(size, workspace_id):
            batch_c.append(contact)
            if followup:
                batch_f.append(followup)
            if len(batch_c) >= 50_000:
                conn.executemany(contact_sql, batch_c)
                conn.executemany(followup_sql, batch_f)
                batch_c, batch_f = [], []
        conn.executemany(contact_sql, batch_c)
        conn.executemany(followup_sql, batch_f)
        conn.executemany(
            "UPDATE contacts SET next_followup_at = ? WHERE id = ?",
            conn.execute("SELECT due_at, contact_id FROM followups").fetchall(),
        )
    conn.close()
    engine = create_engine(f"sqlite:///{partial}")
    with engine.begin() as sync:
        rebuild_sync(sync, workspace_id)
    engine.dispose()
    partial.rename(path)
    print(f"  built {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def recount_matches(path: Path) -> bool:
    """Recount the aggregates from scratch in a copy of the counters and compare."""
    conn = sqlite3.connect(path)
    try:
        tables = ("pipeline_counts", "pipeline_speed", "pipeline_referrers")
        before = {t: sorted(conn.execute(f"SELECT * FROM {t} WHERE 1").fetchall()) for t in tables}
    finally:
        conn.close()
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as sync:
            transaction = sync.begin()
            workspace_id = sync.exec_driver_sql("SELECT id FROM workspaces").scalar_one()
            rebuild_sync(sync, workspace_id)
            after = {
                t: sorted(tuple(r) for r in sync.exec_driver_sql(f"SELECT * FROM {t} WHERE 1").fetchall())
                for t in tables
            }
            transaction.rollback()
    finally:
        engine.dispose()
    return all(sorted(map(tuple, before[t])) == after[t] for t in tables)


async def _measure(path: Path, runs: int) -> None:
    url = f"sqlite+aiosqlite:///{path}"
    settings = Settings(database_url=url, timezone="Europe/Berlin")
    db = Database(url)
    clock = FixedClock(NOW)
    async with db.transaction(all_workspaces=True, write=False) as session:
        workspace_id = await ensure_local_workspace(session, clock)
    scope = Scope(workspace_id=workspace_id, settings=settings, clock=clock)
    statements: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        statements.append((statement, parameters))

    print(f"  {'period':<20} {'service p50':>12} {'p90':>8} {'tool p50':>10}   contacts", flush=True)
    async with Client(build_server(settings, clock=clock), raise_exceptions=True) as client:
        for label, period in PERIODS:
            service: list[float] = []
            report = None
            for _ in range(runs):
                began = time.perf_counter()
                async with db.transaction(workspace_id=workspace_id, write=False) as session:
                    report = await reports.pipeline_report(session, scope, **period)
                service.append((time.perf_counter() - began) * 1000)
            tool: list[float] = []
            for _ in range(max(runs // 3, 3)):
                began = time.perf_counter()
                result = await client.call_tool("pipeline_report", period)
                tool.append((time.perf_counter() - began) * 1000)
                assert not result.is_error
            assert report is not None
            p90 = statistics.quantiles(service, n=10)[-1] if len(service) > 2 else max(service)
            print(
                f"  {label:<20} {statistics.median(service):>9.1f} ms {p90:>5.1f} ms "
                f"{statistics.median(tool):>7.1f} ms   {report.contacts}",
                flush=True,
            )
        for label, period in PERIODS:
            statements.clear()
            event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
            async with db.transaction(workspace_id=workspace_id, write=False) as session:
                report = await reports.pipeline_report(session, scope, **period)
            event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
            print(f"\n  query plans, {label}:")
            async with db.engine.connect() as conn:
                for statement, parameters in statements:
                    if statement.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                        continue
                    plan = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                    print("    " + " ".join(statement.split())[:150])
                    for row in plan:
                        print(f"      {row[-1]}")
        print(
            "\n  all-time funnel:",
            {t.from_stage.value + ">" + t.to_stage.value: t.rate for t in report.conversion_by_stage},
            f"(stages {'/'.join(FUNNEL)})",
        )
    await db.dispose()


def main() -> None:
    """Build the stores and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=15, help="timed reports per period")
    parser.add_argument("--no-recount", action="store_true", help="skip the aggregates-vs-recount check")
    args = parser.parse_args()
    for size in args.sizes:
        print(f"\n== pipeline_report, {size:,} contacts (SQLite) ==", flush=True)
        path = build(size)
        if not args.no_recount:
            print(f"  aggregates match a from-scratch recount: {recount_matches(path)}", flush=True)
        asyncio.run(_measure(path, args.runs))


if __name__ == "__main__":
    main()
