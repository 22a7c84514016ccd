"""End to end: bookings in the database → the engine → the Flexipass adapter → the Flexipass
simulator over loopback. A mobile key is e-mailed 48 h before check-in, follows a date change
and is deleted on cancellation; a booking without an e-mail raises an alert and calls nobody."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import BookingStatus, CodeState, VendorKind
from mangodesk.engine.engine import Engine, EngineConfig
from mangodesk.engine.resolve import secret_key
from mangodesk.sim.flexipass import FlexipassSimulator
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import ConnectionConfig, VendorAdapter
from mangodesk.vendors.flexipass import FLEXIPASS_SPEC, FlexipassAdapter
from mangodesk.vendors.flexipass import contract as wire
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.world import World, make_world

ARRIVAL, DEPARTURE = date(2026, 6, 10), date(2026, 6, 12)
CHECK_IN = datetime(2026, 6, 10, 13, 0, tzinfo=UTC)  # 15:00 in Oslo
ISSUE_AT = CHECK_IN - timedelta(hours=48)
CONFIG = EngineConfig(retry_interval=timedelta(minutes=5), jitter=timedelta(seconds=0),
                      worker_threads=2, per_connection_concurrency=1)
TIMEOUT = httpx.Timeout(connect=5.0, read=1.0, write=5.0, pool=5.0)
GUEST_EMAIL = "guest@example.org"  # what tests.fakes.world puts on every booking


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(ISSUE_AT)


@pytest.fixture
def sim() -> Iterator[FlexipassSimulator]:
    doors = [wire.FlexipassDoor(f"lock-{n}", f"Room {n}", False, "VingCard Visionline")
             for n in (101, 102)]
    simulator = FlexipassSimulator(doors=doors).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def world(tmp_path: Path, sim: FlexipassSimulator, secret_store: SecretStore) -> Iterator[World]:
    settings: dict[str, object] = {
        "base_url": sim.base_url, "username": sim.username, "time_zone": "Europe/Oslo",
    }
    hotel = make_world(tmp_path, kind=VendorKind.FLEXIPASS, settings=settings)
    secret_store.set(secret_key(hotel.connection_id, "password"), sim.password)
    secret_store.set(secret_key(hotel.connection_id, "company_token"), sim.company_token)
    hotel.add_room("101")
    hotel.add_room("102")
    yield hotel
    hotel.db.dispose()


@pytest.fixture
def engine(world: World, clock: FixedClock, secret_store: SecretStore) -> Iterator[Engine]:
    def factory(config: ConnectionConfig) -> VendorAdapter:
        return FlexipassAdapter(config, clock=clock, timeout=TIMEOUT)

    registry = VendorRegistry([dataclasses.replace(FLEXIPASS_SPEC, factory=factory)])
    built = Engine(world.db, registry, secret_store, clock, EventBus(), CONFIG)
    yield built
    built.stop(5)


def test_mobile_key_lifecycle_through_the_engine(
    engine: Engine, world: World, sim: FlexipassSimulator
) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101", guest="Ada Berg")
    engine.tick()
    code = world.code()
    assert code.state == CodeState.ACTIVE
    assert code.code is None
    assert code.mobile_key_sent_to == GUEST_EMAIL
    key = sim.keys[str(code.vendor_ref)]
    assert (key.door, key.mail, key.surname) == ("lock-101", GUEST_EMAIL, "Berg")
    assert key.check_in == datetime(2026, 6, 10, 15, 0)  # Oslo wall-clock time
    assert sim.mails_sent == [(key.key_id, GUEST_EMAIL)]

    world.set_booking(booking, departure=date(2026, 6, 14))
    engine.tick()
    assert sim.keys[key.key_id].check_out == datetime(2026, 6, 14, 11, 0)

    world.set_booking(booking, status=BookingStatus.CANCELLED)
    engine.tick()
    assert sim.keys == {}
    assert world.code().state == CodeState.REVOKED


def test_a_lifecycle_costs_at_most_three_requests_per_operation(
    engine: Engine, world: World, sim: FlexipassSimulator
) -> None:
    """Create, date change and cancel on the happy path: no door list or key details
    around them (the key's fields as sent are remembered)."""
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101", guest="Ada Berg")
    counts = []
    for change in ({}, {"departure": date(2026, 6, 14)}, {"status": BookingStatus.CANCELLED}):
        if change:
            world.set_booking(booking, **change)
        before = len(sim.requests)
        engine.tick()
        counts.append(len(sim.requests) - before)
    assert world.code().state == CodeState.REVOKED and sim.keys == {}
    assert counts == [1, 1, 1], sim.requests


def test_a_date_change_after_a_restart_costs_one_request(
    engine: Engine, world: World, sim: FlexipassSimulator, clock: FixedClock,
    secret_store: SecretStore,
) -> None:
    """A new process's adapter has sent nothing yet: the guest fields of the key (the
    update replaces them all) come from the code the engine hands over, not a read."""
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101", guest="Ada Maria Berg")
    engine.tick()
    engine.stop(5)
    key_id = world.code().vendor_ref
    sent = sim.keys[str(key_id)]

    def factory(config: ConnectionConfig) -> VendorAdapter:
        return FlexipassAdapter(config, clock=clock, timeout=TIMEOUT)

    registry = VendorRegistry([dataclasses.replace(FLEXIPASS_SPEC, factory=factory)])
    restarted = Engine(world.db, registry, secret_store, clock, EventBus(), CONFIG)
    try:
        world.set_booking(booking, departure=date(2026, 6, 14))
        before = len(sim.requests)
        restarted.tick()
        assert len(sim.requests) - before == 1, sim.requests[before:]
    finally:
        restarted.stop(5)
    moved = sim.keys[str(key_id)]
    assert moved.check_out == datetime(2026, 6, 14, 11, 0)
    assert (moved.door, moved.mail, moved.name, moved.surname, moved.key_type) == (
        sent.door, sent.mail, sent.name, sent.surname, sent.key_type)


def test_a_booking_without_email_raises_an_alert_and_calls_nobody(
    engine: Engine, world: World, sim: FlexipassSimulator
) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "102")
    world.set_booking(booking, guest_email=None)
    engine.tick()
    engine.tick()
    assert sim.requests == []
    assert sim.keys == {}
    alerts = world.alerts()
    assert len(alerts) == 1
    assert "email" in alerts[0].message


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
def test_a_lost_create_answer_never_sends_a_second_key(
    engine: Engine, world: World, sim: FlexipassSimulator, clock: FixedClock
) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "102")
    sim.hang_next(after_apply=True, path=wire.CREATE_KEY)
    engine.tick()
    assert world.code().state != CodeState.ACTIVE

    clock.advance(CONFIG.retry_interval + timedelta(seconds=1))
    engine.tick()
    code = world.code()
    assert code.state == CodeState.ACTIVE
    assert list(sim.keys) == [code.vendor_ref]
    assert len(sim.mails_sent) == 1


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
def test_a_cancellation_after_a_lost_create_answer_deletes_the_key_that_was_sent(
    engine: Engine, world: World, sim: FlexipassSimulator, clock: FixedClock
) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "102")
    sim.hang_next(after_apply=True, path=wire.CREATE_KEY)
    engine.tick()
    assert len(sim.keys) == 1  # the key exists and was mailed, but we never heard back
    assert world.code().vendor_ref is None

    world.set_booking(booking, status=BookingStatus.CANCELLED)
    clock.advance(CONFIG.retry_interval + timedelta(seconds=1))
    engine.tick()
    assert sim.keys == {}, "the guest's key must be deleted even though its answer was lost"
    assert world.code().state == CodeState.REVOKED
