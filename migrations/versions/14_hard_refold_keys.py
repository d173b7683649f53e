"""Refold search text and name keys: transliteration, invisible characters, digests of long keys.

``normalize.fold`` now spells letters NFKD leaves whole as they are typed on an
English keyboard ("Søren" folds to "soren", "Łódź" to "lodz") and drops
zero-width characters instead of splitting a word at them; a name+company key
longer than ``normalize.MAX_KEY_LENGTH`` is stored as its head and a SHA-256
digest (PostgreSQL refused such keys, over the column's 400 characters). Stored
contacts whose text is affected (non-ASCII text, or a long key) get their
``search_text`` (and so the full-text index, through its triggers or generated
column) and their name key recomputed, so old contacts are found and merged
exactly like new ones. A recomputed name key another contact already holds is
left out, as a split-off contact's is.

Revision ID: 14_hard_refold_keys
Revises: 13_recount_imports
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "14_hard_refold_keys"
down_revision: str | None = "13_recount_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = (
    "full_name",
    "given_name",
    "family_name",
    "company",
    "title",
    "website",
    "met_at",
    "address",
    "notes",
)
_LISTS = ("emails", "phones", "tags")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    from lead_mcp.services import normalize
    from lead_mcp.services.custom_fields import search_words

    bind = op.get_bind().execution_options(across_workspaces=True)
    columns = ", ".join(("pk", "id", "workspace_id", "deleted_at", "custom", "search_text", *_TEXT, *_LISTS))
    page = sa.text(f"SELECT {columns} FROM contacts WHERE pk > :last ORDER BY pk LIMIT 5000")  # noqa: S608
    last = -1
    while rows := bind.execute(page, {"last": last}).mappings().all():
        last = rows[-1]["pk"]
        for row in rows:
            _refold(bind, row, normalize, search_words)


def _refold(bind: Any, row: Any, normalize: Any, search_words: Any) -> None:
    """One contact's search text and name key, recomputed when its text is affected."""
    texts = [row[name] for name in _TEXT if row[name]]
    lists = {name: list(_json(row[name]) or []) for name in _LISTS}
    custom = _json(row["custom"]) or {}
    words = search_words(custom)
    plain = all(t.isascii() for t in [*texts, *lists["tags"], *words])
    key = normalize.name_key(row["full_name"], row["company"])
    if plain and (key is None or len(key) < normalize.MAX_KEY_LENGTH):
        return
    text = normalize.search_text(
        **{name: row[name] for name in _TEXT},
        emails=lists["emails"],
        phones=lists["phones"],
        tags=lists["tags"],
        custom=words,
    )
    if text != row["search_text"]:
        bind.execute(
            sa.text("UPDATE contacts SET search_text = :text WHERE pk = :pk"),
            {"text": text, "pk": row["pk"]},
        )
    if row["deleted_at"] is not None:
        return
    held = bind.execute(
        sa.text("SELECT value FROM contact_keys WHERE kind = 'name' AND contact_id = :id"), {"id": row["id"]}
    ).scalar()
    if held == key:
        return
    if held is not None:
        bind.execute(
            sa.text("DELETE FROM contact_keys WHERE kind = 'name' AND contact_id = :id"), {"id": row["id"]}
        )
    if key is None:
        return
    taken = bind.execute(
        sa.text("SELECT 1 FROM contact_keys WHERE workspace_id = :ws AND kind = 'name' AND value = :value"),
        {"ws": row["workspace_id"], "value": key},
    ).first()
    if taken is None:
        bind.execute(
            sa.text(
                "INSERT INTO contact_keys (workspace_id, kind, value, contact_id) "
                "VALUES (:ws, 'name', :value, :id)"
            ),
            {"ws": row["workspace_id"], "value": key, "id": row["id"]},
        )


def downgrade() -> None:
    """Nothing to undo: the older code folds these contacts' text its own way again as they change."""
