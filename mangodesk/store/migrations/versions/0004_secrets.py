"""database identity: a UUID created with the database that namespaces its keyring secrets

Revision ID: 0004_secrets
Revises: 0003_staff
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0004_secrets'
down_revision = '0003_staff'
branch_labels = None
depends_on = None


def upgrade() -> None:
    identity = op.create_table(
        'database_identity',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('adopts_legacy_secrets', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_database_identity')),
        sa.UniqueConstraint('uuid', name=op.f('uq_database_identity_uuid')),
    )
    bind = op.get_bind()
    # A database with connections or a PMS link was used before secrets were namespaced:
    # its secrets sit under the old shared names and are adopted when first read.
    used_before = bool(
        bind.execute(sa.text("SELECT count(*) FROM connection")).scalar()
        or bind.execute(sa.text("SELECT count(*) FROM sync_state")).scalar()
    )
    op.bulk_insert(identity, [{
        'id': 1,
        'uuid': str(uuid.uuid4()),
        'created_at': datetime.now(UTC).replace(tzinfo=None),
        'adopts_legacy_secrets': used_before,
    }])


def downgrade() -> None:
    op.drop_table('database_identity')
