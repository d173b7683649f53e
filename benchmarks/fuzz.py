"""The long fuzz run: thousands of schema-generated calls to every tool, then the store's invariants.

The same generator and judge as ``tests/mcp/test_fuzz.py`` (``tests/fuzzing.py``),
run much longer on a fresh store (SQLite by default, ``--postgres`` for a
fresh PostgreSQL database too). Any unacceptable answer stops the run with the
offending call; at the end the figure is printed: calls, results, clear
errors, calls/s, invariants, and the other workspace untouched.

``python -m benchmarks.fuzz --calls 10000 [--seed N] [--postgres]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from tests.fuzzing import FuzzReport, run_fuzz

from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.db import migrate

PG_ADMIN_DSN = os.environ.get("LEAD_MCP_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def fuzz(label: str, url: str, folder: Path, args: argparse.Namespace) -> FuzzReport:
    """One long run on the store at ``url``."""
    asyncio.run(migrate.upgrade(url))
    scans = folder / "scans"
    scans.mkdir(exist_ok=True)
    settings = Settings(
        database_url=url,
        timezone="Europe/Berlin",
        scan_roots=[scans],
        hubspot_base_url="http://127.0.0.1:9",  # nothing listens: no call ever leaves the machine
        log_level="ERROR",
    )
    clock = FixedClock(datetime(2026, 3, 10, 15, 0, tzinfo=UTC))

    def progress(report: FuzzReport) -> None:
        print(f"  {label}: {report.calls} calls...", file=sys.stderr, flush=True)

    report = run_fuzz(settings, clock, calls=args.calls, seed_value=args.seed, progress=progress)
    print(f"== {label}: {report.summary()}", flush=True)
    return report


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20260310)
    parser.add_argument("--postgres", action="store_true", help="also run on a fresh PostgreSQL database")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        reports = [fuzz("SQLite", f"sqlite+aiosqlite:///{tmp / 'fuzz.db'}", tmp, args)]
        if args.postgres:
            name = f"lead_fuzz_{uuid.uuid4().hex[:8]}"
            asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
            try:
                base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
                reports.append(fuzz("PostgreSQL", f"{base}/{name}", tmp, args))
            finally:
                asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        for report in reports:
            failed |= bool(report.violations) or report.other_workspace_changed
            for violation in report.violations[:20]:
                print(f"  VIOLATION: {violation}")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
