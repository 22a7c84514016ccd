"""Flexipass and Inlet through the engine on its default settings, against their simulators
over loopback: the requests the simulator receives never exceed the account's declared
requests per second, nor its calls at once.

The simulators answer after a short real delay so that calls can overlap; the only timing
checked is the spacing of the requests, with a margin for loopback scheduling.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import CodeState, VendorKind
from mangodesk.engine.engine import Engine, EngineConfig
from mangodesk.engine.resolve import secret_key
from mangodesk.sim.flexipass import FlexipassSimulator
from mangodesk.sim.inlet import InletSimulator
from mangodesk.sim.jsonapi import JsonApiSimulator
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors import inlet_contract as inlet_wire
from mangodesk.vendors.base import CallLimits, ConnectionConfig, ProviderSpec, VendorAdapter
from mangodesk.vendors.flexipass import FLEXIPASS_SPEC, FlexipassAdapter
from mangodesk.vendors.flexipass import contract as flexipass_wire
from mangodesk.vendors.inlet import INLET_SPEC, InletAdapter
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.world import World, make_world

ARRIVAL, DEPARTURE = date(2026, 6, 10), date(2026, 6, 12)
CHECK_IN = datetime(2026, 6, 10, 13, 0, tzinfo=UTC)  # 15:00 in Oslo
ISSUE_AT = CHECK_IN - timedelta(hours=48)
TIMEOUT = httpx.Timeout(connect=5.0, read=5.0, write=5.0, pool=5.0)
ROOMS = [str(n) for n in range(101, 109)]
ANSWER_AFTER = 0.05  # seconds the simulator takes per request
MARGIN = 0.1  # seconds a request may arrive early against its slot (loopback scheduling)


class RequestLog:
    """When each request reached the simulator, and the most it handled at once."""

    def __init__(self, sim: JsonApiSimulator) -> None:
        self.started: list[float] = []
        self.most_at_once = 0
        self._at_once = 0
        self._lock = threading.Lock()
        handle = sim.handle

        def recorded(method: str, url: str, auth: str | None, body: Any) -> Any:
            with self._lock:
                self.started.append(time.monotonic())
                self._at_once += 1
                self.most_at_once = max(self.most_at_once, self._at_once)
            try:
                time.sleep(ANSWER_AFTER)
                return handle(method, url, auth, body)
            finally:
                with self._lock:
                    self._at_once -= 1

        sim.handle = recorded  # type: ignore[method-assign]

    def most_in_any_second(self) -> int:
        """The most requests that started within one second (less the margin)."""
        times = sorted(self.started)
        return max(sum(1 for t in times[i:] if t - start < 1.0 - MARGIN)
                   for i, start in enumerate(times))


def flexipass_hotel(tmp_path: Path, secret_store: SecretStore,
                    clock: FixedClock) -> tuple[JsonApiSimulator, World, ProviderSpec]:
    doors = [flexipass_wire.FlexipassDoor(f"lock-{room}", f"Room {room}", False,
                                          "VingCard Visionline") for room in ROOMS]
    sim = FlexipassSimulator(doors=doors)
    settings: dict[str, object] = {
        "base_url": "", "username": sim.username, "time_zone": "Europe/Oslo"}

    def factory(config: ConnectionConfig) -> VendorAdapter:
        return FlexipassAdapter(config, clock=clock, timeout=TIMEOUT)

    def connect(hotel: World) -> None:
        secret_store.set(secret_key(hotel.connection_id, "password"), sim.password)
        secret_store.set(secret_key(hotel.connection_id, "company_token"), sim.company_token)

    return sim, _hotel(tmp_path, VendorKind.FLEXIPASS, sim, settings, connect), \
        dataclasses.replace(FLEXIPASS_SPEC, factory=factory)


def inlet_hotel(tmp_path: Path, secret_store: SecretStore,
                clock: FixedClock) -> tuple[JsonApiSimulator, World, ProviderSpec]:
    locks = [inlet_wire.InletLock(f"lock-{room}", f"lock-{room}", "Salto KS", "Main",
                                  "Floor 1", True, None, (inlet_wire.ACCESS_CODE,))
             for room in ROOMS]
    sim = InletSimulator(locks=locks, clock=clock)

    def factory(config: ConnectionConfig) -> VendorAdapter:
        return InletAdapter(config, clock=clock, timeout=TIMEOUT)

    def connect(hotel: World) -> None:
        secret_store.set(secret_key(hotel.connection_id, "api_token"), sim.token)

    return sim, _hotel(tmp_path, VendorKind.INLET, sim, {}, connect), \
        dataclasses.replace(INLET_SPEC, factory=factory)


def _hotel(tmp_path: Path, kind: VendorKind, sim: JsonApiSimulator,
           settings: dict[str, object], connect: Callable[[World], None]) -> World:
    sim.start()
    hotel = make_world(tmp_path, kind=kind, settings={**settings, "base_url": sim.base_url})
    connect(hotel)
    for room in ROOMS:
        hotel.add_room(room)
        hotel.add_booking(ARRIVAL, DEPARTURE, room)
    return hotel


@pytest.mark.parametrize("hotel", [flexipass_hotel, inlet_hotel],
                         ids=["flexipass", "inlet"])
def test_requests_stay_within_the_accounts_limits(
        hotel: Callable[[Path, SecretStore, FixedClock],
                        tuple[JsonApiSimulator, World, ProviderSpec]],
        tmp_path: Path, secret_store: SecretStore) -> None:
    clock = FixedClock(ISSUE_AT)
    sim, world, spec = hotel(tmp_path, secret_store, clock)
    limits: CallLimits = spec.call_limits
    assert limits.requests_per_second is not None and limits.calls_at_once is not None
    log = RequestLog(sim)
    engine = Engine(world.db, VendorRegistry([spec]), secret_store, clock, EventBus(),
                    EngineConfig())
    try:
        try:
            engine.plan_and_enqueue()
            engine.run_due()
        finally:
            engine.stop(5)
            sim.stop()
        assert world.count_state(CodeState.ACTIVE) == len(ROOMS)
    finally:
        world.db.dispose()
    assert len(log.started) > limits.requests_per_second  # enough to test the rate
    assert log.most_in_any_second() <= limits.requests_per_second
    assert log.most_at_once <= limits.calls_at_once
