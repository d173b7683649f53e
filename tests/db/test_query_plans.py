"""One contact's rows are found through that contact's index, on a store SQLite has no statistics for.

A store built by add_contact is never ANALYZEd, so SQLite picks indexes by their
shape alone. Every statement in a workspace's session also names the workspace,
and an index on ``(workspace_id, ...)`` would match that as well as one on the
contact: then one contact's touches or follow-ups are found by reading the whole
workspace's. Here the statements the core tools really run are captured and each
one that looks rows up by contact is planned by SQLite on the same file.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from lead_mcp.clock import FixedClock
from lead_mcp.config import Settings
from lead_mcp.mcp.server import build_server
from mcp import Client
from tests.helpers import call

# Indexes that find rows by workspace only: reading one contact's rows through them reads everyone's.
WORKSPACE_WIDE = re.compile(
    r"ix_interactions_workspace_occurred|ix_followups_pending_due|"
    r"sqlite_autoindex_contact_tags_1 \(workspace_id=\?\)|ix_contacts_workspace_\w+ \(workspace_id=\?\)$"
)
BY_CONTACT = re.compile(r"\b(interactions|followups|contact_tags)\.(contact_id|contact_pk) = \?")


@pytest.fixture
def statements() -> Iterator[list[tuple[str, Any]]]:
    """Every single-row-set statement any engine runs while the test does (SQL and parameters)."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if not many:
            seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", capture)


async def test_a_contacts_rows_are_read_through_its_own_index(
    sqlite_url: str, tmp_path: Any, clock: FixedClock, statements: list[tuple[str, Any]]
) -> None:
    settings = Settings(database_url=sqlite_url, timezone="Europe/Berlin", default_region="US")
    async with Client(build_server(settings, clock=clock), raise_exceptions=True) as client:
        ids = []
        for i in range(3):
            added = await call(
                client,
                "add_contact",
                {"full_name": f"Ana Lima {i}", "email": f"ana{i}@fintech.io", "tags": ["expo", f"t{i}"]},
            )
            ids.append(added["contact"]["id"])
        await call(
            client, "add_contact", {"full_name": "Ana Lima 0", "email": "ana0@fintech.io", "company": "Fin"}
        )
        for contact_id in ids:
            await call(
                client, "log_interaction", {"contact_id": contact_id, "kind": "call", "summary": "Called"}
            )
            await call(
                client,
                "log_interaction",
                {
                    "contact_id": contact_id,
                    "kind": "email",
                    "summary": "She wrote back",
                    "direction": "inbound",
                },
            )
        due = await call(client, "list_due_followups", {"within_days": 30})
        for item in due["items"]:
            await call(client, "complete_followup", {"followup_id": item["followup_id"], "outcome": "Called"})
        await call(client, "update_contact", {"contact_id": ids[1], "tags": ["vip"]})
        await call(client, "get_contact", {"contact_id": ids[2]})
        await call(client, "delete_contact", {"contact_id": ids[2], "confirm": True})

    path = sqlite_url.split("///", 1)[1]
    planned = 0
    with sqlite3.connect(path) as db:
        assert not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchall()
        for sql, parameters in statements:
            if not BY_CONTACT.search(sql) or not sql.lstrip().upper().startswith(
                ("SELECT", "UPDATE", "DELETE")
            ):
                continue
            plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", parameters or ())]
            planned += 1
            wide = [step for step in plan if WORKSPACE_WIDE.search(step)]
            assert not wide, f"{sql}\n  planned as {plan}"
    assert planned >= 5, "the tools ran too few by-contact statements to check"
