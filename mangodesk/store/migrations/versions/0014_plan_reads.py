"""plan reads: the bookings a planning pass reads (departing from two days ago, arriving in the
next few days) come from one index that holds the dates and the status, instead of one table
lookup per booking ahead

Revision ID: 0014_plan_reads
Revises: 0013_versions
"""

from __future__ import annotations

from alembic import op

revision = '0014_plan_reads'
down_revision = '0013_versions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not batched: booking carries the planning triggers (0012_plan), which a SQLite table
    # rebuild would drop. Indexes are created and dropped in place on both databases.
    op.create_index('ix_booking_stay', 'booking', ['departure', 'arrival', 'status'],
                    unique=False)
    op.drop_index('ix_booking_departure', table_name='booking')


def downgrade() -> None:
    op.create_index('ix_booking_departure', 'booking', ['departure'], unique=False)
    op.drop_index('ix_booking_stay', table_name='booking')
