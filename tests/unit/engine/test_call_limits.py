"""Each provider's declared CallLimits, kept by the engine on its default settings: TTLock
runs its gateways in parallel and each gateway's calls one at a time, Smartair never has
more than its two calls at once on the server, and a configured limit only lowers a
vendor's. The request pacer is checked on a fake clock.

The fake vendor's latency is real time here (overlap needs it); nothing asserts durations.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import CodeState, VendorKind
from mangodesk.engine.engine import Engine, EngineConfig
from mangodesk.engine.limits import RequestPacer, calls_at_once
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.registry import VendorRegistry, default_registry
from tests.fakes.vendor import FakeVendor, fake_spec
from tests.fakes.world import World, make_world

ARRIVAL, DEPARTURE = date(2026, 6, 10), date(2026, 6, 12)
LATENCY = 0.3  # long enough for every task of a burst to be claimed while the first calls


@pytest.fixture
def smartair_world(tmp_path: Path) -> Iterator[World]:
    hotel = make_world(tmp_path, kind=VendorKind.SMARTAIR)
    yield hotel
    hotel.db.dispose()


def run_burst(world: World, fake: FakeVendor, kind: VendorKind, clock: FixedClock,
              secret_store: SecretStore, config: EngineConfig) -> None:
    engine = Engine(world.db, VendorRegistry([fake_spec(fake, kind)]), secret_store, clock,
                    EventBus(), config)
    try:
        engine.plan_and_enqueue()
        engine.run_due()
    finally:
        engine.stop(5)


def rooms_on_gateways(world: World, rooms: int, gateways: int) -> dict[str, str]:
    """``rooms`` rooms with a booking due, their locks spread over ``gateways`` gateways;
    returns lock → gateway for the fake."""
    serial_keys = {}
    for n in range(rooms):
        room, gateway = f"3{n:02d}", f"gw-{n % gateways}"
        world.add_room(room, serial_key=gateway)
        serial_keys[f"lock-{room}"] = gateway
        world.add_booking(ARRIVAL, DEPARTURE, room)
    return serial_keys


def test_ttlock_gateways_run_in_parallel_each_one_call_at_a_time(
        world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    gateways = 6  # more than the old default of 4 calls per account
    fake = FakeVendor(latency=LATENCY, serial_keys=rooms_on_gateways(world, 12, gateways))
    run_burst(world, fake, VendorKind.TTLOCK, engine_clock, secret_store, EngineConfig())
    assert world.count_state(CodeState.ACTIVE) == 12
    assert max(fake.max_in_flight.values()) == 1  # a gateway never sees two calls
    assert fake.max_total_in_flight == gateways  # and every gateway worked at once


def test_smartair_server_never_sees_more_than_its_limit(
        smartair_world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    limit = default_registry().spec(VendorKind.SMARTAIR).call_limits.calls_at_once
    assert limit == 2
    for n in range(6):
        smartair_world.add_room(f"4{n:02d}")
        smartair_world.add_booking(ARRIVAL, DEPARTURE, f"4{n:02d}")
    fake = FakeVendor(latency=LATENCY)
    # A configured number above the vendor's does not raise it.
    run_burst(smartair_world, fake, VendorKind.SMARTAIR, engine_clock, secret_store,
              EngineConfig(per_connection_concurrency=8))
    assert smartair_world.count_state(CodeState.ACTIVE) == 6
    assert fake.max_total_in_flight == limit


def test_a_configured_limit_lowers_the_vendors(
        world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    fake = FakeVendor(latency=0.05, serial_keys=rooms_on_gateways(world, 6, 3))
    run_burst(world, fake, VendorKind.TTLOCK, engine_clock, secret_store,
              EngineConfig(per_connection_concurrency=1))
    assert world.count_state(CodeState.ACTIVE) == 6
    assert fake.max_total_in_flight == 1


@pytest.mark.parametrize(("kind", "configured", "expected"), [
    (VendorKind.TTLOCK, 0, None),  # gateways only
    (VendorKind.TTLOCK, 3, 3),
    (VendorKind.SMARTAIR, 0, 2),
    (VendorKind.SMARTAIR, 5, 2),
    (VendorKind.FLEXIPASS, 0, 4),
    (VendorKind.INLET, 1, 1),
])
def test_calls_at_once_is_the_vendors_limit_lowered_by_the_settings(
        kind: VendorKind, configured: int, expected: int | None) -> None:
    config = EngineConfig(per_connection_concurrency=configured)
    assert calls_at_once(default_registry(), str(kind), config) == expected


def test_an_unknown_provider_gets_one_call_at_a_time() -> None:
    assert calls_at_once(VendorRegistry(), "acme", EngineConfig()) == 1


def test_the_pacer_spaces_requests_across_callers() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    pacer = RequestPacer(5.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        pacer()  # four callers at the same instant take the next four slots
    assert slept == pytest.approx([0.2, 0.4, 0.6])
    now[0] += 10.0  # idle for a while: no burst credit is saved up
    pacer()
    pacer()
    assert slept[3:] == pytest.approx([0.2])
