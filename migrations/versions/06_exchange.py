"""Exchange: stored exports (read as lead://exports/... resources) and what was pushed to HubSpot.

Revision ID: 06_exchange
Revises: 04_scans
Create Date: 2026-11-25 14:48:00.847704
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '06_exchange'
down_revision: str | None = "04_scans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('exports',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('version', sa.String(length=10), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('contact_count', sa.Integer(), nullable=False),
    sa.Column('byte_size', sa.BigInteger(), nullable=False),
    sa.Column('complete', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_exports_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exports'))
    )
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exports_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('export_chunks',
    sa.Column('export_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['exports.id'], name=op.f('fk_export_chunks_export_id_exports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_export_chunks_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('export_id', 'seq', name=op.f('pk_export_chunks'))
    )
    op.create_table('hubspot_links',
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('hubspot_id', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pushed_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_hubspot_links_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_hubspot_links_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_hubspot_links'))
    )
    with op.batch_alter_table('hubspot_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hubspot_links_workspace_id'), ['workspace_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('hubspot_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hubspot_links_workspace_id'))

    op.drop_table('hubspot_links')
    op.drop_table('export_chunks')
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exports_workspace_id'))

    op.drop_table('exports')
