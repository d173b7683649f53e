"""A contact's touches, follow-ups and tags: indexes that lead with the contact and name the workspace.

Every statement of a workspace's session carries ``workspace_id = :ws``. For
"this contact's touches" SQLite saw two indexes each matching one equality,
``(contact_id, occurred_at)`` and ``(workspace_id, occurred_at)``, and without
statistics (a store built by add_contact is never ANALYZEd) it chose the
workspace's: rescoring after ``log_interaction`` read every touch of the
workspace. Likewise a contact's pending follow-ups came from the workspace's whole due list,
and a contact's tags the workspace's whole tag index. With
``(contact_id, workspace_id, ...)`` the contact's index matches two or three
equalities and wins with or without statistics; it still serves the foreign
keys' cascades, which look rows up by the contact alone.

Revision ID: 15_contact_indexes_ws
Revises: 14_hard_refold_keys
Create Date: 2026-12-03 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "15_contact_indexes_ws"
down_revision: str | None = "14_hard_refold_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old name, old columns, new name, new columns)
_CHANGES = (
    (
        "interactions",
        "ix_interactions_contact_occurred",
        ["contact_id", "occurred_at"],
        "ix_interactions_contact_ws_occurred",
        ["contact_id", "workspace_id", "occurred_at"],
    ),
    (
        "followups",
        "ix_followups_contact_status",
        ["contact_id", "status"],
        "ix_followups_contact_ws_status_due",
        ["contact_id", "workspace_id", "status", "due_at"],
    ),
    (
        "contact_tags",
        "ix_contact_tags_contact_pk",
        ["contact_pk"],
        "ix_contact_tags_contact_ws",
        ["contact_pk", "workspace_id"],
    ),
)


def upgrade() -> None:
    for table, old, _, new, columns in _CHANGES:
        op.create_index(new, table, columns)  # the new one first: the foreign keys always have an index
        op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, old, columns, new, _ in _CHANGES:
        op.create_index(old, table, columns)
        op.drop_index(new, table_name=table)
