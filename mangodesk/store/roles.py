"""Who may do what in a shared PostgreSQL database.

``packaging/postgres-roles.sql`` creates three roles: the schema owner (runs ``mangodesk db
upgrade``, owns every table), the service role (the always-on automation: plans, calls the lock
providers, syncs the PMS, sends guest mail) and the desk role (the desk window). After each
upgrade the owner grants, table by table, what :data:`POLICY` says; a table this module does
not know gets nothing, so a new table is closed until someone decides here.

The desk role does not get what a desk never shows:

- the unmasked text of guest emails (``mail_message.body``, which holds the door codes; the
  desk's sent log shows ``body_masked``), so desks never send guest mail themselves;
- any way to rewrite history: the activity log is append-only for everyone but the owner;
- the engine's lease and the schema's version: a desk on the desk role reads who leads and
  never leads itself (the service role runs the automation).

Secrets (vendor tokens, passwords) are never in the database: they live in each computer's
keyring.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from mangodesk.store.models import Base

DEFAULT_OWNER = "mangodesk_owner"
DEFAULT_DESK = "mangodesk_desk"
DEFAULT_SERVICE = "mangodesk_service"

ALL = ("SELECT", "INSERT", "UPDATE", "DELETE")
READ = ("SELECT",)
APPEND = ("SELECT", "INSERT")

# The columns of a table the desk role may not read (it may still write them, e.g. queue a
# message whose body the service renders).
DESK_HIDDEN_COLUMNS: dict[str, frozenset[str]] = {
    "mail_message": frozenset({"body"}),
}


@dataclass(frozen=True)
class TableGrant:
    desk: tuple[str, ...]
    service: tuple[str, ...]


POLICY: dict[str, TableGrant] = {
    "alembic_version": TableGrant(desk=READ, service=READ),
    "database_identity": TableGrant(desk=READ, service=READ),
    "property": TableGrant(desk=ALL, service=ALL),
    "unit": TableGrant(desk=ALL, service=ALL),
    "booking": TableGrant(desk=ALL, service=ALL),
    "booking_unit": TableGrant(desk=ALL, service=ALL),
    "connection": TableGrant(desk=ALL, service=ALL),
    "lock": TableGrant(desk=ALL, service=ALL),
    "unit_link": TableGrant(desk=ALL, service=ALL),
    "access_code": TableGrant(desk=ALL, service=ALL),
    "operation": TableGrant(desk=ALL, service=ALL),
    # Written by triggers on whatever a desk edits; read and consumed by the planner only.
    "plan_change": TableGrant(desk=("INSERT",), service=ALL),
    "plan_due": TableGrant(desk=READ, service=ALL),
    "alert": TableGrant(desk=ALL, service=ALL),
    "audit_event": TableGrant(desk=APPEND, service=APPEND),
    "sync_state": TableGrant(desk=ALL, service=ALL),
    "engine_lease": TableGrant(desk=READ, service=ALL),
    "service_process": TableGrant(desk=READ, service=ALL),
    "message_template": TableGrant(desk=ALL, service=ALL),
    "message_template_version": TableGrant(desk=ALL, service=ALL),
    "mail_message": TableGrant(desk=("INSERT", "UPDATE"), service=ALL),
    "mail_settings": TableGrant(desk=ALL, service=ALL),
}


def known_tables() -> set[str]:
    return {*Base.metadata.tables, "alembic_version"}


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def apply_grants(engine: Engine, *, desk: str = DEFAULT_DESK,
                 service: str = DEFAULT_SERVICE) -> list[str]:
    """Grant the desk and service roles what :data:`POLICY` says, on every table of the
    schema (anything granted before is taken back first, so a narrower policy applies).
    Run by the owner after an upgrade. Returns the statements run."""
    statements: list[str] = []
    with engine.begin() as conn:
        tables = [str(row[0]) for row in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))]
        columns: dict[str, list[str]] = {}
        for table, column in conn.execute(text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() ORDER BY ordinal_position")):
            columns.setdefault(str(table), []).append(str(column))
        roles = {"desk": _quote(conn, desk), "service": _quote(conn, service)}
        statements.append(f"GRANT USAGE ON SCHEMA {_quote(conn, _schema(conn))} "
                          f"TO {roles['desk']}, {roles['service']}")
        for table in sorted(tables):
            quoted = _quote(conn, table)
            statements.append(f"REVOKE ALL ON {quoted} FROM {roles['desk']}, {roles['service']}")
            grant = POLICY.get(table)
            if grant is None:
                continue  # unknown table: closed until this module decides
            for who, privileges in (("desk", grant.desk), ("service", grant.service)):
                if privileges:
                    statements.append(
                        f"GRANT {', '.join(privileges)} ON {quoted} TO {roles[who]}")
            hidden = DESK_HIDDEN_COLUMNS.get(table)
            if hidden:
                visible = [c for c in columns.get(table, []) if c not in hidden]
                statements.append(
                    f"GRANT SELECT ({', '.join(_quote(conn, c) for c in visible)}) "
                    f"ON {quoted} TO {roles['desk']}")
        statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "
                          f"{_quote(conn, _schema(conn))} TO {roles['desk']}, {roles['service']}")
        for statement in statements:
            conn.execute(text(statement))
    return statements


def _schema(conn: Connection) -> str:
    return str(conn.execute(text("SELECT current_schema()")).scalar_one())


def role_exists(engine: Engine, role: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                                 {"r": role}).first())


def may_run_automation(engine: Engine) -> bool:
    """Whether this login may run the automation (lead, render and send guest mail): always
    on SQLite; on a server, whether it may read the unmasked mail text (the desk role may
    not)."""
    if engine.dialect.name != "postgresql":
        return True
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT has_column_privilege(current_user, 'mail_message', 'body', 'SELECT') "
            "AND has_table_privilege(current_user, 'engine_lease', 'UPDATE')")).scalar())
