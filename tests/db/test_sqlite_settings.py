"""The SQLite settings crash safety and concurrency rely on, on every connection; /healthz reads the store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
from sqlalchemy import text

from lead_mcp.config import Settings
from lead_mcp.db.engine import SQLITE_BUSY_TIMEOUT_MS, Database
from lead_mcp.web.app import build_app
from tests.live_app import live_app

EXPECTED = {
    "journal_mode": "wal",  # readers never block the writer; a crash leaves the last commit intact
    "synchronous": 2,  # FULL: an acknowledged commit survives power loss, not only a process kill
    "foreign_keys": 1,  # no orphan rows even if a service forgets a delete
    "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,  # other processes' writers are waited for, not "locked"
}


async def _pragmas(session: object) -> dict[str, object]:
    return {
        name: (await session.execute(text(f"PRAGMA {name}"))).scalar()  # type: ignore[attr-defined]
        for name in EXPECTED
    }


async def test_every_connection_reads_and_writes_with_wal_full_sync_foreign_keys_and_a_busy_timeout(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    try:
        async with db.transaction(all_workspaces=True, write=False) as reader:
            assert await _pragmas(reader) == EXPECTED
        async with db.transaction(all_workspaces=True, write=True) as writer:  # the group committer's
            assert await _pragmas(writer) == EXPECTED
        async with (
            db.transaction(all_workspaces=True, write=False) as first,
            db.transaction(all_workspaces=True, write=False) as second,  # a second pooled connection
        ):
            assert await _pragmas(first) == await _pragmas(second) == EXPECTED
    finally:
        await db.dispose()
    assert SQLITE_BUSY_TIMEOUT_MS >= 5_000
    # WAL is the file's own mode (persistent), so even a plain sqlite3 opening it reads in WAL.
    with sqlite3.connect(sqlite_url.split("///", 1)[1]) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_healthz_reads_the_store_and_answers_503_when_the_file_is_no_database(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = Path(sqlite_url.split("///", 1)[1])
    settings = Settings(database_url=sqlite_url, log_level="ERROR")
    async with live_app(build_app(settings)) as base, httpx.AsyncClient() as http:
        ok = await http.get(f"{base}/healthz")
        assert ok.status_code == 200 and ok.json()["database"] == "ok"
        # Overwritten under the server's pooled connections: SELECT 1 alone still answered "ok".
        for file in path.parent.glob(path.name + "*"):
            with file.open("r+b") as raw:
                raw.write(b"not a database " * 512)
        broken = await http.get(f"{base}/healthz")
        assert broken.status_code == 503 and broken.json() == {"status": "error", "database": "unreachable"}
