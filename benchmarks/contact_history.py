"""Benchmark: one contact's tools on a store whose workspace holds many touches and follow-ups.

Usage: ``python -m benchmarks.contact_history [--contacts 2000] [--touches 300000] [--calls 200]``.

A store is built the way a user builds one: contacts through ``add_contact`` (so
SQLite has no statistics: nothing ever runs ``ANALYZE`` on such a store), then
``--touches`` touches and one done follow-up per ten of them written straight
into the file (seeded), spread over the contacts. It then times, through the MCP
client in memory, ``log_interaction`` (which rescores from the contact's touches),
``get_contact`` (its touches, follow-ups and history) and ``complete_followup``,
prints their p50 and p90, and the query plan of the statements that read one
contact's rows. Each of these reads one contact's rows, so none should grow with
the workspace.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lead_mcp.config import Settings
from lead_mcp.mcp.server import build_server
from mcp import Client

SEED = 11
PLANNED = (
    "SELECT sum(kind = 'meeting'), max(occurred_at) FROM interactions "
    "WHERE contact_id = ? AND workspace_id = ?",
    "SELECT * FROM interactions WHERE contact_id = ? AND workspace_id = ? ORDER BY occurred_at DESC LIMIT 50",
    "SELECT id FROM followups WHERE contact_id = ? AND status = 'pending' AND workspace_id = ? LIMIT 1",
    "SELECT due_at FROM followups WHERE contact_id = ? AND status = 'pending' AND workspace_id = ? "
    "ORDER BY due_at LIMIT 1",
)


def fill(path: Path, contact_ids: list[str], touches: int) -> None:
    """Write ``touches`` touches (and a done follow-up per ten) for the contacts, seeded."""
    rng = random.Random(SEED)
    with sqlite3.connect(path) as db:
        workspace_id, user_id = db.execute("SELECT workspace_id, owner_id FROM contacts LIMIT 1").fetchone()
        kinds = ["call", "email", "meeting", "message", "note"]
        db.executemany(
            "INSERT INTO interactions (id, workspace_id, contact_id, user_id, kind, direction, occurred_at, "
            "summary, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            (
                (
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    workspace_id,
                    rng.choice(contact_ids),
                    user_id,
                    rng.choice(kinds),
                    rng.choice(["outbound", "inbound"]),
                    f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 10:00:00.000000",
                    "Talked about the pilot",
                    "2026-01-01 10:00:00.000000",
                )
                for _ in range(touches)
            ),
        )
        db.executemany(
            "INSERT INTO followups (id, workspace_id, contact_id, due_at, status, note, step, cadence, "
            "purpose, created_at, updated_at, completed_at) "
            "VALUES (?, ?, ?, ?, 'done', NULL, 1, 'default', 'cadence', ?, ?, ?)",
            (
                (
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    workspace_id,
                    rng.choice(contact_ids),
                    "2025-06-01 10:00:00.000000",
                    "2025-05-01 10:00:00.000000",
                    "2025-06-01 11:00:00.000000",
                    "2025-06-01 11:00:00.000000",
                )
                for _ in range(touches // 10)
            ),
        )


async def timed(calls: int, fn: Callable[[int], Awaitable[None]]) -> list[float]:
    """Wall seconds of each of ``calls`` calls."""
    times = []
    for i in range(calls):
        start = time.perf_counter()
        await fn(i)
        times.append(time.perf_counter() - start)
    return times


def report(name: str, times: list[float]) -> None:
    """p50 and p90 in milliseconds."""
    ordered = sorted(times)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    print(f"  {name:<18} p50 {1000 * statistics.median(ordered):7.2f} ms   p90 {1000 * p90:7.2f} ms")


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.db"
        server = build_server(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
        rng = random.Random(SEED)
        async with Client(server) as client:

            async def call(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
                result = await client.call_tool(tool, arguments)
                assert not result.is_error, result.content
                assert result.structured_content is not None
                return result.structured_content

            ids = []
            for i in range(args.contacts):
                added = await call(
                    "add_contact", {"full_name": f"Lead {i}", "email": f"lead{i}@co{i % 97}.io"}
                )
                ids.append(added["contact"]["id"])
            fill(path, ids, args.touches)
            print(
                f"== one contact's tools: {args.contacts} contacts, {args.touches} touches and "
                f"{args.touches // 10} done follow-ups in the workspace, no statistics, "
                f"{args.calls} calls each =="
            )

            async def log(i: int) -> None:
                await call(
                    "log_interaction", {"contact_id": rng.choice(ids), "kind": "call", "summary": "Called"}
                )

            async def detail(i: int) -> None:
                await call("get_contact", {"contact_id": rng.choice(ids)})

            due = (await call("list_due_followups", {"within_days": 30, "limit": args.calls}))["items"]

            async def complete(i: int) -> None:
                await call("complete_followup", {"followup_id": due[i]["followup_id"], "outcome": "Called"})

            report("log_interaction", await timed(args.calls, log))
            report("get_contact", await timed(args.calls, detail))
            report("complete_followup", await timed(min(args.calls, len(due)), complete))

        with sqlite3.connect(path) as db:
            workspace_id = db.execute("SELECT workspace_id FROM contacts LIMIT 1").fetchone()[0]
            print("  query plans (one contact's rows):")
            for sql in PLANNED:
                plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", (ids[0], workspace_id))]
                print(f"    {sql[:80]}...\n      {' / '.join(plan)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--touches", type=int, default=300_000)
    parser.add_argument("--calls", type=int, default=200)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
