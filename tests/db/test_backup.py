"""`lead-mcp db backup` / `db restore`: consistent copies while a server writes, checked restores."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import anyio

from mcp import Client
from tests.e2e.servers import LEAD_MCP, lead_env, servers
from tests.helpers import call
from tests.invariants import store_violations, table_dump


def _cli(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEAD_MCP, "db", *args],
        env=lead_env(log_level="WARNING", **settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_backups_taken_while_a_server_writes_are_consistent_and_restore_identically(
    tmp_path: Path,
) -> None:
    store = f"sqlite+aiosqlite:///{tmp_path / 'live' / 'lead.db'}"
    stop = anyio.Event()
    written = [0]
    milestones = {30 * (i + 1): anyio.Event() for i in range(3)}

    async def writer(url: str, w: int) -> None:
        async with Client(url) as client:
            n = 0
            while not stop.is_set():
                added = await call(
                    client, "add_contact", {"full_name": f"B {w} {n}", "email": f"b{w}.{n}@bk.io"}
                )
                await call(
                    client,
                    "log_interaction",
                    {"contact_id": added["contact"]["id"], "kind": "call", "summary": "x"},
                )
                n += 1
                written[0] += 1
                if written[0] in milestones:
                    milestones[written[0]].set()

    with servers(1, database_url=store, log_level="WARNING") as (server,):
        async with anyio.create_task_group() as group:
            for w in range(4):
                group.start_soon(writer, server.mcp_url, w)
            backups = []
            for i, milestone in enumerate(milestones.values()):  # backups in the middle of the writes
                await milestone.wait()
                target = tmp_path / f"mid-{i}.db"
                done = await anyio.to_thread.run_sync(
                    lambda t=target: _cli("backup", str(t), database_url=store)
                )
                assert done.returncode == 0, done.stderr
                assert "backed up" in done.stdout
                backups.append(target)
            stop.set()
        for target in backups:
            url = f"sqlite+aiosqlite:///{target}"
            assert await store_violations(url) == [], target  # a consistent snapshot, not a torn copy
            assert not Path(f"{target}-wal").exists()  # one self-contained file
        final = tmp_path / "final.db"
        assert _cli("backup", str(final), database_url=store).returncode == 0
    # Restore into a fresh location: the data is identical, row for row.
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'lead.db'}"
    restored = _cli("restore", str(final), database_url=fresh)
    assert restored.returncode == 0, restored.stderr
    assert await table_dump(fresh) == await table_dump(store)
    assert await store_violations(fresh) == []
    with sqlite3.connect(tmp_path / "final.db") as conn:
        assert conn.execute("SELECT count(*) FROM contacts").fetchone()[0] >= 90


async def test_restore_refuses_a_running_store_unless_forced_and_keeps_the_old_one(tmp_path: Path) -> None:
    store = f"sqlite+aiosqlite:///{tmp_path / 'lead.db'}"
    backup_file = tmp_path / "backup.db"
    with servers(1, database_url=store, log_level="WARNING") as (server,):
        async with Client(server.mcp_url) as client:
            await call(client, "add_contact", {"full_name": "Before", "email": "before@bk.io"})
        assert _cli("backup", str(backup_file), database_url=store).returncode == 0
        async with Client(server.mcp_url) as client:
            await call(client, "add_contact", {"full_name": "After", "email": "after@bk.io"})

        refused = _cli("restore", str(backup_file), database_url=store)
        assert refused.returncode == 1
        assert "running lead-mcp" in refused.stderr and "--force" in refused.stderr
        async with Client(server.mcp_url) as client:  # untouched
            assert len((await call(client, "search_contacts", {"query": "after@bk.io"}))["items"]) == 1

        forced = _cli("restore", "--force", str(backup_file), database_url=store)
        assert forced.returncode == 0, forced.stderr
        assert "previous store is kept" in forced.stdout
        async with Client(server.mcp_url) as client:  # the running server now serves the restored data
            assert (await call(client, "search_contacts", {"query": "after@bk.io"}))["items"] == []
            assert len((await call(client, "search_contacts", {"query": "before@bk.io"}))["items"]) == 1
    kept = [p for p in tmp_path.iterdir() if ".before-restore-" in p.name]
    assert len(kept) == 1
    with sqlite3.connect(kept[0]) as conn:
        assert conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 2


def test_restore_refuses_files_that_are_not_lead_mcp_stores_at_a_known_revision(tmp_path: Path) -> None:
    store = f"sqlite+aiosqlite:///{tmp_path / 'lead.db'}"
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    newer = tmp_path / "newer.db"
    assert _cli("upgrade", database_url=f"sqlite+aiosqlite:///{newer}").returncode == 0
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    for path, says in (
        (tmp_path / "missing.db", "does not exist"),
        (text_file, "not a SQLite database"),
        (other, "not a lead-mcp store"),
        (newer, "does not know"),
    ):
        done = _cli("restore", str(path), database_url=store)
        assert done.returncode == 1, path
        assert says in done.stderr and "FILE" in done.stderr, done.stderr
    assert not (tmp_path / "lead.db").exists()  # nothing was created or overwritten


def test_backup_of_a_postgresql_store_explains_pg_dump_without_the_password() -> None:
    for command in ("backup", "restore"):
        done = _cli(command, "out.db", database_url="postgresql+asyncpg://lead:secret@db.example:5433/leads")
        assert done.returncode == 2
        assert "pg_dump --format=custom" in done.stderr and "pg_restore" in done.stderr
        assert "postgresql://lead@db.example:5433/leads" in done.stderr
        assert "secret" not in done.stderr
