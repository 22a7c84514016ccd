"""plan: the planner's change cursor (written by triggers) and due instants, codes by state

Revision ID: 0012_plan
Revises: 0011_speed

Triggers rather than calls in each service: every writer (the PMS sync, staff actions, the
engine's own workers, a future importer) is caught on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision = '0012_plan'
down_revision = '0011_speed'
branch_labels = None
depends_on = None


class Watch(NamedTuple):
    """Changes to ``table``'s ``columns`` write a ``plan_change`` row naming the row's
    ``source`` value as ``target`` (None: a row naming nothing, i.e. plan everything)."""

    table: str
    target: str | None
    source: str
    columns: tuple[str, ...]
    inserts_and_deletes: bool = True


WATCHES = (
    Watch('booking', 'booking_id', 'id',
          ('property_id', 'pms_id', 'status', 'arrival', 'departure', 'guest_name',
           'guest_email', 'codes_stopped', 'checkin_override', 'checkout_override',
           'missing_from_pms_since')),
    Watch('booking_unit', 'booking_id', 'booking_id', ('booking_id', 'unit_id')),
    Watch('unit_link', 'unit_id', 'unit_id', ('unit_id', 'lock_id')),
    Watch('access_code', 'booking_id', 'booking_id',
          ('unit_id', 'lock_id', 'origin', 'booking_id', 'code', 'vendor_ref', 'valid_from',
           'valid_to', 'state', 'managed')),
    Watch('lock', 'lock_id', 'id',
          ('connection_id', 'name', 'manageable', 'unmanageable_reason',
           'codes_not_automatic_reason', 'present'), inserts_and_deletes=False),
    Watch('connection', None, 'id', ('kind',), inserts_and_deletes=False),
    Watch('property', None, 'id',
          ('timezone', 'checkin_time', 'checkout_time', 'lead_minutes', 'automation_enabled'),
          inserts_and_deletes=False),
)


def _insert(watch: Watch, row: str) -> str:
    if watch.target is None:
        return "INSERT INTO plan_change (booking_id) VALUES (NULL);"
    return f"INSERT INTO plan_change ({watch.target}) VALUES ({row}.{watch.source});"


def _sqlite(watch: Watch) -> list[str]:
    name = f"plan_change_{watch.table}"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in watch.columns)
    statements = []
    if watch.inserts_and_deletes:
        for event, row in (("INSERT", "NEW"), ("DELETE", "OLD")):
            statements.append(
                f'CREATE TRIGGER {name}_{event.lower()} AFTER {event} ON "{watch.table}" '
                f"WHEN {row}.{watch.source} IS NOT NULL BEGIN {_insert(watch, row)} END")
    if watch.target is None:
        body = _insert(watch, "NEW")
    else:
        body = (f"INSERT INTO plan_change ({watch.target}) SELECT NEW.{watch.source} "
                f"WHERE NEW.{watch.source} IS NOT NULL; "
                f"INSERT INTO plan_change ({watch.target}) SELECT OLD.{watch.source} "
                f"WHERE OLD.{watch.source} IS NOT NULL "
                f"AND OLD.{watch.source} IS NOT NEW.{watch.source};")
    statements.append(
        f'CREATE TRIGGER {name}_update AFTER UPDATE OF {", ".join(watch.columns)} '
        f'ON "{watch.table}" WHEN {changed} BEGIN {body} END')
    return statements


def _postgresql(watch: Watch) -> list[str]:
    name = f"plan_change_{watch.table}"
    source = watch.source
    if watch.target is None:
        body = _insert(watch, "NEW")
    else:
        body = f"""
  IF TG_OP <> 'DELETE' THEN
    IF NEW.{source} IS NOT NULL THEN {_insert(watch, 'NEW')} END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN
    IF OLD.{source} IS NOT NULL THEN {_insert(watch, 'OLD')} END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    IF OLD.{source} IS NOT NULL AND OLD.{source} IS DISTINCT FROM NEW.{source} THEN
      {_insert(watch, 'OLD')}
    END IF;
  END IF;"""
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in watch.columns)
    statements = [
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\n"
        "  RETURN NULL;\nEND\n$$",
        f'CREATE TRIGGER {name}_update AFTER UPDATE ON "{watch.table}" FOR EACH ROW '
        f"WHEN ({changed}) EXECUTE PROCEDURE {name}()",
    ]
    if watch.inserts_and_deletes:
        statements.append(
            f'CREATE TRIGGER {name}_insert_delete AFTER INSERT OR DELETE ON "{watch.table}" '
            f"FOR EACH ROW EXECUTE PROCEDURE {name}()")
    return statements


def upgrade() -> None:
    op.create_table(
        'plan_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('lock_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_change')),
    )
    op.create_table(
        'plan_due',
        sa.Column('booking_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('booking_id', name=op.f('pk_plan_due')),
    )
    with op.batch_alter_table('plan_due', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_due_due_at'), ['due_at'], unique=False)
    with op.batch_alter_table('access_code', schema=None) as batch_op:
        batch_op.create_index('ix_access_code_state', ['state'], unique=False)
    dialect = op.get_bind().dialect.name
    for watch in WATCHES:
        for statement in _postgresql(watch) if dialect == 'postgresql' else _sqlite(watch):
            op.execute(statement)
    # Nothing was planned against this cursor yet: the first pass plans everything.
    op.execute("INSERT INTO plan_change (booking_id) VALUES (NULL)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for watch in WATCHES:
        name = f"plan_change_{watch.table}"
        if dialect == 'postgresql':
            op.execute(f'DROP TRIGGER IF EXISTS {name}_update ON "{watch.table}"')
            op.execute(f'DROP TRIGGER IF EXISTS {name}_insert_delete ON "{watch.table}"')
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{event}")
    with op.batch_alter_table('access_code', schema=None) as batch_op:
        batch_op.drop_index('ix_access_code_state')
    with op.batch_alter_table('plan_due', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_due_due_at'))
    op.drop_table('plan_due')
    op.drop_table('plan_change')
