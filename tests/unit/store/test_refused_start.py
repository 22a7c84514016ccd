"""A start refused by the database (a schema from a newer version, or on a shared server an
older one) closes the connection it opened: a desk retrying from its error dialog, or a monitor
running ``mangodesk status`` every minute, must not leak a server connection each time."""

from __future__ import annotations

import gc
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from mangodesk.app import build_context
from mangodesk.domain.errors import ConfigError
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.db import Database, _alembic_config
from mangodesk.store.secrets import SecretStore

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def future_database() -> Iterator[str]:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"mangodesk_refused_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc.orig})")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        setup = Database(url)
        command.upgrade(_alembic_config(setup.engine), "heads")
        with setup.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
        setup.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_refused_start_leaves_no_connection_open(
        future_database: str, tmp_path: Path, secret_store: SecretStore) -> None:
    for attempt in range(3):
        with pytest.raises(ConfigError, match="newer version of Mangodesk"):
            build_context(Paths.under(tmp_path / str(attempt)),
                          Settings(database_url=future_database), secrets=secret_store)
    gc.collect()  # a connection left open is reported (ResourceWarning) when collected
    admin = create_engine(ADMIN_URL)
    with admin.connect() as conn:
        open_connections = conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
            {"d": future_database.rsplit("/", 1)[1]}).scalar_one()
    admin.dispose()
    assert open_connections == 0
