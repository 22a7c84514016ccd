"""The models are portable: the same migrations and services run on PostgreSQL (several desks
share one database). Uses the PostgreSQL server on 127.0.0.1 that CI starts."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from mangodesk.__main__ import main
from mangodesk.app import build_context
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import CodeState
from mangodesk.paths import Paths
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.settings import Settings, load_settings, save_settings
from mangodesk.store.db import Database, database_password_key
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
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    # What IT does once per shared database (mangodesk db upgrade); desks never migrate it.
    ready = Database(url)
    ready.upgrade()
    ready.dispose()
    try:
        yield url
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


# ---------------------------------------------------------------- the password stays in the keyring

DB_PASSWORD = "pg-Pa55-never-in-a-file"


def test_a_password_in_settings_json_moves_into_the_keyring(
        pg_url: str, tmp_path: Path, memory_keyring: Any) -> None:
    paths = Paths.under(tmp_path / "desk")
    with_pw = pg_url.replace("postgres@", f"postgres:{DB_PASSWORD}@")
    save_settings(paths.settings_file, Settings(database_url=with_pw))
    ctx = build_context(paths, load_settings(paths.settings_file), actor="desk")
    try:
        assert ctx.services.units.list_units() == []
    finally:
        ctx.close()
    text = paths.settings_file.read_text(encoding="utf-8")
    assert DB_PASSWORD not in text
    assert json.loads(text)["database_url"] == pg_url
    assert SecretStore().get(database_password_key(pg_url)) == DB_PASSWORD
    # The next start finds the password in the keyring and passes it to the server.
    again = build_context(paths, load_settings(paths.settings_file), actor="desk")
    try:
        assert make_url(again.db.url).password == DB_PASSWORD
    finally:
        again.close()


def test_the_database_command_keeps_the_password_out_of_files_and_argv(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "desk"
    monkeypatch.setenv("MANGODESK_DATABASE_PASSWORD", DB_PASSWORD)
    assert main(["--data-dir", str(base), "database", pg_url]) == 0
    capsys.readouterr()
    paths = Paths.under(base)
    assert DB_PASSWORD not in paths.settings_file.read_text(encoding="utf-8")
    assert load_settings(paths.settings_file).database_url == pg_url
    assert SecretStore().get(database_password_key(pg_url)) == DB_PASSWORD
    assert main(["--data-dir", str(base), "units", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    leaked = pg_url.replace("postgres@", "postgres:typed-on-the-line@")
    assert main(["--data-dir", str(base), "database", leaked]) == 2
    err = capsys.readouterr().err
    assert "never given on the command line" in err and "typed-on-the-line" not in err
