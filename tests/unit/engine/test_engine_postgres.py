"""The engine's claims and outcomes on PostgreSQL, where settling locks its rows
(``SELECT … FOR UPDATE``) before re-checking them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import AlertSeverity, CodeState, OperationStatus
from mangodesk.engine.engine import Engine
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import CodeConflictError, PermanentError, TransientError
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.pg import throwaway_database
from tests.fakes.vendor import FakeVendor, fake_spec
from tests.fakes.world import World, make_world
from tests.unit.engine.conftest import CONFIG

ARRIVAL, DEPARTURE = date(2026, 6, 10), date(2026, 6, 12)


@pytest.fixture
def pg_world(tmp_path: Path) -> Iterator[World]:
    with throwaway_database() as url:
        world = make_world(tmp_path, url=url)
        try:
            world.add_room("101")
            world.add_room("102")
            yield world
        finally:
            world.db.dispose()


@pytest.fixture
def pg_engine(pg_world: World, fake: FakeVendor, engine_clock: FixedClock,
              secret_store: SecretStore) -> Iterator[Engine]:
    built = Engine(pg_world.db, VendorRegistry([fake_spec(fake)]), secret_store,
                   engine_clock, EventBus(), CONFIG)
    yield built
    built.stop(5)


@pytest.mark.expect_log(
    r"operation \d+ \(create\) for code \d+ •+\d+ failed \(conflict, attempt \d+\): T",
    logger="mangodesk.engine.settle")
@pytest.mark.expect_log(
    r"operation \d+ \(create\) for code \d+ •+\d+ failed \(transient, attempt \d+\):",
    logger="mangodesk.engine.settle")
@pytest.mark.expect_log(
    r"operation \d+ \(create\) for code \d+ •+\d+ failed \(permanent, attempt \d+\):",
    logger="mangodesk.engine.settle")
def test_success_retry_pin_conflict_and_give_up_on_postgresql(
        pg_engine: Engine, pg_world: World, fake: FakeVendor,
        engine_clock: FixedClock) -> None:
    pg_world.add_booking(ARRIVAL, DEPARTURE, "101")
    pg_world.add_booking(ARRIVAL, DEPARTURE, "102", guest="Bo Berg")
    fake.fail("create_code", TransientError("The gateway is busy."))
    fake.fail("create_code", CodeConflictError("That code is already on the lock."))
    pg_engine.tick()
    states = sorted(str(c.state) for c in pg_world.codes())
    assert states == [CodeState.ACTIVE, CodeState.PENDING]  # one retries later
    assert any(o.status == OperationStatus.QUEUED for o in pg_world.operations())

    fake.fail("create_code", PermanentError("The lock was reset."))
    engine_clock.advance(CONFIG.retry_interval + CONFIG.jitter)
    pg_engine.tick()
    assert sorted(str(c.state) for c in pg_world.codes()) == [CodeState.ACTIVE,
                                                               CodeState.FAILED]
    (failed,) = [c for c in pg_world.codes() if c.state == CodeState.FAILED]
    (alert,) = pg_world.alerts()
    assert alert.severity == AlertSeverity.ERROR
    assert f"{failed.guest_name} on" in alert.message and "The lock was reset." in alert.message
    assert fake.count("create_code") == 4  # transient, conflict, new PIN, given up
    assert pg_engine.recover_interrupted() == 0
