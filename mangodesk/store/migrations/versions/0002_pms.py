"""PMS sync: arrival note, group member numbers, "not in the PMS any more" flag

Revision ID: 0002_pms
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_pms'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arrival_note', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('pms_member_ids', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('missing_from_pms_since', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('missing_from_pms_since')
        batch_op.drop_column('pms_member_ids')
        batch_op.drop_column('arrival_note')
