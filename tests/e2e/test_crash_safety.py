"""kill -9 in the middle of writes: every acknowledged write survives, nothing is half-written.

`lead-mcp serve` (on SQLite and on PostgreSQL) and `lead-mcp stdio` are killed
with SIGKILL at seeded random points while many writes are in flight (single
adds, touches, completions, and a large burst of concurrent adds that share
group commits; with an `import_contacts` tool, a large import too), restarted,
killed again, and finally checked: each write the server acknowledged is in
the store, the store's invariants hold (keys, follow-ups, history and search
index consistent with every contact), and each contact is whole.

SQLite runs in WAL mode with ``synchronous=FULL`` (see db/engine.py), so an
acknowledged commit is on disk before the answer leaves; a killed process
leaves at most an uncommitted transaction in the WAL, which SQLite discards.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
from pathlib import Path
from typing import Any

import anyio
import httpx
from sqlalchemy import text

from lead_mcp.db.engine import create_engine_unpooled
from mcp import Client
from tests.e2e.servers import LEAD_MCP, ServerProcess, lead_env, start_server, wait_healthy
from tests.invariants import store_violations

SEED = int(os.environ.get("LEAD_MCP_CRASH_SEED", "90210"))
ROUNDS = 3
WRITERS = 8
BURST = 60


class Acknowledged:
    """What the server said it saved."""

    def __init__(self) -> None:
        self.contacts: dict[str, str] = {}  # id -> email
        self.interactions: set[str] = set()
        self.completed: set[str] = set()
        self.imported: list[tuple[str, int]] = []  # (batch tag, rows)
        self.count = 0
        self.reached = anyio.Event()
        self.target = 0

    def note(self) -> None:
        self.count += 1
        if self.count >= self.target:
            self.reached.set()


async def _ok(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """A call's structured result; None if the server died under it (not acknowledged)."""
    try:
        result = await client.call_tool(tool, args)
    except Exception:
        return None
    assert not result.is_error, f"{tool} failed: {result.content}"
    return result.structured_content


async def _writer(url: str, name: str, acked: Acknowledged) -> None:
    try:
        async with Client(url) as client:
            for n in range(10_000):
                added = await _ok(
                    client,
                    "add_contact",
                    {"full_name": f"Crash {name} {n}", "email": f"{name}.{n}@crash.io", "notes": "x" * 2000},
                )
                if added is None:
                    return
                acked.contacts[added["contact"]["id"]] = f"{name}.{n}@crash.io"
                acked.note()
                touched = await _ok(
                    client,
                    "log_interaction",
                    {"contact_id": added["contact"]["id"], "kind": "call", "summary": f"called {name} {n}"},
                )
                if touched is None:
                    return
                acked.interactions.add(touched["interaction"]["id"])
                acked.note()
                if added.get("followup"):
                    done = await _ok(client, "complete_followup", {"followup_id": added["followup"]["id"]})
                    if done is None:
                        return
                    acked.completed.add(added["followup"]["id"])
                    acked.note()
    except Exception:  # the connection broke while opening or closing: the server is gone
        return


async def _burst(url: str, name: str, acked: Acknowledged) -> None:
    """A large batch: many adds at once (they share group commits), or an import when there is one."""
    try:
        async with Client(url) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            if "import_contacts" in tools:
                rows = 400
                csv = "full_name,email\n" + "".join(
                    f"Batch {name} {i},{name}.b{i}@batch.io\n" for i in range(rows)
                )
                # follow_up: every contact then has a follow-up, which the check below relies on.
                done = await _ok(
                    client, "import_contacts", {"content": csv, "format": "csv", "follow_up": True}
                )
                if done is not None:
                    acked.imported.append((f"{name}.b", rows))
                    acked.note()
                return

            async def one(i: int) -> None:
                added = await _ok(
                    client,
                    "add_contact",
                    {"full_name": f"Burst {name} {i}", "email": f"{name}.b{i}@batch.io"},
                )
                if added is not None:
                    acked.contacts[added["contact"]["id"]] = f"{name}.b{i}@batch.io"
                    acked.note()

            async with anyio.create_task_group() as group:
                for i in range(BURST):
                    group.start_soon(one, i)
    except Exception:
        return


async def _round(server: ServerProcess, acked: Acknowledged, rng: random.Random, round_no: int) -> None:
    acked.reached = anyio.Event()
    acked.target = acked.count + rng.randint(10, 120)  # the seeded random point to kill at
    async with anyio.create_task_group() as group:
        for w in range(WRITERS):
            group.start_soon(_writer, server.mcp_url, f"r{round_no}w{w}", acked)
        group.start_soon(_burst, server.mcp_url, f"r{round_no}", acked)
        with anyio.fail_after(120):
            await acked.reached.wait()
        server.kill()


async def _check(url: str, acked: Acknowledged) -> None:
    assert await store_violations(url) == []
    engine = create_engine_unpooled(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id, emails FROM contacts"))).all()
            stored = {r[0]: (json.loads(r[1]) if isinstance(r[1], str) else r[1]) for r in rows}
            missing = [cid for cid in acked.contacts if cid not in stored]
            assert not missing, f"{len(missing)} acknowledged contacts lost, e.g. {missing[:3]}"
            for cid, email in acked.contacts.items():
                assert email in stored[cid]
            interactions = {r[0] for r in (await conn.execute(text("SELECT id FROM interactions"))).all()}
            assert acked.interactions <= interactions
            done = {
                r[0]
                for r in (await conn.execute(text("SELECT id FROM followups WHERE status = 'done'"))).all()
            }
            assert acked.completed <= done
            # Whole contacts: each has its creation in the history and a follow-up (nothing half-written).
            created = {
                r[0]
                for r in (
                    await conn.execute(
                        text("SELECT contact_id FROM contact_changes WHERE action = 'created'")
                    )
                ).all()
            }
            with_followup = {
                r[0] for r in (await conn.execute(text("SELECT contact_id FROM followups"))).all()
            }
            assert set(stored) <= created
            assert set(stored) <= with_followup
            for prefix, count in acked.imported:
                found = (
                    await conn.execute(
                        text("SELECT count(*) FROM contact_keys WHERE kind = 'email' AND value LIKE :p"),
                        {"p": f"{prefix}%@batch.io"},
                    )
                ).scalar_one()
                assert found == count, f"import {prefix}: {found} of {count} rows"
    finally:
        await engine.dispose()


async def test_serve_killed_mid_write_keeps_every_acknowledged_write(database_url: str) -> None:
    rng = random.Random(SEED)
    acked = Acknowledged()
    for round_no in range(ROUNDS):
        server = start_server(database_url=database_url, log_level="WARNING")
        try:
            wait_healthy([server])
            await _round(server, acked, rng, round_no)
        finally:
            server.stop()
    # A last start: the store opens (recovery), answers, and holds everything acknowledged.
    server = start_server(database_url=database_url, log_level="WARNING")
    try:
        wait_healthy([server])
        assert httpx.get(f"{server.base}/healthz").json()["database"] == "ok"
    finally:
        server.stop()
    assert acked.count >= ROUNDS * 10
    await _check(database_url, acked)


async def _stdio_round(db_url: str, acked: Acknowledged, rng: random.Random, round_no: int) -> None:
    """Raw JSON-RPC to a `lead-mcp stdio` child, calls pipelined, SIGKILL after a seeded number of answers."""
    kill_after = rng.randint(5, 80)
    env = lead_env(database_url=db_url, log_level="WARNING")
    async with await anyio.open_process([LEAD_MCP, "stdio"], env=env) as process:
        assert process.stdin is not None and process.stdout is not None

        async def send(message: dict[str, Any]) -> None:
            await process.stdin.send((json.dumps(message) + "\n").encode())  # type: ignore[union-attr]

        await send(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            }
        )
        buffer = b""
        sent: dict[int, str] = {}
        answers = 0
        initialized = False
        async for chunk in process.stdout:
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                message = json.loads(line)
                if message.get("id") == 0 and not initialized:
                    initialized = True
                    await send({"jsonrpc": "2.0", "method": "notifications/initialized"})
                    for i in range(1, 200):  # pipelined: many writes in flight when the kill comes
                        email = f"stdio{round_no}.{i}@crash.io"
                        sent[i] = email
                        await send(
                            {
                                "jsonrpc": "2.0",
                                "id": i,
                                "method": "tools/call",
                                "params": {
                                    "name": "add_contact",
                                    "arguments": {"full_name": f"Stdio {i}", "email": email},
                                },
                            }
                        )
                    continue
                result = message.get("result", {})
                assert not result.get("isError"), message
                acked.contacts[result["structuredContent"]["contact"]["id"]] = sent[message["id"]]
                answers += 1
                if answers >= kill_after:
                    process.kill()
                    return
        raise AssertionError(f"lead-mcp stdio ended before {kill_after} answers")


async def test_stdio_killed_mid_write_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'stdio.db'}"
    rng = random.Random(SEED)
    acked = Acknowledged()
    for round_no in range(ROUNDS):
        await _stdio_round(db_url, acked, rng, round_no)
    await _check(db_url, acked)
    assert len(acked.contacts) >= ROUNDS * 5


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_a_child_parser_ends_when_the_server_is_killed_mid_import(tmp_path: Path) -> None:
    """A big import is parsed in a child process: kill -9 of the server leaves no parser behind."""
    roots = tmp_path / "imports"
    roots.mkdir()
    big = roots / "big.csv"
    lines = (f"Person {i},p{i}@big.io,+1 415 5{i:06d},Co {i % 500}" for i in range(80_000))
    big.write_text("Name,Email,Phone,Company\r\n" + "\r\n".join(lines) + "\r\n")
    server = start_server(database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", scan_roots=str(roots))
    try:
        wait_healthy([server])
        parsers: list[int] = []
        killed = False
        try:
            async with Client(server.mcp_url) as client, anyio.create_task_group() as group:

                async def run_import() -> None:
                    with contextlib.suppress(Exception):  # the server dies under it
                        await client.call_tool("import_contacts", {"path": str(big)})

                group.start_soon(run_import)
                with anyio.fail_after(60):
                    while not parsers:
                        await anyio.sleep(0.05)
                        parsers = [p for p in _children(server.process.pid) if _alive(p)]
                server.kill()
                killed = True
                group.cancel_scope.cancel()
        except Exception:  # the client's connection dies with the server
            if not killed:
                raise
        assert parsers
        with anyio.fail_after(20):
            while any(_alive(p) for p in parsers):
                await anyio.sleep(0.1)
    finally:
        server.stop()
