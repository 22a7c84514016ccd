"""Services are built from explicit parts (no composition root): the database, the password
store, the clock, the event bus, the provider registry, the settings and the staff name, and
they reach a running engine only through its port."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.engine.adapters import AdapterPool
from mangodesk.services.base import ServiceDeps
from mangodesk.services.facade import Services
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.settings import Settings
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.registry import default_registry
from tests.fakes.world import make_world


class RecordingEngine:
    """An engine port that only notes what services asked of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def wake(self) -> None:
        self.calls.append("wake")

    def stop(self) -> bool:
        self.calls.append("stop")
        return True


def test_services_from_plain_parts_record_staff_and_nudge_the_engine_port(
        tmp_path: Path, secret_store: SecretStore, clock: FixedClock) -> None:
    world = make_world(tmp_path)
    unit_id = world.add_room("101")
    events = EventBus()
    heard: list[Event] = []
    events.subscribe(heard.append)
    services = Services(ServiceDeps(
        db=world.db, secrets=secret_store, clock=clock, events=events,
        vendors=default_registry(), settings=Settings(max_attempts=7), actor="Anna",
        adapters=AdapterPool(world.db, default_registry(), secret_store)))
    engine = RecordingEngine()
    services.engine = engine

    created = services.passcodes.create(unit_id, PasscodeInput(
        valid_from=clock.now() + timedelta(hours=1), valid_to=clock.now() + timedelta(days=2),
        code="482913", guest_name="Walk-in"))

    assert engine.calls == ["wake"]
    (listed,) = services.passcodes.list_for_unit(unit_id)
    assert listed.max_attempts == 7  # the settings handed in, not a default
    assert any(event.kind == EventKind.DATA_CHANGED for event in heard)
    (entry,) = [line for line in services.audit.list() if line.subject_id == created.id]
    assert entry.actor == "Anna" and entry.at == clock.now()

    services.close()
    assert engine.calls[-1] == "stop"
    assert services.engine is None
    services.wake_engine()  # no engine any more: nothing to nudge, nothing fails
    assert engine.calls[-1] == "stop"
