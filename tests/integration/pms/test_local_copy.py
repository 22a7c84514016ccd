"""Issue #12: the local copy of Beds24 is exactly right — group membership, moves between
properties, robust paging, unreadable bookings, silence that is neither a cancellation nor a
confirmation, and lenient arrival times. Every test runs the real adapter and SyncEngine
against the Beds24 simulator over loopback."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import BookingStatus, CodeOrigin, CodeState, VendorKind
from mangodesk.pms.beds24 import Beds24Adapter, Beds24Settings
from mangodesk.pms.connect import connect_beds24, load_beds24_settings
from mangodesk.pms.sync import SyncEngine, read_sync_status
from mangodesk.sim.beds24 import Beds24Simulator
from mangodesk.store.db import Database
from mangodesk.store.models import (
    AccessCode,
    Alert,
    Booking,
    BookingUnit,
    Connection,
    Lock,
    SyncState,
    Unit,
    UnitLink,
)
from mangodesk.store.secrets import SecretStore
from tests.integration.pms.conftest import EngineFactory


def row(db: Database, pms_id: int | str) -> Booking | None:
    with db.session() as session:
        booking = session.scalars(
            select(Booking).where(Booking.pms_id == str(pms_id))
            .options(selectinload(Booking.units))
        ).first()
        if booking is not None:
            session.expunge(booking)
        return booking


def sim_unit(sim: Beds24Simulator, booking_id: int) -> str:
    booking = sim.booking(booking_id)
    return f"{booking.room_id}-{booking.unit_id}"


def local_units(db: Database, pms_id: int | str) -> list[str]:
    booking = row(db, pms_id)
    assert booking is not None
    with db.session() as session:
        return sorted(
            session.scalars(select(Unit.pms_id).where(
                Unit.id.in_([link.unit_id for link in booking.units]))).all()
        )


def upcoming_group(sim: Beds24Simulator) -> tuple[int, list[int]]:
    members: dict[int, list[int]] = {}
    for booking in sim.live_bookings():
        if booking.master_id and booking.arrival > sim.today and booking.status == "confirmed":
            members.setdefault(booking.master_id, []).append(booking.id)
    master, ids = next((m, sorted(ids)) for m, ids in sorted(members.items()) if len(ids) >= 2)
    return master, ids


def upcoming_singles(sim: Beds24Simulator, count: int = 1) -> list[int]:
    found = sorted(
        b.id for b in sim.live_bookings()
        if b.master_id is None and b.arrival > sim.today and b.status == "confirmed"
        and b.unit_id > 0
    )
    return found[-count:]


def units_held_twice(db: Database, sim: Beds24Simulator) -> list[tuple[str, list[str]]]:
    """Units that two live local bookings claim for overlapping nights."""
    with db.session() as session:
        bookings = session.scalars(
            select(Booking).options(selectinload(Booking.units))
            .where(Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.TENTATIVE]))
        ).all()
        clashes = []
        by_unit: dict[int, list[Booking]] = {}
        for booking in bookings:
            for link in booking.units:
                by_unit.setdefault(link.unit_id, []).append(booking)
        for unit_id, holders in by_unit.items():
            for i, a in enumerate(holders):
                for b in holders[i + 1:]:
                    if a.arrival < b.departure and b.arrival < a.departure:
                        clashes.append((str(unit_id), [a.pms_id, b.pms_id]))
        return clashes


def add_code_for(db: Database, pms_id: int, now: datetime) -> int:
    """An active door code for this booking's unit, as the lifecycle engine would make."""
    with db.transaction() as session:
        booking = session.scalars(select(Booking).where(Booking.pms_id == str(pms_id))
                                  .options(selectinload(Booking.units))).one()
        connection = Connection(kind=VendorKind.TTLOCK, display_name="Locks", settings={},
                                created_at=now)
        session.add(connection)
        session.flush()
        lock = Lock(connection_id=connection.id, vendor_lock_id=f"lock-{pms_id}", name="L",
                    attributes={})
        session.add(lock)
        session.flush()
        code = AccessCode(
            unit_id=booking.units[0].unit_id, lock_id=lock.id, origin=CodeOrigin.BOOKING,
            booking_id=booking.id, code="4821", vendor_ref="ref-1", valid_from=now,
            valid_to=now + timedelta(days=2), guest_name=booking.guest_name,
            state=CodeState.ACTIVE, created_at=now, updated_at=now,
        )
        session.add(code)
        session.flush()
        return code.id


def kept_unit(db: Database, pms_id: int) -> str:
    """The unit the stored copy of a booking is on (not linked to a lock here)."""
    with db.session() as session:
        return session.scalars(select(Unit.name).join(BookingUnit, BookingUnit.unit_id == Unit.id)
                               .join(Booking, Booking.id == BookingUnit.booking_id)
                               .where(Booking.pms_id == str(pms_id))).one()


def open_alerts(db: Database, fragment: str) -> list[Alert]:
    with db.session() as session:
        return list(session.scalars(select(Alert).where(
            Alert.dedupe_key.contains(fragment), Alert.cleared_at.is_(None))))


# ---------------------------------------------------------------------- 1 groups


def test_a_room_leaving_its_group_gives_its_unit_up_even_on_an_incremental_sync(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine.run_once()
    master, members = upcoming_group(sim)
    leaver = members[-1]
    assert sim_unit(sim, leaver) in local_units(db, master)
    clock.advance(timedelta(minutes=5))
    sim.set_group(leaver, None)
    clock.advance(timedelta(minutes=5))
    result = engine.run_once()
    assert result.ok
    assert sim_unit(sim, leaver) not in local_units(db, master)
    assert local_units(db, leaver) == [sim_unit(sim, leaver)]
    assert units_held_twice(db, sim) == []


def test_a_full_load_applies_a_group_that_lost_a_room_though_its_time_is_older(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    master, members = upcoming_group(sim)
    leaver = members[-1]
    clock.advance(timedelta(minutes=5))
    sim.set_status(leaver, "confirmed")  # the group's newest room time is now the leaver's
    engine.run_once()
    clock.advance(timedelta(minutes=5))
    sim.set_group(leaver, None)
    clock.advance(timedelta(minutes=5))
    assert engine.run_once(full=True).ok
    assert sim_unit(sim, leaver) not in local_units(db, master)
    assert units_held_twice(db, sim) == []


def test_a_booking_joining_a_group_is_no_longer_a_booking_of_its_own(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine.run_once()
    master, _members = upcoming_group(sim)
    [joiner] = upcoming_singles(sim)
    joiner_unit = sim_unit(sim, joiner)
    clock.advance(timedelta(minutes=5))
    sim.set_group(joiner, master)
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    assert joiner_unit in local_units(db, master)
    assert local_units(db, joiner) == []  # its old code is released like a room move
    group = row(db, master)
    assert group is not None and f",{joiner}," in (group.pms_member_ids or "")


# ---------------------------------------------------------------------- 2 property moves


def test_a_booking_moved_to_another_property_is_moved_not_duplicated(
    make_engine: EngineFactory, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    annex = sim.add_property(rooms=4)
    engine = make_engine()
    engine.run_once()
    [moved] = upcoming_singles(sim)
    clock.advance(timedelta(minutes=5))
    sim.move_to_property(moved, annex.rooms[0].id, 1)
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    with db.session() as session:
        copies = session.scalar(select(func.count()).select_from(Booking)
                                .where(Booking.pms_id == str(moved)))
    assert copies == 1
    assert local_units(db, moved) == [f"{annex.rooms[0].id}-1"]


def test_a_booking_moved_to_a_property_not_synced_gives_its_unit_up(
    sim: Beds24Simulator, db: Database, secret_store: SecretStore, clock: FixedClock
) -> None:
    annex = sim.add_property(rooms=4)
    connect_beds24(db, secret_store, clock, sim.create_invite_code(),
                   Beds24Settings(base_url=sim.base_url, property_ids=(100001,)))
    settings = load_beds24_settings(db)
    assert settings is not None
    adapter = Beds24Adapter(secrets=secret_store, clock=clock, settings=settings)
    engine = SyncEngine(db, adapter, clock, EventBus(), source="beds24")
    try:
        assert engine.run_once().ok
        [moved] = upcoming_singles(sim)
        assert local_units(db, moved)
        clock.advance(timedelta(minutes=5))
        sim.move_to_property(moved, annex.rooms[0].id, 1)
        clock.advance(timedelta(minutes=5))
        assert engine.run_once(full=True).ok
        assert local_units(db, moved) == []
        still = row(db, moved)
        assert still is not None and still.missing_from_pms_since is None
    finally:
        engine.close()


# ---------------------------------------------------------------------- 3 paging


def test_an_empty_page_claiming_to_be_the_last_does_not_end_the_read(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine.run_once()
    clock.advance(timedelta(minutes=5))
    changed = sim.mutate_randomly(60)
    clock.advance(timedelta(minutes=5))
    sim.empty_next("/bookings", page=2, as_last=True)
    assert engine.run_once().ok
    for bid in changed:
        local = row(db, bid)
        assert local is not None and local.departure == sim.booking(bid).departure


@pytest.mark.expect_log(r"beds\d+ sync failed: Beds\d+ sent an empty", logger="mangodesk.pms")
def test_an_empty_middle_page_that_stays_empty_fails_without_moving_the_cursor(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine.run_once()
    with db.session() as session:
        cursor = session.scalar(select(SyncState.cursor))
    clock.advance(timedelta(minutes=5))
    changed = sim.mutate_randomly(60)
    clock.advance(timedelta(minutes=5))
    # Empty each time it is asked for: counting the list, reading it, reading it again.
    sim.empty_next("/bookings", page=2, as_last=True, times=3)
    assert not engine.run_once().ok
    with db.session() as session:
        assert session.scalar(select(SyncState.cursor)) == cursor
    assert engine.run_once().ok
    for bid in changed:
        local = row(db, bid)
        assert local is not None and local.departure == sim.booking(bid).departure


def test_a_booking_deleted_during_a_full_load_shifts_no_other_booking_out(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine.run_once()
    clock.advance(timedelta(minutes=5))
    # What the full load reads (from a week back), in Beds24's order.
    ids = sorted(b.id for b in sim.bookings.values()
                 if b.departure >= sim.today - timedelta(days=7))
    victim = next(i for i in ids if sim.booking(i).departure >= sim.today)
    assert ids.index(victim) < sim.page_size
    shifted = ids[sim.page_size]  # the first booking of page 2, moving to page 1
    booking = sim.booking(shifted)
    # Changed in Beds24 but not yet seen here: only the full load can bring it.
    booking.departure += timedelta(days=1)
    deleted = False

    def delete_between_pages(path: str, page: int) -> None:
        nonlocal deleted
        if path == "/bookings" and page == 2 and not deleted:
            deleted = True
            sim.delete_booking(victim)

    sim.before_request = delete_between_pages
    assert engine.run_once(full=True).ok
    local = row(db, shifted)
    assert local is not None and local.departure == booking.departure
    assert local.missing_from_pms_since is None
    # The deleted booking was read on page 1 before it went: the next full load sees it gone.
    clock.advance(timedelta(minutes=5))
    assert engine.run_once(full=True).ok
    gone = row(db, victim)
    assert gone is not None and gone.missing_from_pms_since is not None


# ---------------------------------------------------------------------- 4 unreadable


@pytest.mark.expect_log(r"beds\d+ booking \d+ cannot be read: booking", logger="mangodesk.pms")
def test_one_unreadable_booking_is_skipped_and_named_and_the_rest_applied(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine.run_once()
    bad, cancelled = upcoming_singles(sim, 2)
    before = row(db, bad)
    clock.advance(timedelta(minutes=5))
    sim.corrupt(bad, arrival="2026-02-30")
    sim.cancel(cancelled)
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    assert engine.run_once().ok  # the same bad booking again: still one alert
    after_cancel = row(db, cancelled)
    assert after_cancel is not None and after_cancel.status == BookingStatus.CANCELLED
    kept = row(db, bad)
    assert kept is not None and before is not None
    assert (kept.arrival, kept.departure, kept.status) == (
        before.arrival, before.departure, before.status)
    [alert] = open_alerts(db, "unreadable")
    assert str(bad) in alert.message and "2026-02-30" in alert.message
    assert alert.message.startswith(f"{kept_unit(db, bad)}: Booking {bad} "), alert.message
    assert engine.run_once(full=True).ok  # unreadable is not "gone from Beds24"
    kept = row(db, bad)
    assert kept is not None and kept.missing_from_pms_since is None
    clock.advance(timedelta(minutes=5))
    sim.corrupt(bad)  # repaired in Beds24
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    assert open_alerts(db, "unreadable") == []


# ---------------------------------------------------------------------- 5 silence


def test_a_booking_gone_from_a_full_load_is_flagged_once_and_its_code_kept(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine.run_once()
    with_code, without_code = upcoming_singles(sim, 2)
    code_id = add_code_for(db, with_code, clock.now())
    with_code_pms = str(with_code)
    sim.delete_booking(with_code)
    sim.delete_booking(without_code)
    clock.advance(timedelta(minutes=5))
    assert engine.run_once(full=True).ok
    assert engine.run_once(full=True).ok
    for pms_id in (with_code_pms, str(without_code)):
        flagged = row(db, pms_id)
        assert flagged is not None and flagged.missing_from_pms_since is not None
    assert len(open_alerts(db, "not-in-pms")) == 2
    assert read_sync_status(db, "beds24").missing_from_pms == 2
    with db.session() as session:
        code = session.get(AccessCode, code_id)
        assert code is not None and code.state == CodeState.ACTIVE


@pytest.mark.expect_log(r"beds\d+ sync failed: Beds\d+ had a problem", logger="mangodesk.pms")
@pytest.mark.expect_log(
    r"beds\d+ sync failed: Beds\d+ returned no bookings",
    logger="mangodesk.pms")
def test_an_empty_full_load_while_stays_are_upcoming_is_an_alert_and_changes_nothing(
    make_engine: EngineFactory, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine = make_engine(alert_after_failures=1)
    engine.run_once()
    sim.fail_next("/bookings", 500)
    clock.advance(timedelta(minutes=5))
    assert not engine.run_once().ok
    assert len(open_alerts(db, "sync:beds24")) == 1
    with db.session() as session:
        before = session.scalar(select(func.count()).select_from(Booking)
                                .where(Booking.missing_from_pms_since.is_not(None)))
    sim.empty_next("/bookings", times=3, as_last=True)
    clock.advance(timedelta(minutes=5))
    result = engine.run_once(full=True)
    assert not result.ok and "no bookings at all" in (result.error or "")
    assert len(open_alerts(db, "sync:beds24")) == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Booking).where(
            Booking.missing_from_pms_since.is_not(None))) == before == 0


def test_a_property_listing_far_fewer_units_is_held_with_an_alert(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine.run_once()
    sim.few_units_next()
    clock.advance(timedelta(minutes=5))
    result = engine.run_once(full=True)
    assert result.units_deactivated == 0
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Unit)
                              .where(Unit.active.is_(False))) == 0
    [alert] = open_alerts(db, "units")
    assert "Hotel Mango" in alert.message
    clock.advance(timedelta(minutes=5))
    assert engine.run_once(full=True).ok
    assert open_alerts(db, "units") == []


def test_a_confirmed_booking_going_back_to_request_keeps_its_code_and_alerts(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine.run_once()
    [bid] = upcoming_singles(sim)
    code_id = add_code_for(db, bid, clock.now())
    pms_id = str(bid)
    clock.advance(timedelta(minutes=5))
    sim.set_status(int(pms_id), "request")
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    stored = row(db, pms_id)
    assert stored is not None and stored.status == BookingStatus.TENTATIVE
    assert stored.units  # nothing about its unit changed
    [alert] = open_alerts(db, "no-longer-confirmed")
    assert pms_id in alert.message and "kept" in alert.message
    with db.session() as session:
        code = session.get(AccessCode, code_id)
        assert code is not None and code.state == CodeState.ACTIVE
    clock.advance(timedelta(minutes=5))
    sim.set_status(int(pms_id), "confirmed")
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    assert open_alerts(db, "no-longer-confirmed") == []


def test_a_room_change_to_unallocated_releases_the_old_unit(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine.run_once()
    [bid] = upcoming_singles(sim)
    assert local_units(db, bid) == [sim_unit(sim, bid)]
    clock.advance(timedelta(minutes=5))
    sim.unallocate(bid)
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    assert local_units(db, bid) == []


# ---------------------------------------------------------------------- 6 arrival time


def test_a_free_text_arrival_time_is_read_leniently_and_kept_for_staff(
    engine: SyncEngine, sim: Beds24Simulator, db: Database
) -> None:
    room = sim.properties[0].rooms[0]
    bid = sim.add_booking(room.id, room.units[0][0], sim.today + timedelta(days=40),
                          sim.today + timedelta(days=42), arrival_time="around 18:30")
    assert engine.run_once().ok
    stored = row(db, bid)
    assert stored is not None
    assert stored.arrival_time is not None and stored.arrival_time.strftime("%H:%M") == "18:30"
    assert stored.arrival_note == "around 18:30"



def test_a_booking_alert_names_its_unit_and_provider_first(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    """#11.10 / #14.3: staff read where first ("Room 3 · TTLock lock L: Booking …")."""
    engine.run_once()
    [bid] = upcoming_singles(sim)
    code_id = add_code_for(db, bid, clock.now())
    with db.transaction() as session:
        code = session.get(AccessCode, code_id)
        assert code is not None and code.unit_id is not None
        session.add(UnitLink(unit_id=code.unit_id, lock_id=code.lock_id, linked_at=clock.now(),
                             linked_by="test"))
        unit = session.get(Unit, code.unit_id)
        assert unit is not None
        place = f"{unit.name} · TTLock lock L: "
    clock.advance(timedelta(minutes=5))
    sim.set_status(bid, "request")
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    [alert] = open_alerts(db, "no-longer-confirmed")
    assert alert.message.startswith(place + f"Booking {bid} "), alert.message
