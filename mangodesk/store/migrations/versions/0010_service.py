"""service: the processes that run the automation and their heartbeats (who leads, last tick)

Revision ID: 0010_service
Revises: 0009_failover
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_service'
down_revision = '0009_failover'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'service_process',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('holder', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('host', sa.String(length=200), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('version', sa.String(length=40), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
        sa.Column('last_tick_at', sa.DateTime(), nullable=True),
        sa.Column('leading', sa.Boolean(), nullable=False),
        sa.Column('health_url', sa.String(length=200), nullable=True),
        sa.Column('stopped_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_process')),
        sa.UniqueConstraint('holder', name=op.f('uq_service_process_holder')),
    )


def downgrade() -> None:
    op.drop_table('service_process')
