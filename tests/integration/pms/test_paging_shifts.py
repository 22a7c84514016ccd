"""#12 item 3: a booking deleted or created in Beds24 while Mangodesk reads its pages never makes
another booking go missing silently, on the very first full load too (no local copy to
compare with), and the cursor never moves past a booking not read (pms.paging)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import BookingStatus
from mangodesk.pms.sync import SyncEngine
from mangodesk.sim.beds24 import Beds24Simulator
from mangodesk.store.db import Database
from mangodesk.store.models import Booking, SyncState


def window(sim: Beds24Simulator) -> list[int]:
    """What a full load reads (from a week back), in Beds24's order."""
    return sorted(b.id for b in sim.bookings.values()
                  if b.departure >= sim.today - timedelta(days=7))


def singles(sim: Beds24Simulator, ids: list[int]) -> list[int]:
    masters = {b.master_id for b in sim.bookings.values() if b.master_id}
    return [i for i in ids if sim.booking(i).master_id is None and i not in masters]


def expected_numbers(sim: Beds24Simulator) -> set[str]:
    return {str(sim.booking(i).master_id or i) for i in window(sim)}


def stored_numbers(db: Database) -> set[str]:
    with db.session() as session:
        return set(session.scalars(select(Booking.pms_id)))


def test_the_simulator_changes_the_world_at_the_asked_request(sim: Beds24Simulator) -> None:
    ran: list[int] = []
    sim.at_request(2, lambda: ran.append(sim.request_count))
    sim.handle("GET", "/v2/bookings?page=1", {})
    sim.handle("GET", "/v2/properties", {})  # another path does not count
    assert ran == []
    sim.handle("GET", "/v2/bookings?page=2", {})
    assert ran == [3]


@pytest.mark.parametrize("moment", range(1, 11))
def test_a_booking_deleted_at_any_moment_of_the_first_full_load_hides_no_other(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock, moment: int
) -> None:
    ids = window(sim)
    assert len(ids) > 2 * sim.page_size  # three pages at least
    victim = singles(sim, ids[:sim.page_size])[0]  # on page 1
    sim.at_request(moment, lambda: sim.delete_booking(victim))
    result = engine.run_once()
    assert result.ok and result.full, result.error
    assert not expected_numbers(sim) - stored_numbers(db)


@pytest.mark.parametrize("moment", range(1, 11))
def test_a_booking_deleted_and_another_created_during_the_first_full_load_hide_none(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock, moment: int
) -> None:
    ids = window(sim)
    victim = singles(sim, ids[:sim.page_size])[0]
    kept = sim.booking(ids[-1])

    def a_minute_later_one_goes_and_one_comes() -> None:
        clock.advance(timedelta(minutes=1))
        sim.delete_booking(victim)
        sim.add_booking(kept.room_id, kept.unit_id, sim.today + timedelta(days=200),
                        sim.today + timedelta(days=202), first_name="New", last_name="Guest")

    sim.at_request(moment, a_minute_later_one_goes_and_one_comes)
    result = engine.run_once()
    assert result.ok and result.full, result.error
    assert not expected_numbers(sim) - stored_numbers(db)


@pytest.mark.parametrize("moment", range(1, 8))
def test_a_booking_deleted_during_a_read_of_many_changes_hides_no_change(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock, moment: int
) -> None:
    assert engine.run_once().ok
    clock.advance(timedelta(minutes=5))
    changed = sorted(sim.mutate_randomly(60))  # more than two pages of changes
    clock.advance(timedelta(minutes=5))
    victim = changed[0]
    sim.at_request(moment, lambda: sim.delete_booking(victim))
    result = engine.run_once()
    assert result.ok and not result.full, result.error
    with db.session() as session:
        for bid in changed[1:]:
            local = session.scalars(select(Booking).where(Booking.pms_id == str(bid))).one()
            theirs = sim.booking(bid)
            assert (local.departure, local.status == BookingStatus.CANCELLED) == (
                theirs.departure, theirs.status == "cancelled"), bid


@pytest.mark.expect_log(
    r"beds\d+ sync failed: The bookings in Beds\d+ kept changing while Mangode",
    logger="mangodesk.pms.sync")
def test_a_list_that_keeps_shifting_fails_the_sync_and_keeps_the_cursor(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    assert engine.run_once().ok
    with db.session() as session:
        cursor = session.scalar(select(SyncState.cursor))
    clock.advance(timedelta(minutes=5))

    def delete_one_from_page_one(path: str, page: int) -> None:
        if path == "/bookings" and page == 3:  # every time, counts and reads alike
            sim.delete_booking(singles(sim, window(sim)[:sim.page_size])[0])

    sim.before_request = delete_one_from_page_one
    result = engine.run_once(full=True)
    assert not result.ok
    assert result.error is not None
    assert "kept changing while Mangodesk read them" in result.error, result.error
    with db.session() as session:
        assert session.scalar(select(SyncState.cursor)) == cursor
    sim.before_request = None
    clock.advance(timedelta(minutes=5))
    assert engine.run_once(full=True).ok
    assert not expected_numbers(sim) - stored_numbers(db)
