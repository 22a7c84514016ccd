"""vocab: one audit vocabulary (``<subject>.<what happened>``), and typed places for values
that lived under magic keys of JSON settings (the write-back cursor, an adapter's own secret
names)

Old audit rows are renamed so the activity log reads them exactly as before.

Revision ID: 0008_vocab
Revises: 0007_comms
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0008_vocab'
down_revision = '0007_comms'
branch_labels = None
depends_on = None

# Spellings before this revision → now. Written out here (not imported from the domain) so
# this step stays what it was when later versions rename things again.
ACTIONS = {
    'create_code': 'code.staff_create',
    'edit_code': 'code.staff_edit',
    'revoke_code': 'code.staff_revoke',
    'retry_code': 'code.staff_retry',
    'reissue_code': 'code.reissue',
    'import': 'code.import',
    'resume_codes': 'booking.resume_codes',
    'message.queue': 'booking.queue_message',
    'link': 'unit.link',
    'unlink': 'unit.unlink',
    'connect': 'connection.connect',
    'reconnect': 'connection.reconnect',
    'rename': 'connection.rename',
    'disconnect': 'connection.disconnect',
    'acknowledge': 'alert.acknowledge',
    'smtp.settings': 'mail.settings',
    'pms_sync': 'sync.run',
    'pms_sync_failing': 'sync.failing',
    'pms_booking_missing': 'booking.missing_from_pms',
}
OLD_CODE_SUBJECT, CODE_SUBJECT = 'access_code', 'code'
EXTRA_SECRETS_KEY = '_extra_secret_names'
WRITE_BACK_CURSOR_KEY = 'write_back_cursor'

audit_event = sa.table(
    'audit_event', sa.column('action', sa.String), sa.column('subject_kind', sa.String))
connection = sa.table(
    'connection', sa.column('id', sa.Integer), sa.column('settings', sa.JSON),
    sa.column('adapter_secret_names', sa.JSON))
sync_state = sa.table(
    'sync_state', sa.column('id', sa.Integer), sa.column('settings', sa.JSON),
    sa.column('write_back_cursor', sa.DateTime))


def upgrade() -> None:
    with op.batch_alter_table('connection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('adapter_secret_names', sa.JSON(), nullable=True))
    with op.batch_alter_table('sync_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('write_back_cursor', sa.DateTime(), nullable=True))
    bind = op.get_bind()
    for old, new in ACTIONS.items():
        bind.execute(audit_event.update().where(audit_event.c.action == old)
                     .values(action=new))
    bind.execute(audit_event.update().where(audit_event.c.subject_kind == OLD_CODE_SUBJECT)
                 .values(subject_kind=CODE_SUBJECT))
    for row_id, settings in bind.execute(sa.select(connection.c.id, connection.c.settings)):
        if isinstance(settings, dict) and EXTRA_SECRETS_KEY in settings:
            names = settings.pop(EXTRA_SECRETS_KEY)
            bind.execute(connection.update().where(connection.c.id == row_id).values(
                settings=settings,
                adapter_secret_names=[str(n) for n in names] if isinstance(names, list)
                else None))
    for row_id, settings in bind.execute(sa.select(sync_state.c.id, sync_state.c.settings)):
        if isinstance(settings, dict) and WRITE_BACK_CURSOR_KEY in settings:
            raw = settings.pop(WRITE_BACK_CURSOR_KEY)
            bind.execute(sync_state.update().where(sync_state.c.id == row_id).values(
                settings=settings, write_back_cursor=_naive_utc(raw)))


def downgrade() -> None:
    bind = op.get_bind()
    for row_id, settings, cursor in bind.execute(sa.select(
            sync_state.c.id, sync_state.c.settings, sync_state.c.write_back_cursor)):
        if cursor is not None:
            moved = {**(settings or {}),
                     WRITE_BACK_CURSOR_KEY: cursor.replace(tzinfo=UTC).isoformat()}
            bind.execute(sync_state.update().where(sync_state.c.id == row_id)
                         .values(settings=moved))
    for row_id, settings, names in bind.execute(sa.select(
            connection.c.id, connection.c.settings, connection.c.adapter_secret_names)):
        if names:
            bind.execute(connection.update().where(connection.c.id == row_id)
                         .values(settings={**(settings or {}), EXTRA_SECRETS_KEY: names}))
    for old, new in ACTIONS.items():
        bind.execute(audit_event.update().where(audit_event.c.action == new)
                     .values(action=old))
    # Automation wrote its rows about codes as "access_code", staff as "code".
    bind.execute(audit_event.update().where(
        audit_event.c.subject_kind == CODE_SUBJECT, audit_event.c.action.like('code.%'))
        .values(subject_kind=OLD_CODE_SUBJECT))
    # A plain DROP COLUMN (SQLite 3.35+), not a batch copy: other tables reference these
    # rows, and the copy-and-rename would trip their foreign keys.
    op.drop_column('sync_state', 'write_back_cursor')
    op.drop_column('connection', 'adapter_secret_names')


def _naive_utc(raw: Any) -> datetime | None:
    """The cursor as the column stores instants (naive UTC); an unreadable one is dropped
    (write-back then starts over, which is safe: its writes are idempotent)."""
    if not isinstance(raw, str):
        return None
    try:
        instant = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if instant.tzinfo is None:
        return None
    return instant.astimezone(UTC).replace(tzinfo=None)
