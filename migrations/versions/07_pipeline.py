"""Pipeline: named cadences, follow-up purposes, referral milestones, and the report's running aggregates.

Adds ``contacts.furthest_stage`` and ``contacts.outbound_touches`` (backfilled
from the stage and the stored touches), ``followups.purpose``, the tables
``cadences`` and ``referral_milestones``, and the counters ``pipeline_counts``,
``pipeline_speed`` and ``pipeline_referrers``, which are then filled from the
existing contacts.

Revision ID: 07_pipeline
Revises: 06_exchange
Create Date: 2026-11-25 14:43:45.489058
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "07_pipeline"
down_revision: str | None = "06_exchange"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cadences",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_cadences_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("pk_cadences")),
    )
    op.create_table(
        "pipeline_counts",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("furthest", sa.String(length=20), nullable=False),
        sa.Column("contacts", sa.BigInteger(), nullable=False),
        sa.Column("touched", sa.BigInteger(), nullable=False),
        sa.Column("touched_twice", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pipeline_counts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "grain", "day", "source", "stage", "furthest", name=op.f("pk_pipeline_counts")
        ),
    )
    op.create_table(
        "pipeline_referrers",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("referrer_id", sa.String(length=36), nullable=False),
        sa.Column("referred", sa.BigInteger(), nullable=False),
        sa.Column("converted", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pipeline_referrers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "grain", "day", "referrer_id", name=op.f("pk_pipeline_referrers")
        ),
    )
    with op.batch_alter_table("pipeline_referrers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pipeline_referrers_rank",
            ["workspace_id", "grain", "day", "converted", "referred"],
            unique=False,
        )
    op.create_table(
        "pipeline_speed",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pipeline_speed_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "grain", "day", "bucket", name=op.f("pk_pipeline_speed")),
    )
    op.create_table(
        "referral_milestones",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=False),
        sa.Column("milestone", sa.String(length=20), nullable=False),
        sa.Column("referrer_id", sa.String(length=36), nullable=True),
        sa.Column("followup_id", sa.String(length=36), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_referral_milestones_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["followup_id"],
            ["followups.id"],
            name=op.f("fk_referral_milestones_followup_id_followups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["referrer_id"],
            ["contacts.id"],
            name=op.f("fk_referral_milestones_referrer_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_referral_milestones_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "contact_id", "milestone", name=op.f("pk_referral_milestones")
        ),
    )
    with op.batch_alter_table("referral_milestones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_milestones_referrer_id"), ["referrer_id"], unique=False)

    # ADD COLUMN needs no table rebuild on SQLite, so the contacts FTS table and triggers stay as they are.
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("furthest_stage", sa.String(length=20), server_default="lead", nullable=False)
        )
        batch_op.add_column(sa.Column("outbound_touches", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=20), server_default="cadence", nullable=False)
        )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_referred_converted",
            ["workspace_id", "referred_by_id", "created_at"],
            unique=False,
            sqlite_where=sa.text("furthest_stage = 'customer' AND referred_by_id IS NOT NULL"),
            postgresql_where=sa.text("furthest_stage = 'customer' AND referred_by_id IS NOT NULL"),
        )

    _backfill()


def _backfill() -> None:
    """Fill the new columns and counters from what is already stored."""
    op.execute(
        """UPDATE contacts SET furthest_stage = CASE WHEN stage = 'lost' THEN 'lead' ELSE stage END,
           outbound_touches = (SELECT count(*) FROM interactions i
                               WHERE i.contact_id = contacts.id AND i.direction = 'outbound')"""
    )
    op.execute("UPDATE followups SET purpose = 'manual' WHERE cadence = 'manual'")
    # The counters come from the same code that maintains them, so they start exact.
    from lead_mcp.db.aggregates import rebuild_sync

    bind = op.get_bind()
    for (workspace_id,) in bind.execute(sa.text("SELECT id FROM workspaces")).all():
        rebuild_sync(bind, workspace_id)


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_referred_converted")
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch rebuild of contacts would drop its FTS triggers.
    op.execute("ALTER TABLE followups DROP COLUMN purpose")
    op.execute("ALTER TABLE contacts DROP COLUMN outbound_touches")
    op.execute("ALTER TABLE contacts DROP COLUMN furthest_stage")
    with op.batch_alter_table("referral_milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_milestones_referrer_id"))
    op.drop_table("referral_milestones")
    op.drop_table("pipeline_speed")
    with op.batch_alter_table("pipeline_referrers", schema=None) as batch_op:
        batch_op.drop_index("ix_pipeline_referrers_rank")
    op.drop_table("pipeline_referrers")
    op.drop_table("pipeline_counts")
    op.drop_table("cadences")
