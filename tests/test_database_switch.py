"""The PostgreSQL pass's switch closes the connections a test's databases left open, also when
the test dropped its Database without disposing it: psycopg warns about every connection the
garbage collector deletes open, and the collector runs in some later, unrelated test (#18)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from mangodesk.store.db import Database, sqlite_url
from tests import database_switch

pytestmark = pytest.mark.skipif(not database_switch.enabled(),
                                reason="the switch is on in the PostgreSQL pass only")


def test_a_dropped_undisposed_database_has_its_connections_closed(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "desk.sqlite"))
    checked_out = database.engine.raw_connection()
    driver = checked_out.driver_connection
    checked_out.close()  # back in the pool, still open, as a finished test leaves it
    del database, checked_out
    gc.collect()  # the Database itself is gone; its engine outlives it in SQLAlchemy's cycles

    database_switch.close_pools()

    assert driver is not None and driver.closed


def test_a_database_still_in_use_reconnects_and_is_closed_again(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "desk.sqlite"))
    for _ in range(2):
        checked_out = database.engine.raw_connection()
        driver = checked_out.driver_connection
        checked_out.close()
        database_switch.close_pools()
        assert driver is not None and driver.closed
    database.dispose()
