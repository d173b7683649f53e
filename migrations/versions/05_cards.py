"""Cards: the workspace's public business card, its slugs (current and former), per-day card
analytics, the shared rate-limit counters of the lead form, and server-wide generated secrets.

Revision ID: 05_cards
Revises: 0001
Create Date: 2026-11-25 14:39:51.059011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '05_cards'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rate_limits',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_limits'))
    )
    op.create_table('server_secrets',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_server_secrets'))
    )
    op.create_table('cards',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('full_name', sa.String(length=300), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('company', sa.String(length=300), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('bio', sa.Text(), nullable=True),
    sa.Column('links', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('theme', sa.String(length=20), nullable=False),
    sa.Column('photo', sa.LargeBinary(), nullable=True),
    sa.Column('photo_type', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cards_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_cards_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('slug', name=op.f('uq_cards_slug')),
    sa.UniqueConstraint('workspace_id', name=op.f('uq_cards_workspace_id'))
    )
    op.create_table('card_daily_stats',
    sa.Column('card_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('views', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('qr_scans', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('nfc_taps', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('vcard_downloads', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('form_submissions', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('new_leads', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('spam_blocked', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_card_daily_stats_card_id_cards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_card_daily_stats_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('card_id', 'day', name=op.f('pk_card_daily_stats'))
    )
    with op.batch_alter_table('card_daily_stats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_daily_stats_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('card_slugs',
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('card_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_card_slugs_card_id_cards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_card_slugs_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('slug', name=op.f('pk_card_slugs'))
    )
    with op.batch_alter_table('card_slugs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_slugs_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_slugs_workspace_id'), ['workspace_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('card_slugs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_slugs_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_card_slugs_card_id'))

    op.drop_table('card_slugs')
    with op.batch_alter_table('card_daily_stats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_daily_stats_workspace_id'))

    op.drop_table('card_daily_stats')
    op.drop_table('cards')
    op.drop_table('server_secrets')
    op.drop_table('rate_limits')
