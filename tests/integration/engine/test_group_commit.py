"""A burst through the whole engine: the workers' claims and outcomes share transactions
(group commit) and still every code goes out once, with its events after its commit.

The fake vendor answers at once, so the workers' database work is all there is and they
queue for it; the bound on commits leaves room for threads that happen not to overlap.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.domain.types import CodeState
from mangodesk.engine.engine import Engine, EngineConfig
from mangodesk.store.models import AccessCode
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.vendor import FakeVendor, fake_spec
from tests.fakes.world import World, make_world

CODES, GATEWAYS = 120, 12
NOW = datetime(2026, 6, 8, 13, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    hotel = make_world(tmp_path)
    yield hotel
    hotel.db.dispose()


def test_a_burst_issues_every_code_in_far_fewer_transactions_than_two_per_call(
        world: World) -> None:
    gateways: dict[str, str] = {}
    for n in range(CODES):
        room = f"{n:03d}"
        world.add_room(room, serial_key=f"gw-{n % GATEWAYS}")
        gateways[f"lock-{room}"] = f"gw-{n % GATEWAYS}"
        world.add_booking(date(2026, 6, 10), date(2026, 6, 12), room)
    fake = FakeVendor(serial_keys=gateways)
    events = EventBus()
    # Each code's state as the database had it when the desk heard of the change.
    seen_committed: list[tuple[str, str]] = []

    def check_committed(published: Event) -> None:
        if published.kind == EventKind.CODE_CHANGED and published.data["state"] == "active":
            with world.db.session() as session:
                state = session.scalar(select(AccessCode.state)
                                       .where(AccessCode.id == published.subject_id))
            seen_committed.append((published.data["state"], str(state)))

    events.subscribe(check_committed)
    engine = Engine(world.db, VendorRegistry([fake_spec(fake)]), SecretStore(MemoryKeyring()),
                    FixedClock(NOW), events,
                    EngineConfig(worker_threads=GATEWAYS, shutdown_wait=timedelta(seconds=30)))
    commits: list[object] = []
    count_commit = commits.append
    try:
        engine.plan_and_enqueue()
        event.listen(world.db.engine, "commit", count_commit)
        assert engine.run_due() == CODES
    finally:
        event.remove(world.db.engine, "commit", count_commit)
        engine.stop(30)

    assert world.count_state(CodeState.ACTIVE) == CODES
    assert fake.count("create_code") == CODES  # each code went out once
    assert max(fake.max_in_flight.values()) == 1  # still one call at a time per gateway
    assert seen_committed == [("active", "active")] * CODES
    # One claim and one outcome per call would be 2 × CODES commits.
    assert len(commits) <= CODES, f"{len(commits)} commits for {CODES} calls"
