"""Door codes copied back to the Beds24 booking (info item MANGODESK_PIN), over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mangodesk.app import Context, build_context
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import BookingStatus
from mangodesk.paths import Paths
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.settings import Settings
from mangodesk.sim.beds24 import Beds24Simulator
from mangodesk.store.db import Database
from mangodesk.store.models import Booking, BookingUnit
from mangodesk.store.secrets import SecretStore
from tests.integration.pms.conftest import EngineFactory


@pytest.fixture
def context(tmp_path: Path, db: Database, secret_store: SecretStore,
            clock: FixedClock) -> Iterator[Context]:
    built = build_context(Paths.under(tmp_path / "profile"), Settings(), secrets=secret_store,
                          clock=clock, database=db)
    yield built
    built.services.close()


def info_items(sim: Beds24Simulator, pms_id: str) -> list[tuple[str, str]]:
    return [(i["code"], i["text"]) for i in sim.booking(int(pms_id)).info_items]


@pytest.mark.expect_log(
    r"write-back of booking \d+ stopped: Beds\d+ had",
    logger="mangodesk.services")
def test_codes_reach_the_beds24_booking_and_leave_it_on_revoke(
    context: Context, make_engine: EngineFactory, sim: Beds24Simulator, clock: FixedClock
) -> None:
    sync = make_engine()
    assert sync.run_once().ok
    with context.db.session() as session:
        booking, unit_id = session.execute(
            select(Booking, BookingUnit.unit_id)
            .join(BookingUnit, BookingUnit.booking_id == Booking.id)
            .where(Booking.status == BookingStatus.CONFIRMED, Booking.arrival > clock.now().date())
            .order_by(Booking.arrival)
        ).first()
        units_in_booking = len(booking.units)
    assert units_in_booking == 1
    unit_name = context.services.units.unit(unit_id).name
    context.services.links.link(unit_id, manual_lock_name="Keypad")
    start = clock.now() + timedelta(days=1)
    code = context.services.passcodes.create(unit_id, PasscodeInput(
        start, start + timedelta(days=2), code="5821", booking_id=booking.id))
    writer = context.services.write_back

    sim.fail_next("/bookings", 500)
    clock.advance(timedelta(seconds=1))
    assert writer.run_once(sync.adapter, sync.source) == 0  # Beds24 down: nothing written
    assert info_items(sim, booking.pms_id) == []
    assert writer.run_once(sync.adapter, sync.source) == 1  # the next pass catches up
    assert info_items(sim, booking.pms_id) == [("MANGODESK_PIN", f"{unit_name}: 5821")]
    assert writer.run_once(sync.adapter, sync.source) == 0  # nothing changed since

    context.services.passcodes.revoke(code.id)
    clock.advance(timedelta(seconds=1))
    assert writer.run_once(sync.adapter, sync.source) == 1
    assert info_items(sim, booking.pms_id) == []


def test_the_write_back_job_runs_only_when_switched_on(
    tmp_path: Path, db: Database, secret_store: SecretStore, clock: FixedClock,
    connected: object,
) -> None:
    from mangodesk.app import attach_engine, schedule_pms_sync

    for enabled in (False, True):
        ctx = build_context(Paths.under(tmp_path / str(enabled)),
                            Settings(write_back_codes=enabled), secrets=secret_store,
                            clock=clock, database=db)
        engine = attach_engine(ctx)
        close = schedule_pms_sync(ctx, engine)
        assert close is not None
        jobs = set(engine.scheduler.periodic_jobs)
        close()
        ctx.services.close()
        assert ("pms-write-back" in jobs) is enabled
        assert "pms-sync" in jobs
