"""The hot-path Core statements bypass the session's automatic workspace filter: each must filter itself."""

from __future__ import annotations

import itertools

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from lead_mcp.db import queries


def _statements() -> list[tuple[str, Executable]]:
    out: list[tuple[str, Executable]] = [
        ("KEY_OWNERS", queries.KEY_OWNERS),
        ("TOUCHED_CONTACT", queries.TOUCHED_CONTACT),
        ("TOUCHED_CONTACT_LOCKED", queries.TOUCHED_CONTACT_LOCKED),
        ("APPLY_TOUCH", queries.APPLY_TOUCH),
    ]
    for dialect in ("sqlite", "postgresql"):
        for flags in itertools.product([False, True], repeat=5):
            text, tag, stage, source, after = flags
            out.append(
                (
                    f"search {dialect} {flags}",
                    queries.search_statement(
                        dialect, text=text, tag=tag, stage=stage, source=source, after=after
                    ),
                )
            )
    for overdue, after in itertools.product([False, True], repeat=2):
        out.append((f"due {overdue} {after}", queries.due_statement(overdue=overdue, after=after)))
    return out


def test_every_hot_path_statement_filters_on_the_callers_workspace() -> None:
    for name, statement in _statements():
        for dialect in (sqlite.dialect(), postgresql.dialect()):
            sql = " ".join(str(statement.compile(dialect=dialect)).split())
            assert "workspace_id = ?" in sql or "workspace_id = %(ws)s" in sql, f"{name}: {sql}"


def test_the_due_list_drops_rows_whose_contact_is_in_another_workspace() -> None:
    # The due statement selects the contact's workspace so the service can refuse foreign rows
    # (it is not in the WHERE clause, for PostgreSQL's planner's sake: see queries.due_statement).
    sql = str(queries.due_statement(overdue=True, after=False).compile(dialect=sqlite.dialect()))
    assert "contacts.workspace_id AS contact_workspace_id" in sql
