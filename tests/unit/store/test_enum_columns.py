"""State and kind columns load as their enums, from the same stored strings (issue 15,
item 6); a value a newer version wrote still loads, as the plain string."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

from mangodesk.domain.types import ConnectionStatus, VendorKind
from mangodesk.store.db import Database, sqlite_url
from mangodesk.store.models import Connection

NOW = datetime(2026, 1, 20, 21, 0, tzinfo=UTC)


def test_enum_columns_store_the_value_and_load_the_member(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "m.sqlite"))
    db.migrate()
    with db.transaction() as session:
        session.add(Connection(kind=VendorKind.TTLOCK, display_name="TTLock", settings={},
                               created_at=NOW))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT kind, status FROM connection")).one() == \
            ("ttlock", "connected")
    with db.session() as session:
        loaded = session.scalars(select(Connection)).one()
        assert type(loaded.kind) is VendorKind and loaded.kind is VendorKind.TTLOCK
        assert loaded.status is ConnectionStatus.CONNECTED
    db.dispose()


def test_a_value_from_a_newer_version_loads_as_plain_text(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "m.sqlite"))
    db.migrate()
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO connection (kind, display_name, settings, status, "
                          "created_at) VALUES ('doorbird', 'New', '{}', 'connected', "
                          "'2026-01-01 00:00:00')"))
    with db.session() as session:
        loaded = session.scalars(select(Connection)).one()
        assert loaded.kind == "doorbird" and not isinstance(loaded.kind, VendorKind)
        found = session.scalars(select(Connection).where(Connection.kind == "doorbird")).all()
        assert found == [loaded]
    db.dispose()
