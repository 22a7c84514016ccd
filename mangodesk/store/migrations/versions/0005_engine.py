"""engine: what the vendor holds, the windows sent in creates, who claimed an operation

Revision ID: 0005_engine
Revises: 0004_secrets
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_engine'
down_revision = '0004_secrets'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('access_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vendor_valid_from', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('vendor_valid_to', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('sent_windows', sa.JSON(), nullable=True))
    with op.batch_alter_table('operation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('operation', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
    with op.batch_alter_table('access_code', schema=None) as batch_op:
        batch_op.drop_column('sent_windows')
        batch_op.drop_column('vendor_valid_to')
        batch_op.drop_column('vendor_valid_from')
