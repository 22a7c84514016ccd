"""comms: message templates per language, the mail outbox and sent log, SMTP settings,
the guest's language on a booking

Revision ID: 0007_comms
Revises: 0005_engine
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_comms'
down_revision = '0005_engine'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
    op.create_table(
        'message_template',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('context', sa.String(length=30), nullable=False),
        sa.Column('offset_minutes', sa.Integer(), nullable=False),
        sa.Column('send_at_local', sa.Time(), nullable=True),
        sa.Column('hold_for_codes', sa.Boolean(), nullable=False),
        sa.Column('hold_latest_hours', sa.Integer(), nullable=False),
        sa.Column('resend_on_code_change', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_message_template')),
        sa.UniqueConstraint('name', name=op.f('uq_message_template_name')),
    )
    op.create_table(
        'message_template_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('template_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ['template_id'], ['message_template.id'],
            name=op.f('fk_message_template_version_template_id_message_template')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_message_template_version')),
        sa.UniqueConstraint('template_id', 'language',
                            name=op.f('uq_message_template_version_template_id')),
    )
    with op.batch_alter_table('message_template_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_template_version_template_id'),
                              ['template_id'], unique=False)
    op.create_table(
        'mail_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=True),
        sa.Column('template_id', sa.Integer(), nullable=True),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('message_id', sa.String(length=250), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('to_address', sa.String(length=320), nullable=True),
        sa.Column('language', sa.String(length=16), nullable=True),
        sa.Column('subject', sa.Text(), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('body_masked', sa.Text(), nullable=True),
        sa.Column('codes_digest', sa.String(length=64), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'],
                                name=op.f('fk_mail_message_booking_id_booking')),
        sa.ForeignKeyConstraint(['template_id'], ['message_template.id'],
                                name=op.f('fk_mail_message_template_id_message_template')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_message')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_mail_message_dedupe_key')),
        sa.UniqueConstraint('message_id', name=op.f('uq_mail_message_message_id')),
    )
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_message_booking_id'), ['booking_id'],
                              unique=False)
        batch_op.create_index('ix_mail_message_due', ['status', 'next_attempt_at'],
                              unique=False)
    op.create_table(
        'mail_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_settings')),
    )


def downgrade() -> None:
    op.drop_table('mail_settings')
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_message_due')
        batch_op.drop_index(batch_op.f('ix_mail_message_booking_id'))
    op.drop_table('mail_message')
    with op.batch_alter_table('message_template_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_template_version_template_id'))
    op.drop_table('message_template_version')
    op.drop_table('message_template')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('language')
