"""Card scans (the kept image, its hash and what was read) and phone scan links.

Revision ID: 04_scans
Revises: 08_auth
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

revision: str = "04_scans"
down_revision: str | None = "08_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "card_scans",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=True),
        sa.Column("image_type", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=True),
        sa.Column("engine", sa.String(length=20), nullable=False),
        sa.Column(
            "reading",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_card_scans_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_card_scans_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_scans")),
    )
    with op.batch_alter_table("card_scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_scans_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ux_card_scans_workspace_sha256", ["workspace_id", "sha256"], unique=True)

    op.create_table(
        "scan_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("met_at", sa.String(length=300), nullable=True),
        sa.Column("uploads", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_scan_links_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_scan_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scan_links_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("scan_links")
    with op.batch_alter_table("card_scans", schema=None) as batch_op:
        batch_op.drop_index("ux_card_scans_workspace_sha256")
        batch_op.drop_index(batch_op.f("ix_card_scans_contact_id"))
    op.drop_table("card_scans")
