"""versions: a unit's link carries a version, so a desk linking or unlinking a unit another
desk re-linked since it was shown is refused instead of undoing that change

Revision ID: 0013_versions
Revises: 0012_plan
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_versions'
down_revision = '0012_plan'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_version', sa.Integer(), server_default='1',
                                      nullable=False))


def downgrade() -> None:
    # Not batched: rebuilding the unit table would trip every key that points at it. SQLite
    # drops a plain column in place (3.35 and later).
    op.drop_column('unit', 'link_version')
