from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import Event, EventBus
from mangodesk.engine.engine import Engine, EngineConfig
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.vendor import FakeVendor, fake_spec
from tests.fakes.world import World, make_world

# Check-in 2026-06-10 15:00 Oslo = 13:00 UTC; the code is due 48 h earlier.
ISSUE_AT = datetime(2026, 6, 8, 13, 0, tzinfo=UTC)
CONFIG = EngineConfig(retry_interval=timedelta(minutes=5), jitter=timedelta(seconds=30),
                      worker_threads=4, per_connection_concurrency=2)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    hotel = make_world(tmp_path)
    for room in ("101", "102", "103"):
        hotel.add_room(room)
    yield hotel
    hotel.db.dispose()


@pytest.fixture
def fake() -> FakeVendor:
    return FakeVendor()


@pytest.fixture
def engine_clock() -> FixedClock:
    return FixedClock(ISSUE_AT)


@pytest.fixture
def published() -> list[Event]:
    return []


@pytest.fixture
def engine(world: World, fake: FakeVendor, engine_clock: FixedClock, secret_store: SecretStore,
           published: list[Event]) -> Iterator[Engine]:
    events = EventBus()
    events.subscribe(published.append)
    built = Engine(world.db, VendorRegistry([fake_spec(fake)]), secret_store, engine_clock,
                   events, CONFIG)
    yield built
    built.stop(5)
