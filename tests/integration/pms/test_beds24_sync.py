"""Adapter + SyncEngine against the Beds24 simulator over loopback HTTP: full load, incremental
changes, groups, units that disappear, token expiry, rate limits, and — above all — that an
outage, a 500 in the middle of paging, a malformed or an empty reply leaves every stored
booking and door code untouched and never skips a change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.domain.types import (
    AlertSubject,
    AuditAction,
    BookingStatus,
    UnitKind,
)
from mangodesk.pms.connect import connect_beds24, load_beds24_settings
from mangodesk.pms.sync import SyncEngine, SyncProgress, read_sync_status, sync_alert_key
from mangodesk.sim.beds24 import Beds24Simulator
from mangodesk.store.alerts import open_alert
from mangodesk.store.db import Database
from mangodesk.store.models import (
    AccessCode,
    Alert,
    AuditEvent,
    Booking,
    BookingUnit,
    Operation,
    Property,
    SyncState,
    Unit,
)
from mangodesk.store.secrets import SecretStore
from tests.integration.pms.conftest import EngineFactory, add_codes


def snapshot(db: Database) -> dict[str, Any]:
    """Everything a sync could damage, in comparable form."""
    with db.session() as session:
        bookings = sorted(
            (b.pms_id, b.status, b.arrival, b.departure, b.guest_name, b.guest_email,
             b.channel, b.pms_modified_at, b.synced_at,
             tuple(sorted(u.unit_id for u in b.units)))
            for b in session.scalars(select(Booking).options(selectinload(Booking.units)))
        )
        codes = sorted(
            (c.id, c.state, c.code, c.booking_id, c.unit_id, c.valid_from, c.valid_to,
             c.updated_at)
            for c in session.scalars(select(AccessCode))
        )
        units = sorted((u.id, u.pms_id, u.name, u.active, u.parent_id)
                       for u in session.scalars(select(Unit)))
        operations = session.scalar(select(func.count()).select_from(Operation))
        cursor = session.scalar(select(SyncState.cursor))
    return {"bookings": bookings, "codes": codes, "units": units, "operations": operations,
            "cursor": cursor}


def stored(db: Database, pms_id: int) -> Booking | None:
    with db.session() as session:
        booking = session.scalars(select(Booking).where(Booking.pms_id == str(pms_id))).first()
        if booking is not None:
            _ = booking.units  # load before the session closes
        return booking


def upcoming_single(sim: Beds24Simulator, page_hint: str = "last") -> int:
    candidates = sorted(
        b.id for b in sim.live_bookings()
        if b.master_id is None and b.arrival > sim.today and b.status == "confirmed"
    )
    return candidates[-1] if page_hint == "last" else candidates[0]


def test_full_load_then_incremental_changes(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    updates: list[SyncProgress] = []
    first = engine.run_once(updates.append)
    assert first.ok and first.full, first.error
    assert first.pages == len(updates) > 2
    assert updates[-1].has_more is False and updates[-1].bookings == first.bookings
    expected = {
        b.master_id or b.id for b in sim.bookings.values()
        if b.departure >= sim.today - timedelta(days=7)
    }
    with db.session() as session:
        assert set(session.scalars(select(Booking.pms_id))) == {str(i) for i in expected}
        assert session.scalar(select(func.count()).select_from(Property)) == 1
    cancelled_in_pms = [b.id for b in sim.bookings.values()
                        if b.status == "cancelled" and b.master_id is None
                        and b.departure >= sim.today - timedelta(days=7)]
    assert cancelled_in_pms, "the sample data should contain cancellations"
    assert stored(db, cancelled_in_pms[0]).status == BookingStatus.CANCELLED  # type: ignore[union-attr]

    clock.advance(timedelta(minutes=5))
    moved, cancelled = upcoming_single(sim, "first"), upcoming_single(sim, "last")
    old = sim.booking(moved)
    sim.change_dates(moved, old.arrival + timedelta(days=1), old.departure + timedelta(days=2))
    sim.cancel(cancelled)
    room = sim.properties[0].rooms[0]
    added = sim.add_booking(room.id, 1, sim.today + timedelta(days=200),
                            sim.today + timedelta(days=202), first_name="Nora", last_name="Berg")
    clock.advance(timedelta(minutes=5))

    second = engine.run_once()
    assert second.ok and not second.full
    assert second.bookings < 20  # only the recent window, not everything again
    assert (second.created, second.updated) == (1, 2)
    moved_row = stored(db, moved)
    assert moved_row is not None
    assert (moved_row.arrival, moved_row.departure) == (old.arrival, old.departure)
    assert stored(db, cancelled).status == BookingStatus.CANCELLED  # type: ignore[union-attr]
    new_row = stored(db, added)
    assert new_row is not None and new_row.guest_name == "Nora Berg"
    assert len(new_row.units) == 1

    with db.session() as session:
        audits = session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.SYNC_RUN)).all()
    assert len(audits) == 2  # one summary per sync that changed something
    status = read_sync_status(db, "beds24")
    assert status.last_success_at == clock.now() and status.last_error is None
    assert status.bookings == len(expected) + 1


def test_booking_groups_are_one_booking_with_a_unit_per_room(
    engine: SyncEngine, sim: Beds24Simulator, db: Database
) -> None:
    groups: dict[int, list[int]] = {}
    for b in sim.bookings.values():
        if b.master_id and b.departure >= sim.today - timedelta(days=7):
            groups.setdefault(b.master_id, []).append(b.id)
    assert groups, "the sample data should contain booking groups"
    assert engine.run_once().ok
    for master, members in groups.items():
        row = stored(db, master)
        assert row is not None
        live = [m for m in members if sim.booking(m).status != "cancelled"] or members
        assert len(row.units) == len(live)
        for member in members:
            if member != master:
                assert stored(db, member) is None


def test_units_rooms_and_beds_are_created_and_a_vanished_unit_is_only_inactive(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    assert engine.run_once().ok
    with db.session() as session:
        units = {u.pms_id: u for u in session.scalars(select(Unit))}
    dorm = next(r for r in sim.properties[0].rooms if r.unit_allocation == "perGuest")
    assert units[str(dorm.id)].kind == UnitKind.ROOM
    assert units[f"{dorm.id}-1"].kind == UnitKind.BED
    assert units[f"{dorm.id}-1"].parent_id == units[str(dorm.id)].id
    room = sim.properties[0].rooms[0]
    gone = f"{room.id}-{room.units[-1][0]}"
    with db.session() as session:
        links_before = session.scalar(
            select(func.count()).select_from(BookingUnit)
            .where(BookingUnit.unit_id == units[gone].id))
    sim.remove_unit(room.id, room.units[-1][0])
    clock.advance(timedelta(hours=2))  # rooms are re-read at most hourly
    result = engine.run_once()
    assert result.ok and result.units_deactivated == 1
    with db.session() as session:
        unit = session.get(Unit, units[gone].id)
        assert unit is not None and unit.active is False
        assert session.scalar(
            select(func.count()).select_from(BookingUnit)
            .where(BookingUnit.unit_id == unit.id)) == links_before


def test_token_expiry_mid_sync_is_renewed_transparently(
    engine: SyncEngine, sim: Beds24Simulator
) -> None:
    assert engine.run_once().ok
    sim.expire_tokens()
    result = engine.run_once(full=True)
    assert result.ok, result.error
    assert any(e.path.endswith("/authentication/token") and e.status == 200
               for e in sim.exchanges)
    assert any(e.status == 401 for e in sim.exchanges)


def test_a_small_credit_budget_slows_the_sync_down_instead_of_hitting_429(
    make_engine: EngineFactory, sim: Beds24Simulator, clock: FixedClock
) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # waiting moves the shared clock: the window resets
        waits.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    sim.set_credits(limit=6, used=0)
    engine = make_engine(sleep=sleep, monotonic=lambda: clock.now().timestamp())
    result = engine.run_once()
    assert result.ok, result.error
    assert waits and all(0 < w <= 300 for w in waits)
    assert not [e for e in sim.exchanges if e.status == 429]


def test_a_429_from_beds24_is_waited_out(
    make_engine: EngineFactory, sim: Beds24Simulator, clock: FixedClock
) -> None:
    waits: list[float] = []
    engine = make_engine(sleep=waits.append)
    sim.fail_next("/bookings", 429)
    assert engine.run_once().ok
    assert len(waits) == 1


# ---------------------------------------------------------------------- nothing changes


def _prepare(engine: SyncEngine, db: Database, clock: FixedClock) -> dict[str, Any]:
    assert engine.run_once().ok
    add_codes(db, clock.now())
    clock.advance(timedelta(minutes=5))
    return snapshot(db)


FAULTS = {
    "500 on the first page": lambda sim: sim.fail_next("/bookings", 500, page=1),
    "500 in the middle of paging": lambda sim: sim.fail_next("/bookings", 500, page=3),
    "503 on properties": lambda sim: sim.fail_next("/properties", 503),
    "malformed JSON mid-paging": lambda sim: sim.malformed_next("/bookings", page=2),
    "empty page mid-paging": lambda sim: sim.empty_next("/bookings", page=2, times=2),
    "empty property list": lambda sim: sim.empty_next("/properties"),
    "timeout": lambda sim: sim.hang_next("/bookings", seconds=3.0, page=2),
    "repeated 429": lambda sim: sim.fail_next("/bookings", 429, times=10),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.expect_log(r"beds\d+ sync failed: Beds\d+", logger="mangodesk.pms")
def test_a_failed_full_resync_leaves_bookings_codes_and_cursor_untouched(
    fault: str, make_engine: EngineFactory, sim: Beds24Simulator, db: Database,
    clock: FixedClock,
) -> None:
    engine = make_engine(sleep=lambda _s: None)
    before = _prepare(engine, db, clock)
    FAULTS[fault](sim)
    result = engine.run_once(full=True)
    assert not result.ok
    assert result.error and "Beds24" in result.error
    assert snapshot(db) == before
    status = read_sync_status(db, "beds24")
    assert status.consecutive_failures == 1 and status.last_error == result.error


@pytest.mark.expect_log(r"beds\d+ sync failed: Mangodesk could not reach", logger="mangodesk.pms")
def test_an_outage_changes_nothing(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    before = _prepare(engine, db, clock)
    sim.stop()
    result = engine.run_once()
    assert not result.ok and "could not reach Beds24" in (result.error or "")
    assert snapshot(db) == before


@pytest.mark.expect_log(r"beds\d+ sync failed: Beds\d+ had a problem", logger="mangodesk.pms")
def test_a_cancellation_behind_a_failed_page_is_not_skipped(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    before = _prepare(engine, db, clock)
    victim = upcoming_single(sim)
    sim.cancel(victim)
    clock.advance(timedelta(minutes=1))
    sim.fail_next("/bookings", 500, page=1)
    assert not engine.run_once().ok
    assert snapshot(db) == before
    assert stored(db, victim).status == BookingStatus.CONFIRMED  # type: ignore[union-attr]
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    assert stored(db, victim).status == BookingStatus.CANCELLED  # type: ignore[union-attr]


def test_an_empty_reply_keeps_the_cursor_so_the_change_arrives_next_time(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    before = _prepare(engine, db, clock)
    victim = upcoming_single(sim)
    sim.cancel(victim)
    clock.advance(timedelta(minutes=20))  # beyond the overlap window
    sim.empty_next("/bookings", page=1)
    result = engine.run_once()
    assert result.ok and result.bookings == 0
    assert snapshot(db) == before  # cursor included
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    assert stored(db, victim).status == BookingStatus.CANCELLED  # type: ignore[union-attr]


def test_a_booking_that_vanishes_from_beds24_is_not_cancelled(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    before = _prepare(engine, db, clock)
    victim = upcoming_single(sim)
    sim.delete_booking(victim)
    assert engine.run_once(full=True).ok
    after = snapshot(db)
    assert after["bookings"] == before["bookings"] and after["codes"] == before["codes"]
    assert stored(db, victim).status == BookingStatus.CONFIRMED  # type: ignore[union-attr]


@pytest.mark.expect_log(r"beds\d+ sync failed: Beds\d+ had a problem", logger="mangodesk.pms")
def test_repeated_failures_raise_one_sync_alert_cleared_by_success(
    make_engine: EngineFactory, sim: Beds24Simulator, db: Database, clock: FixedClock,
    events: tuple[EventBus, list[Event]],
) -> None:
    engine = make_engine(alert_after_failures=2)
    assert engine.run_once().ok
    sim.fail_next("/bookings", 500, times=3)
    engine.run_scheduled()
    with db.session() as session:
        assert open_alert(session, sync_alert_key("beds24")) is None
    engine.run_scheduled()
    engine.run_scheduled()
    with db.session() as session:
        alerts = session.scalars(select(Alert)).all()
        assert len(alerts) == 1
        assert alerts[0].subject_kind == AlertSubject.SYNC
        assert "(the last 3 attempts failed): Beds24 had a problem" in alerts[0].message
        assert "keep working" in (alerts[0].fix or "")
    assert [e.kind for e in events[1]].count(EventKind.ALERT_RAISED) == 1
    assert engine.run_once().ok
    with db.session() as session:
        assert open_alert(session, sync_alert_key("beds24")) is None
        state = session.scalars(select(SyncState)).one()
        assert state.consecutive_failures == 0 and state.last_error is None
    assert EventKind.ALERT_CLEARED in [e.kind for e in events[1]]


@pytest.mark.expect_log(r"scheduled beds\d+ sync crashed", level="ERROR", logger="mangodesk.pms")
def test_run_scheduled_never_raises_even_when_recording_fails(
    engine: SyncEngine,
) -> None:
    # A broken database makes the run and the failure bookkeeping fail; the job survives.
    engine.db = _BrokenDatabase()  # type: ignore[assignment]
    engine.run_scheduled()


class _BrokenDatabase:
    def transaction(self) -> Any:
        raise RuntimeError("disk gone")

    def session(self) -> Any:
        raise RuntimeError("disk gone")


def test_progress_events_are_published_per_page(
    engine: SyncEngine, events: tuple[EventBus, list[Event]]
) -> None:
    result = engine.run_once()
    progress = [e for e in events[1] if e.kind is EventKind.SYNC_PROGRESS]
    assert len(progress) == result.pages
    assert [e.data["pages"] for e in progress] == list(range(1, result.pages + 1))
    assert progress[-1].data["bookings"] == result.bookings
    assert events[1][-1].kind is EventKind.SYNC_FINISHED


def test_door_codes_written_back_show_on_the_beds24_booking(
    engine: SyncEngine, sim: Beds24Simulator
) -> None:
    victim = upcoming_single(sim)
    adapter = engine.adapter
    adapter.write_back_codes(str(victim), ["Room 101: 4821"])
    adapter.write_back_codes(str(victim), ["Room 101: 4821", "Room 102: 7713"])
    items = sim.booking(victim).info_items
    assert [(i["code"], i["text"]) for i in items] == [
        ("MANGODESK_PIN", "Room 101: 4821\nRoom 102: 7713")]
    adapter.write_back_codes(str(victim), [])
    assert sim.booking(victim).info_items == []


@pytest.mark.expect_log(r"beds\d+ sync failed: Beds\d+ no longer accepts", logger="mangodesk.pms")
def test_revoked_access_is_alerted_at_once_with_the_fix(
    engine: SyncEngine, sim: Beds24Simulator, db: Database
) -> None:
    assert engine.run_once().ok
    sim.revoke_refresh_tokens()
    result = engine.run_once()
    assert not result.ok
    with db.session() as session:
        alert = open_alert(session, sync_alert_key("beds24"))
        assert alert is not None
        assert "(the last attempt failed): Beds24 no longer accepts" in alert.message
        assert "invite code" in (alert.fix or "")


def test_connecting_again_makes_the_next_sync_a_full_load(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, secret_store: SecretStore,
    clock: FixedClock,
) -> None:
    assert engine.run_once().ok
    assert not engine.run_once().full
    settings = load_beds24_settings(db)
    assert settings is not None
    connect_beds24(db, secret_store, clock, sim.create_invite_code(), settings)
    assert engine.run_once().full
