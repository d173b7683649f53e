"""Benchmark: bulk_update over 10,000 contacts and the calendar feed with 1,000 due follow-ups (SQLite).

    .venv/bin/python -m benchmarks.bulk_and_feed [--contacts 10000]

Seeds contacts through the real add_contact service (so keys, tags and search text are real), then
times a dry run, the applied change, and rendering the feed. Figures are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.domain import ContactCreate, Stage
from lead_mcp.mcp.state import AppState
from lead_mcp.services import bulk, calendar, contacts
from lead_mcp.services.scope import Scope


async def main(count: int) -> None:
    folder = Path(tempfile.mkdtemp())
    settings = Settings(database_url=f"sqlite+aiosqlite:///{folder / 'bench.db'}", timezone="Europe/Berlin")
    clock = FixedClock(datetime(2026, 3, 10, 15, 0, tzinfo=UTC))
    state = await AppState.open(settings, clock=clock)
    scope = Scope(workspace_id=state.local_workspace_id, settings=settings, clock=clock)
    try:
        started = time.perf_counter()
        for start in range(0, count, 1000):
            async with state.db.transaction(workspace_id=scope.workspace_id) as session:
                for n in range(start, min(start + 1000, count)):
                    await contacts.add_contact(
                        session,
                        scope,
                        data=ContactCreate(
                            full_name=f"Person {n}", emails=[f"p{n}@example.com"], tags=["websummit"]
                        ),
                        schedule_followup=n < 1000,
                    )
        print(f"seeded {count} contacts in {time.perf_counter() - started:.1f} s")

        for dry_run in (True, False):
            started = time.perf_counter()
            async with state.db.transaction(workspace_id=scope.workspace_id, write=not dry_run) as session:
                result = await bulk.bulk_update(
                    session, scope, tag="websummit", add_tags=["hot"], set_stage=Stage.MQL, dry_run=dry_run
                )
            took = (time.perf_counter() - started) * 1000
            counts = f"matched {result.matched}, changed {result.changed}"
            print(f"bulk_update dry_run={dry_run}: {counts}: {took:.0f} ms")

        started = time.perf_counter()
        async with state.db.transaction(workspace_id=scope.workspace_id, write=False) as session:
            text = await calendar.feed_ics(session, scope)
        took = (time.perf_counter() - started) * 1000
        print(f"calendar feed: {text.count('BEGIN:VEVENT')} events, {len(text)} bytes: {took:.0f} ms")
    finally:
        await state.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().contacts))
