"""A start refused by the database (a schema from a newer version, or on a shared server an
older one) closes the connection it opened: a desk retrying from its error dialog, or a monitor
running ``mangodesk status`` every minute, must not leak a server connection each time."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from mangodesk.app import build_context
from mangodesk.domain.errors import ConfigError
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.db import Database, _alembic_config
from mangodesk.store.secrets import SecretStore
from tests.fakes.pg import ADMIN_URL, throwaway_database


@pytest.fixture
def future_database() -> Iterator[str]:
    with throwaway_database() as url:
        setup = Database(url)
        command.upgrade(_alembic_config(setup.engine), "heads")
        with setup.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
        setup.dispose()
        yield url


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
