"""A Beds24 simulator on loopback, a migrated SQLite database, and a connected SyncEngine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import Event, EventBus
from mangodesk.domain.types import CodeOrigin, CodeState, VendorKind
from mangodesk.pms.beds24 import Beds24Adapter, Beds24Settings
from mangodesk.pms.connect import connect_beds24, load_beds24_settings
from mangodesk.pms.sync import SyncEngine
from mangodesk.sim.beds24 import Beds24Simulator
from mangodesk.store.db import Database, sqlite_url
from mangodesk.store.models import AccessCode, Booking, Connection, Lock
from mangodesk.store.secrets import SecretStore

TODAY = date(2026, 3, 10)  # the shared clock fixture says 2026-03-10 12:00 UTC
# Reads wait 2 s: the hang fault holds a page 3 s, and a loaded CI machine can take over 0.5 s
# to answer an ordinary page (seen as "Beds24 did not answer in time" in unrelated tests).
FAST_TIMEOUT = httpx.Timeout(connect=2.0, read=2.0, write=2.0, pool=2.0)


@pytest.fixture
def sim(clock: FixedClock) -> Iterator[Beds24Simulator]:
    simulator = Beds24Simulator(TODAY, rooms=12, clock=clock, page_size=25)
    with simulator:
        yield simulator


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(sqlite_url(tmp_path / "mangodesk.db"))
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def events() -> tuple[EventBus, list[Event]]:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    return bus, seen


@pytest.fixture
def connected(
    sim: Beds24Simulator, db: Database, secret_store: SecretStore, clock: FixedClock
) -> Beds24Settings:
    connect_beds24(db, secret_store, clock, sim.create_invite_code(),
                   Beds24Settings(base_url=sim.base_url))
    settings = load_beds24_settings(db)
    assert settings is not None
    return settings


EngineFactory = Callable[..., SyncEngine]


@pytest.fixture
def make_engine(
    connected: Beds24Settings,
    db: Database,
    secret_store: SecretStore,
    clock: FixedClock,
    events: tuple[EventBus, list[Event]],
) -> Iterator[EngineFactory]:
    made: list[SyncEngine] = []

    def factory(alert_after_failures: int = 3, **adapter_options: Any) -> SyncEngine:
        adapter_options.setdefault("timeout", FAST_TIMEOUT)
        adapter = Beds24Adapter(secrets=secret_store, clock=clock, settings=connected,
                                **adapter_options)
        engine = SyncEngine(db, adapter, clock, events[0],
                            alert_after_failures=alert_after_failures)
        made.append(engine)
        return engine

    yield factory
    for engine in made:
        engine.close()


@pytest.fixture
def engine(make_engine: EngineFactory) -> SyncEngine:
    return make_engine()


def add_codes(db: Database, now: datetime, count: int = 6) -> list[int]:
    """Active door codes for the first bookings that have a unit (created directly, as the
    lifecycle engine would have), so tests can prove a bad sync leaves them alone."""
    with db.transaction() as session:
        connection = Connection(kind=VendorKind.TTLOCK, display_name="Locks", settings={},
                                created_at=now)
        session.add(connection)
        session.flush()
        ids = []
        bookings = [b for b in session.query(Booking).order_by(Booking.id) if b.units][:count]
        for n, booking in enumerate(bookings):
            lock = Lock(connection_id=connection.id, vendor_lock_id=f"lock-{n}", name=f"L{n}",
                        attributes={})
            session.add(lock)
            session.flush()
            code = AccessCode(
                unit_id=booking.units[0].unit_id,
                lock_id=lock.id,
                origin=CodeOrigin.BOOKING,
                booking_id=booking.id,
                code=f"{4821 + n}",
                vendor_ref=f"ref-{n}",
                valid_from=now,
                valid_to=now + timedelta(days=2),
                guest_name=booking.guest_name,
                state=CodeState.ACTIVE,
                created_at=now,
                updated_at=now,
            )
            session.add(code)
            session.flush()
            ids.append(code.id)
    return ids
