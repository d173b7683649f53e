"""Cards per seat: each seat of a workspace has its own card (was: one card per workspace).

Replaces the unique ``cards.workspace_id`` with a unique ``(workspace_id, user_id)``.
Existing cards keep their seat (the one who first published them); a card without a
seat (made by the local user over stdio) is taken over by the workspace owner the
next time they publish.

Not additive: older replicas expect one card per workspace and would take any seat's
card for the workspace's. Stop them before running it, then start the new version.

On SQLite the table is rebuilt (batch mode), and dropping the old table would
cascade to its slugs and daily counters (foreign keys are on, and cannot be turned
off inside the migration's transaction): they are kept aside and put back. The
downgrade keeps each workspace's oldest card and deletes the others (with their
slugs and counters), as the old schema cannot hold them.

Revision ID: 11_cards_per_seat
Revises: 07_pipeline
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "11_cards_per_seat"
down_revision: str | None = "07_pipeline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHILDREN = ("card_slugs", "card_daily_stats")


def _rebuild_cards(change: object) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for child in CHILDREN:
            op.execute(f"CREATE TEMP TABLE _kept_{child} AS SELECT * FROM {child}")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        change(batch_op)  # type: ignore[operator]
    if sqlite:
        for child in CHILDREN:
            # Only what the rebuild cascaded away, and only for cards that are still there.
            op.execute(
                f"INSERT INTO {child} SELECT * FROM _kept_{child} AS kept "
                f"WHERE kept.card_id IN (SELECT id FROM cards) AND NOT EXISTS "
                f"(SELECT 1 FROM {child} AS now WHERE now.card_id = kept.card_id)"
            )
            op.execute(f"DROP TABLE _kept_{child}")


def upgrade() -> None:
    def change(batch_op: object) -> None:
        batch_op.drop_constraint("uq_cards_workspace_id", type_="unique")  # type: ignore[attr-defined]
        batch_op.create_unique_constraint("uq_cards_workspace_user", ["workspace_id", "user_id"])  # type: ignore[attr-defined]

    _rebuild_cards(change)


def downgrade() -> None:
    op.execute(
        "DELETE FROM cards WHERE id <> (SELECT o.id FROM cards AS o WHERE o.workspace_id = cards.workspace_id "
        "ORDER BY o.created_at, o.id LIMIT 1)"
    )

    def change(batch_op: object) -> None:
        batch_op.drop_constraint("uq_cards_workspace_user", type_="unique")  # type: ignore[attr-defined]
        batch_op.create_unique_constraint("uq_cards_workspace_id", ["workspace_id"])  # type: ignore[attr-defined]

    _rebuild_cards(change)
