"""Custom fields on contacts, and private calendar feeds of due follow-ups.

``contacts.custom`` holds each contact's custom-field values by key. The column
is added and dropped with plain ALTER TABLE (not batch mode): rebuilding
``contacts`` on SQLite would drop the full-text triggers made in 0001.

Revision ID: 07b_fields_and_feeds
Revises: 05_cards
Create Date: 2026-11-25 14:41:07.433531
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '07b_fields_and_feeds'
down_revision: str | None = '05_cards'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('custom_fields',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('choices', JSON, nullable=True),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_custom_fields_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_fields'))
    )
    with op.batch_alter_table('custom_fields', schema=None) as batch_op:
        batch_op.create_index('ux_custom_fields_workspace_key', ['workspace_id', 'key'], unique=True)

    op.create_table('calendar_feeds',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_calendar_feeds_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds'))
    )
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_feeds_workspace_id'), ['workspace_id'], unique=False)
        batch_op.create_index('ux_calendar_feeds_token_hash', ['token_hash'], unique=True)

    op.add_column('contacts', sa.Column('custom', JSON, nullable=True))


def downgrade() -> None:
    op.drop_column('contacts', 'custom')

    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.drop_index('ux_calendar_feeds_token_hash')
        batch_op.drop_index(batch_op.f('ix_calendar_feeds_workspace_id'))

    op.drop_table('calendar_feeds')
    with op.batch_alter_table('custom_fields', schema=None) as batch_op:
        batch_op.drop_index('ux_custom_fields_workspace_key')

    op.drop_table('custom_fields')
