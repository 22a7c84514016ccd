"""speed: index bookings by PMS number, so a sync's per-page lookups stop scanning the table

Revision ID: 0011_speed
Revises: 0010_service
"""

from __future__ import annotations

from alembic import op

revision = '0011_speed'
down_revision = '0010_service'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index('ix_booking_pms_id', ['pms_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_pms_id')
