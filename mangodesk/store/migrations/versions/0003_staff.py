"""staff: stopped codes and early/late times on bookings; locks that get no automatic codes

Revision ID: 0003_staff
Revises: 0002_pms
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_staff'
down_revision = '0002_pms'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('codes_stopped', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('checkin_override', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('checkout_override', sa.Time(), nullable=True))
    with op.batch_alter_table('lock', schema=None) as batch_op:
        batch_op.add_column(sa.Column('codes_not_automatic_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lock', schema=None) as batch_op:
        batch_op.drop_column('codes_not_automatic_reason')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('checkout_override')
        batch_op.drop_column('checkin_override')
        batch_op.drop_column('codes_stopped')
