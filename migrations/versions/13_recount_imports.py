"""Recount pipeline_report's running aggregates: contacts created by import_contacts were left out.

The bulk import inserted contacts with Core statements that the counter listeners
never saw, so every stored database that ran an import under-counts them. The
counters are rebuilt from the contacts themselves; nothing else changes.

Revision ID: 13_recount_imports
Revises: 11_cards_per_seat
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "13_recount_imports"
down_revision: str | None = "11_cards_per_seat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from lead_mcp.db.aggregates import rebuild_sync

    bind = op.get_bind()
    for (workspace_id,) in bind.execute(sa.text("SELECT id FROM workspaces")).all():
        rebuild_sync(bind, workspace_id)


def downgrade() -> None:
    """Nothing to undo: the recount only corrected counter values."""
