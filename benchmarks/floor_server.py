"""The load benchmark's floor: a no-logic MCP server on the same SDK over raw ``sqlite3``.

One process, stateless streamable HTTP with JSON responses, one ``sqlite3``
connection in WAL mode with ``synchronous=FULL`` (the same durability as
lead-mcp's store), four trivial tools: ``add`` (insert by unique email),
``search`` (``LIKE``), ``due`` (an empty list) and ``export_csv`` (all rows).
No validation beyond the SDK's, no de-duplication logic, no history, no
follow-ups, no full-text index: what serving MCP over a durable SQLite costs,
so lead-mcp's figures are read as a ratio to it measured in the same run.

``python -m benchmarks.floor_server --port 8900 --db /tmp/floor.db``
"""

from __future__ import annotations

import argparse
import csv
import io
import sqlite3
import uuid

import uvicorn
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel


class Added(BaseModel):
    """Result of add."""

    id: str
    created: bool


class Row(BaseModel):
    """A stored contact."""

    id: str
    full_name: str | None
    email: str
    company: str | None


class Page(BaseModel):
    """A list of rows."""

    items: list[Row]


class Csv(BaseModel):
    """All rows as CSV."""

    csv: str
    rows: int


def open_store(path: str) -> sqlite3.Connection:
    """One connection, WAL, synchronous=FULL, autocommit off."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS contacts ("
        "id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, full_name TEXT, company TEXT)"
    )
    return conn


def build_floor_server(path: str) -> MCPServer:
    """The floor server with its four tools."""
    conn = open_store(path)
    server = MCPServer("floor", log_level="WARNING")

    @server.tool()
    async def add(email: str, full_name: str | None = None, company: str | None = None) -> Added:
        """Add a contact by unique email."""
        new_id = str(uuid.uuid4())
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = conn.execute(
                "INSERT INTO contacts(id, email, full_name, company) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(email) DO UPDATE SET full_name = coalesce(excluded.full_name, full_name) "
                "RETURNING id",
                (new_id, email, full_name, company),
            ).fetchone()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return Added(id=found[0], created=found[0] == new_id)

    @server.tool()
    async def search(query: str) -> Page:
        """Contacts whose name or email contains the query."""
        like = f"%{query}%"
        rows = conn.execute(
            "SELECT id, full_name, email, company FROM contacts WHERE full_name LIKE ? OR email LIKE ? "
            "ORDER BY rowid DESC LIMIT 20",
            (like, like),
        ).fetchall()
        return Page(items=[Row(id=r[0], full_name=r[1], email=r[2], company=r[3]) for r in rows])

    @server.tool()
    async def due() -> Page:
        """An empty due list."""
        return Page(items=[])

    @server.tool()
    async def export_csv() -> Csv:
        """Every contact as CSV."""
        out = io.StringIO()
        writer = csv.writer(out)
        count = 0
        for row in conn.execute("SELECT id, full_name, email, company FROM contacts ORDER BY rowid"):
            writer.writerow(row)
            count += 1
        return Csv(csv=out.getvalue(), rows=count)

    return server


def main() -> None:
    """Serve the floor on loopback."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--tuned-gc", action="store_true", help="lead-mcp's GC tuning (for comparison)")
    args = parser.parse_args()
    server = build_floor_server(args.db)
    app = server.streamable_http_app(stateless_http=True, json_response=True)
    if args.tuned_gc:
        from lead_mcp.runtime import freeze_startup_heap, tune_gc

        tune_gc()
        freeze_startup_heap()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
