"""Core benchmarks (``make bench``): protocol overhead of add_contact, and hot queries at 100k / 1M contacts.

1. ``add_contact`` per call over the in-memory transport and over stdio, each as a
   ratio to a no-op tool served by the same SDK in the same run (goal: <= 2x in
   memory, <= 1.5x over stdio).
2. ``list_due_followups`` and ``search_contacts`` p50 on seeded SQLite stores of
   100k and 1M contacts (goal at 1M: <= 20 ms and <= 30 ms), with the query plans.

Usage: ``python -m benchmarks.core [--sizes 100000 1000000] [--calls 300] [--skip-protocol]``.
The 1M store is built once and cached under ``benchmarks/.data/`` (a few minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks import machine, seed
from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.db.engine import Database
from lead_mcp.mcp.server import build_server
from lead_mcp.services import contacts, followups
from lead_mcp.services.scope import Scope
from lead_mcp.services.workspaces import LOCAL_WORKSPACE_ID
from mcp import Client, StdioServerParameters

HERE = Path(__file__).resolve().parent
LEAD_MCP = str(Path(sys.executable).with_name("lead-mcp"))
SEARCHES = [
    "maria",  # a common first name
    "souza",  # a common family name
    "fintech",  # a company word shared by tens of thousands
    "fintech payments",  # a company name
    "ana.souza",  # email local part
    "fintechpayments.io",  # a domain
    "maria.garcia1234@",  # an exact-ish email
    "+1 415 555 0042",  # a phone number
    "head sales",  # two words
    "zzyzx",  # nothing
]


def ms(seconds: float) -> str:
    """Milliseconds with two decimals."""
    return f"{seconds * 1000:.2f} ms"


async def timed(calls: int, fn: Callable[[int], Awaitable[Any]], warmup: int = 20) -> list[float]:
    """Per-call durations of ``fn(i)`` after a warm-up."""
    for i in range(warmup):
        await fn(-1 - i)
    out = []
    for i in range(calls):
        start = time.perf_counter()
        await fn(i)
        out.append(time.perf_counter() - start)
    return out


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _protocol(calls: int) -> None:
    print("\n== add_contact vs a no-op tool, same SDK, same run ==")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        server = build_server(Settings(database_url=url))
        from benchmarks.noop_server import build_noop_server

        noop = build_noop_server()

        def add(client: Client, prefix: str) -> Callable[[int], Awaitable[Any]]:
            async def call(i: int) -> None:
                result = await client.call_tool(
                    "add_contact",
                    {
                        "full_name": f"Bench {prefix}{i}",
                        "email": f"{prefix}{i}@bench.io",
                        "company": "Bench Inc",
                    },
                )
                assert not result.is_error, result.content

            return call

        def nothing(client: Client) -> Callable[[int], Awaitable[Any]]:
            async def call(i: int) -> None:
                result = await client.call_tool(
                    "noop", {"full_name": f"Bench {i}", "email": f"{i}@bench.io", "company": "Bench Inc"}
                )
                assert not result.is_error

            return call

        async with Client(server) as lead, Client(noop) as bare:
            add_times = await timed(calls, add(lead, "mem"))
            noop_times = await timed(calls, nothing(bare))
        ratio_mem = statistics.median(add_times) / statistics.median(noop_times)
        print(
            f"in memory: add_contact p50 {ms(statistics.median(add_times))}, "
            f"no-op p50 {ms(statistics.median(noop_times))}  -> ratio {ratio_mem:.2f}x (goal <= 2x)"
        )

        env = {
            "LEAD_MCP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench-stdio.db",
            "LEAD_MCP_LOG_LEVEL": "WARNING",
        }
        lead_params = StdioServerParameters(command=LEAD_MCP, args=["stdio"], env=env)
        noop_params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "benchmarks.noop_server"],
            env={"PYTHONPATH": str(HERE.parent)},
        )
        async with Client(lead_params) as lead, Client(noop_params) as bare:
            add_times = await timed(calls, add(lead, "io"))
            noop_times = await timed(calls, nothing(bare))
        ratio_io = statistics.median(add_times) / statistics.median(noop_times)
        print(
            f"stdio:     add_contact p50 {ms(statistics.median(add_times))}, "
            f"no-op p50 {ms(statistics.median(noop_times))}  -> ratio {ratio_io:.2f}x (goal <= 1.5x)"
        )


class Plans:
    """Captures the SQL of one call so its SQLite query plan can be shown."""

    def __init__(self, db: Database) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.active = False
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._capture)

    def _capture(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if self.active and statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, params))


async def _queries(size: int, repeats: int) -> None:
    path = await asyncio.to_thread(seed.ensure, size)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", timezone="Europe/Berlin")
    db = Database(settings.database_url)
    plans = Plans(db)
    scope = Scope(workspace_id=LOCAL_WORKSPACE_ID, settings=settings, clock=FixedClock(seed.NOW))
    print(f"\n== {size:,} contacts ({path.name}) ==")

    async def search(query: str) -> int:
        async with db.transaction(workspace_id=LOCAL_WORKSPACE_ID, write=False) as session:
            page = await contacts.search_contacts(session, scope, query=query, limit=20)
        return len(page.items)

    async def due(days: int) -> int:
        async with db.transaction(workspace_id=LOCAL_WORKSPACE_ID, write=False) as session:
            page = await followups.list_due_followups(session, scope, within_days=days, limit=50)
        return len(page.items)

    async def tag_page() -> int:
        async with db.transaction(workspace_id=LOCAL_WORKSPACE_ID, write=False) as session:
            page = await contacts.search_contacts(session, scope, tag="investor", limit=20)
        return len(page.items)

    all_search: list[float] = []
    for query in SEARCHES:
        times = await timed(repeats, lambda _i, q=query: search(q), warmup=3)
        all_search.extend(times)
        found = await search(query)
        print(f"  search_contacts {query!r:24} p50 {ms(statistics.median(times)):>10}  ({found} on page 1)")
    times = await timed(repeats, lambda _i: tag_page(), warmup=3)
    print(f"  search_contacts tag='investor'          p50 {ms(statistics.median(times)):>10}")
    print(
        f"  search_contacts all queries: p50 {ms(statistics.median(all_search))}, p90 "
        f"{ms(percentile(all_search, 90))} (goal at 1M: p50 <= 30 ms)"
    )
    for days in (0, 7):
        times = await timed(repeats, lambda _i, d=days: due(d), warmup=3)
        print(
            f"  list_due_followups within_days={days}   p50 {ms(statistics.median(times)):>10}  "
            f"p90 {ms(percentile(times, 90))} (goal at 1M: p50 <= 20 ms)"
        )

    # Through the MCP layer too (in-memory client): what an assistant's call costs end to end.
    server = build_server(settings, clock=FixedClock(seed.NOW))
    async with Client(server) as client:

        async def tool(name: str, args: dict[str, Any]) -> None:
            result = await client.call_tool(name, args)
            assert not result.is_error, result.content

        times = await timed(repeats, lambda _i: tool("list_due_followups", {}), warmup=3)
        print(f"  via MCP (in memory): list_due_followups p50 {ms(statistics.median(times))}", end="; ")
        times = await timed(repeats, lambda _i: tool("search_contacts", {"query": "souza"}), warmup=3)
        print(f"search_contacts 'souza' p50 {ms(statistics.median(times))}")

    if size == max(SIZES_SHOWN_PLANS, default=size):
        plans.active = True
        await search("fintechpayments.io")
        await due(0)
        await tag_page()
        plans.active = False
        print("  query plans (EXPLAIN QUERY PLAN):")
        async with db.engine.connect() as conn:
            for statement, params in plans.statements:
                rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)).all()
                first = " ".join(statement.split())[:110]
                print(f"    {first}...")
                for row in rows:
                    print(f"      {row[-1]}")
    await db.dispose()


SIZES_SHOWN_PLANS: list[int] = []


async def main_async(args: argparse.Namespace) -> None:
    """Run the selected benchmarks."""
    print(machine.describe())
    if not args.skip_protocol:
        await _protocol(args.calls)
    SIZES_SHOWN_PLANS.extend(args.sizes)
    for size in args.sizes:
        await _queries(size, args.repeats)


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--calls", type=int, default=300, help="calls per protocol measurement")
    parser.add_argument("--repeats", type=int, default=30, help="repetitions per query")
    parser.add_argument("--skip-protocol", action="store_true")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
