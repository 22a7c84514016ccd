"""The models are portable: the same migrations and services run on PostgreSQL (several desks
share one database). Uses the PostgreSQL server on 127.0.0.1 that CI starts."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from mangodesk.app import build_context
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import CodeState
from mangodesk.paths import Paths
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.settings import Settings
from mangodesk.store.db import Database
from mangodesk.store.models import Base
from mangodesk.store.secrets import SecretStore

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_url() -> Iterator[str]:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"mangodesk_test_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc.orig})")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_and_services_on_postgresql(pg_url: str, tmp_path: Path,
                                               secret_store: SecretStore) -> None:
    db = Database(pg_url)
    db.migrate()
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    clock = FixedClock(datetime(2026, 6, 10, 10, 0, tzinfo=UTC))
    ctx = build_context(Paths.under(tmp_path), Settings(database_url=pg_url),
                        secrets=secret_store, clock=clock, database=db)
    seed_hotel(ctx, clock.now())
    unit = ctx.services.units.list_units()[0]
    ctx.services.links.link(unit.id, manual_lock_name="Front Door")
    view = ctx.services.passcodes.create(unit.id, PasscodeInput(
        clock.now() + timedelta(days=1), clock.now() + timedelta(days=2), code="5821"))
    assert view.state == CodeState.ACTIVE
    assert view.valid_from == clock.now() + timedelta(days=1)  # instants survive as UTC
    ctx.close()
