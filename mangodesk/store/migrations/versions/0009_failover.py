"""failover: on PostgreSQL, every commit that changes what a desk shows sends NOTIFY, so every
desk's views follow within a second (SQLite desks poll PRAGMA data_version instead); access
codes carry a version so two desks editing one code cannot lose an update

Revision ID: 0009_failover
Revises: 0008_vocab
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_failover'
down_revision = '0008_vocab'
branch_labels = None
depends_on = None

CHANNEL = "mangodesk_changes"  # mangodesk.store.notify.CHANNEL (kept literal: migrations are frozen)
FUNCTION = "mangodesk_notify_change"
# What the desk shows: codes and their operations, alerts, links and bookings, and what the
# SQLite change counter also follows (the activity log, locks, connections, the last sync).
TABLES = ("access_code", "operation", "alert", "unit_link", "booking", "booking_unit",
          "audit_event", "lock", "connection", "sync_state")


def upgrade() -> None:
    with op.batch_alter_table('access_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1',
                                      nullable=False))
    if op.get_bind().dialect.name != "postgresql":
        return
    # Statement-level: one notification per statement, and PostgreSQL folds identical ones
    # within a transaction, delivered only when it commits (never for a rollback).
    op.execute(f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
            RETURN NULL;
        END;
        $$""")
    for table in TABLES:
        op.execute(f'CREATE TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE '
                   f'OR TRUNCATE ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS {table}_notify_change ON "{table}"')
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    with op.batch_alter_table('access_code', schema=None) as batch_op:
        batch_op.drop_column('version')
