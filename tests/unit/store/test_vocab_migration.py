"""Migration 0008_vocab: a database written at 0007 (old audit spellings, values under magic
settings keys) opens with the new vocabulary and typed places, and its activity log reads
exactly as it did (issue 15, items 6 and 7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import select, text

from mangodesk.app import Context, build_context
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import AuditAction, AuditSubject
from mangodesk.engine.resolve import connection_config, secret_key
from mangodesk.paths import Paths
from mangodesk.services.activity import ActivityEntry
from mangodesk.settings import Settings
from mangodesk.store.db import Database, _alembic_config, sqlite_url
from mangodesk.store.models import AuditEvent, Connection, SyncState
from mangodesk.store.secrets import SecretStore

# The database is built at 0007 with raw SQLite statements (the file the old version wrote).
pytestmark = pytest.mark.sqlite_only("builds a 0007 SQLite file with SQLite statements")

NOW = datetime(2026, 1, 20, 21, 0, tzinfo=UTC)  # 22:00 in Oslo
WINDOW = {"code": "•••••8", "valid_from": "2026-01-20T21:00:00+00:00",
          "valid_to": "2026-01-21T21:00:00+00:00"}

# (actor, action, subject, subject id, summary, after) as versions before 0008 wrote them,
# oldest first; subject id 1 is the code, the unit, the sync state or the alert.
OLD_ROWS: list[tuple[str, str, str, int | None, str, dict[str, object] | None]] = [
    ("Anna", "link", "unit", 1, "Linked Apartment Sol to Room 101 and imported 1 existing "
     "code(s)", {"lock": "Room 101", "imported": 1}),
    ("Anna", "import", "code", None, "Imported 1 code(s) from Room 101", None),
    ("automation", "code.plan_create", "access_code", 1,
     "Queued code •••••8 for Ana Ruiz on Apartment Sol: arrives tomorrow", WINDOW),
    ("automation", "code.create", "access_code", 1,
     "Code •••••8 created on the lock Room 101 after 2 attempt(s).", {"state": "active"}),
    ("Anna", "create_code", "code", 1, "New passcode •••••8 for Apartment Sol", WINDOW),
    ("Anna", "edit_code", "code", 1, "Changed passcode •••••8", WINDOW),
    ("Anna", "retry_code", "code", 1, "Retry now for passcode •••••8", None),
    ("automation", "code.revoke_failed", "access_code", 1,
     "Gave up on code •••••8: The lock is offline.", None),
    ("Anna", "revoke_code", "code", 1, "Revoked passcode •••••8", None),
    ("Anna", "reissue_code", "code", 1, "New code for Ana Ruiz instead of •••••8", None),
    ("Anna", "resume_codes", "booking", 1, "Codes resumed for booking B-1", None),
    ("automation", "pms_sync", "sync", 1, "Full beds24 sync: 12 bookings read.",
     {"full": True, "bookings": 12, "created": 12, "updated": 0, "units_added": 3}),
    ("automation", "pms_sync_failing", "sync", 1, "beds24 sync failed 3 times in a row: x", None),
    ("automation", "pms_booking_missing", "booking", 1, "Booking B-1 is not in beds24 any more.",
     None),
    ("Anna", "acknowledge", "alert", 1, "Acknowledged alert: The lock is offline.", None),
    ("Anna", "connect", "connection", 1, "Connected TTLock", None),
    ("Anna", "rename", "connection", 1, "Renamed TTLock", None),
    ("Anna", "smtp.settings", "mail", None, "Mail server settings saved", None),
    ("Anna", "message.queue", "booking", 1, "Message queued for booking B-1", None),
]
# What the activity log showed for those rows at 0007, newest first.
SENTENCES_AT_0007 = [
    "Message queued for booking B-1",
    "Mail server settings saved",
    "Renamed TTLock",
    "Connected TTLock",
    "Acknowledged alert: The lock is offline.",
    "Booking B-1 is not in beds24 any more.",
    "beds24 sync failed 3 times in a row: x",
    "Full sync from Beds24: 12 read (12 new, 0 changed), 3 units added",
    "Codes resumed for booking B-1",
    "New code for Ana Ruiz instead of •••••8 — TTLock lock Room 101 for Apartment Sol "
    "(Ana Ruiz)",
    "Passcode •••••8 on TTLock lock Room 101 for Apartment Sol (Ana Ruiz) revoked by staff",
    "Gave up trying to remove code •••••8 on TTLock lock Room 101 for Apartment Sol "
    "(Ana Ruiz): The lock is offline.",
    "Retry now for passcode •••••8 on TTLock lock Room 101 for Apartment Sol (Ana Ruiz)",
    "Passcode •••••8 on TTLock lock Room 101 for Apartment Sol (Ana Ruiz) changed to "
    "20 Jan 22:00 → 21 Jan 22:00 (Europe/Oslo)",
    "Passcode •••••8 created by staff for TTLock lock Room 101 for Apartment Sol (Ana Ruiz), "
    "20 Jan 22:00 → 21 Jan 22:00 (Europe/Oslo)",
    "Code •••••8 created on TTLock lock Room 101 for Apartment Sol (Ana Ruiz) after 2 attempts",
    "Code •••••8 queued for TTLock lock Room 101 for Apartment Sol (Ana Ruiz), "
    "20 Jan 22:00 → 21 Jan 22:00 (Europe/Oslo) — arrives tomorrow",
    "Imported 1 code(s) from Room 101",
    "Linked Apartment Sol to TTLock lock Room 101 and took over 1 code already on the lock",
]
CURSOR = "2026-01-19T08:30:00+01:00"


def _profile_at_0007(paths: Paths) -> None:
    """A hotel as 0007 stored it: one TTLock lock on one unit with a code, the audit rows
    above, an adapter's own secret name and the write-back cursor in JSON settings."""
    paths.ensure()
    db = Database(sqlite_url(paths.database_file))
    command.upgrade(_alembic_config(db.engine), "0007_comms")
    statements = [
        "INSERT INTO property (id, name, timezone, checkin_time, checkout_time, lead_minutes, "
        "automation_enabled) VALUES (1, 'Hotel', 'Europe/Oslo', '15:00:00', '11:00:00', "
        "2880, 1)",
        "INSERT INTO unit (id, property_id, name, kind, active, sort_order) "
        "VALUES (1, 1, 'Apartment Sol', 'apartment', 1, 0)",
        "INSERT INTO connection (id, kind, display_name, settings, status, created_at) "
        "VALUES (1, 'ttlock', 'TTLock', '{\"username\": \"front\", "
        "\"_extra_secret_names\": [\"refresh_token\"]}', 'connected', '2026-01-01 00:00:00')",
        "INSERT INTO lock (id, connection_id, vendor_lock_id, name, attributes, manageable, "
        "present) VALUES (1, 1, 'L1', 'Room 101', '{}', 1, 1)",
        "INSERT INTO unit_link (id, unit_id, lock_id, linked_at, linked_by) "
        "VALUES (1, 1, 1, '2026-01-01 00:00:00', 'Anna')",
        "INSERT INTO access_code (id, unit_id, lock_id, origin, code, valid_from, valid_to, "
        "guest_name, state, managed, attempts, created_at, updated_at) VALUES (1, 1, 1, "
        "'booking', '295818', '2026-01-20 21:00:00', '2026-01-21 21:00:00', 'Ana Ruiz', "
        "'active', 1, 0, '2026-01-20 21:00:00', '2026-01-20 21:00:00')",
        "INSERT INTO sync_state (id, source, settings, consecutive_failures, bookings_seen) "
        "VALUES (1, 'beds24', '{\"base_url\": \"https://beds24.example\", "
        f"\"write_back_cursor\": \"{CURSOR}\"}}', 0, 0)",
    ]
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
        for second, (actor, action, subject, subject_id, summary, after) in enumerate(OLD_ROWS):
            conn.execute(text(
                "INSERT INTO audit_event (at, actor, action, subject_kind, subject_id, summary, "
                "after) VALUES (:at, :actor, :action, :subject, :sid, :summary, :after)"),
                {"at": f"2026-01-20 21:00:{second:02d}", "actor": actor, "action": action,
                 "subject": subject, "sid": subject_id, "summary": summary,
                 "after": None if after is None else __import__("json").dumps(after)})
    db.dispose()


@pytest.fixture
def migrated(tmp_path: object, secret_store: SecretStore) -> Iterator[Context]:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    paths = Paths.under(tmp_path / "profile")
    _profile_at_0007(paths)
    context = build_context(paths, Settings(), secrets=secret_store, clock=FixedClock(NOW),
                            actor="Anna")
    yield context
    context.close()


def test_old_audit_rows_read_exactly_as_before(migrated: Context) -> None:
    entries = migrated.services.audit.list()
    assert all(isinstance(e, ActivityEntry) for e in entries)
    assert [e.sentence for e in entries if isinstance(e, ActivityEntry)] == SENTENCES_AT_0007


def test_old_audit_rows_take_the_one_vocabulary(migrated: Context) -> None:
    with migrated.db.session() as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [type(r.action) for r in rows] == [AuditAction] * len(OLD_ROWS)
    assert {r.subject_kind for r in rows} <= set(AuditSubject)
    assert [(r.action, r.subject_kind) for r in rows][:5] == [
        (AuditAction.UNIT_LINK, AuditSubject.UNIT),
        (AuditAction.CODE_IMPORT, AuditSubject.CODE),
        (AuditAction.CODE_PLAN_CREATE, AuditSubject.CODE),
        (AuditAction.CODE_CREATE, AuditSubject.CODE),
        (AuditAction.CODE_STAFF_CREATE, AuditSubject.CODE),
    ]


def test_magic_settings_keys_move_into_their_columns(migrated: Context) -> None:
    with migrated.db.session() as session:
        conn = session.get(Connection, 1)
        state = session.get(SyncState, 1)
        assert conn is not None and state is not None
        assert conn.settings == {"username": "front"}
        assert conn.adapter_secret_names == ["refresh_token"]
        assert state.settings == {"base_url": "https://beds24.example"}
        assert state.write_back_cursor == datetime.fromisoformat(CURSOR)
        migrated.secrets.set(secret_key(1, "refresh_token"), "kept-by-the-adapter")
        config = connection_config(conn, migrated.vendors, migrated.secrets)
    assert config.secrets["refresh_token"] == "kept-by-the-adapter"
    assert "_extra_secret_names" not in config.settings


def test_downgrade_puts_the_old_spellings_and_keys_back(migrated: Context) -> None:
    migrated.db.dispose()
    command.downgrade(_alembic_config(migrated.db.engine), "0007_comms")
    with migrated.db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT action, subject_kind FROM audit_event ORDER BY id")).all()
        settings = conn.execute(text("SELECT settings FROM sync_state")).scalar_one()
        conn_settings = conn.execute(text("SELECT settings FROM connection")).scalar_one()
    assert [tuple(r) for r in rows] == [(a, s) for _, a, s, _, _, _ in OLD_ROWS]
    assert '"write_back_cursor": "2026-01-19T07:30:00+00:00"' in settings
    assert '"_extra_secret_names": ["refresh_token"]' in conn_settings
