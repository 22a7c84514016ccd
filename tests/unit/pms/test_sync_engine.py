"""SyncEngine rules with a scripted adapter (no HTTP): what is stored, what is never touched,
and when the cursor moves."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import BookingStatus, UnitKind
from mangodesk.pms.base import BookingPage, PmsBooking, PmsError, PmsProperty, PmsUnit
from mangodesk.pms.connect import load_beds24_settings
from mangodesk.pms.sync import SyncEngine
from mangodesk.store.db import Database, sqlite_url
from mangodesk.store.models import Booking, SyncState, Unit


class ScriptedAdapter:
    """Serves the properties and pages a test sets; can fail after a given page."""

    name = "scripted"

    def __init__(self) -> None:
        self.properties: list[PmsProperty] = [
            PmsProperty("P1", "Hotel", "Europe/Berlin", units=(
                PmsUnit("R1", "101", UnitKind.ROOM), PmsUnit("R2", "102", UnitKind.ROOM),
                PmsUnit("D", "Dorm", UnitKind.ROOM), PmsUnit("D-1", "Bed 1", UnitKind.BED, "D"),
            ))
        ]
        self.pages: list[list[PmsBooking]] = []
        self.fail_at_page: int | None = None
        self.cursors_asked: list[str | None] = []
        self.closed = False

    def list_properties(self) -> list[PmsProperty]:
        return self.properties

    def bookings_changed_since(
        self, cursor: str | None, resume: dict[str, str] | None = None
    ) -> Iterator[BookingPage]:
        self.cursors_asked.append(cursor)
        for number, bookings in enumerate(self.pages, start=1):
            if number == self.fail_at_page:
                raise PmsError("Beds24 had a problem answering (bookings, HTTP 500).")
            last = number == len(self.pages)
            yield BookingPage(bookings, number, has_more=not last,
                              cursor=f"cursor-after-{len(self.pages)}" if last else None)

    def bookings_by_id(self, pms_ids: Sequence[str]) -> list[PmsBooking]:
        latest = {b.pms_id: b for page in self.pages for b in page}
        return [latest[i] for i in pms_ids if i in latest]

    def write_back_codes(self, booking_pms_id: str, lines: Sequence[str]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True


def pms_booking(pms_id: str, *units: str, status: BookingStatus = BookingStatus.CONFIRMED,
                modified: datetime | None = None, prop: str = "P1",
                departure: date = date(2026, 3, 14)) -> PmsBooking:
    return PmsBooking(pms_id, prop, status, date(2026, 3, 12), departure, units,
                      guest_name="Anna Hansen", modified_at=modified)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(sqlite_url(tmp_path / "sync.db"))
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def adapter() -> ScriptedAdapter:
    return ScriptedAdapter()


@pytest.fixture
def engine(db: Database, adapter: ScriptedAdapter, clock: FixedClock) -> SyncEngine:
    return SyncEngine(db, adapter, clock, EventBus(), alert_after_failures=2)


def booking_row(db: Database, pms_id: str) -> tuple[str, date, list[str]]:
    with db.session() as session:
        row = session.scalars(select(Booking).where(Booking.pms_id == pms_id)).one()
        units = sorted(session.get(Unit, link.unit_id).pms_id or "" for link in row.units)  # type: ignore[union-attr]
        return row.status, row.departure, units


def cursor(db: Database) -> str | None:
    with db.session() as session:
        return session.scalar(select(SyncState.cursor))


def test_units_get_their_parent_and_bookings_their_units(
    engine: SyncEngine, adapter: ScriptedAdapter, db: Database
) -> None:
    adapter.pages = [[pms_booking("B1", "R1", "R2"), pms_booking("B2", "D-1")]]
    result = engine.run_once()
    assert result.ok and (result.created, result.units_added) == (2, 4)
    assert booking_row(db, "B1") == ("confirmed", date(2026, 3, 14), ["R1", "R2"])
    with db.session() as session:
        bed = session.scalars(select(Unit).where(Unit.pms_id == "D-1")).one()
        dorm = session.scalars(select(Unit).where(Unit.pms_id == "D")).one()
        assert bed.parent_id == dorm.id and bed.kind == UnitKind.BED


def test_a_first_load_finds_what_its_earlier_pages_stored(
    engine: SyncEngine, adapter: ScriptedAdapter, db: Database, clock: FixedClock
) -> None:
    """Into an empty database a page looks up only what the load itself inserted: a booking
    read again on a later page (the list shifted) is updated, and a room that joined a
    group gives the group its unit, exactly as when the rows were there before."""
    later = clock.now()
    group = PmsBooking("B1", "P1", BookingStatus.CONFIRMED, date(2026, 3, 12),
                       date(2026, 3, 14), ("R1", "R2"), member_pms_ids=("B1", "B2"))
    adapter.pages = [
        [pms_booking("B2", "R2"), pms_booking("B3", "D-1")],
        [group, pms_booking("B3", "D-1", departure=date(2026, 3, 16), modified=later)],
    ]
    result = engine.run_once()
    assert result.ok and result.created == 3
    assert booking_row(db, "B1") == ("confirmed", date(2026, 3, 14), ["R1", "R2"])
    assert booking_row(db, "B2")[2] == []
    assert booking_row(db, "B3") == ("confirmed", date(2026, 3, 16), ["D-1"])


@pytest.mark.expect_log(r"scripted sync failed: Beds\d+ had a problem", logger="mangodesk.pms")
def test_the_cursor_is_stored_only_after_the_last_page(
    engine: SyncEngine, adapter: ScriptedAdapter, db: Database, clock: FixedClock
) -> None:
    adapter.pages = [[pms_booking("B1", "R1")], [pms_booking("B2", "R2")],
                     [pms_booking("B3", "R1")]]
    adapter.fail_at_page = 3
    result = engine.run_once()
    assert not result.ok and result.pages == 2
    assert cursor(db) is None  # pages 1–2 are stored, but the position is not advanced
    adapter.fail_at_page = None
    assert engine.run_once().ok
    assert adapter.cursors_asked == [None, None]
    assert cursor(db) == "cursor-after-3"
    clock.advance(timedelta(minutes=5))
    engine.run_once()
    assert adapter.cursors_asked[-1] == "cursor-after-3"


def test_an_older_copy_of_a_booking_never_overwrites_a_newer_one(
    engine: SyncEngine, adapter: ScriptedAdapter, db: Database, clock: FixedClock
) -> None:
    newer, older = clock.now(), clock.now() - timedelta(hours=1)
    adapter.pages = [[pms_booking("B1", "R1", status=BookingStatus.CANCELLED, modified=newer)]]
    engine.run_once()
    adapter.pages = [[pms_booking("B1", "R1", modified=older)]]
    result = engine.run_once()
    assert result.skipped == 1 and result.updated == 0
    assert booking_row(db, "B1")[0] == "cancelled"


def test_a_booking_moved_to_unallocated_gives_its_room_up_like_a_room_move(
    engine: SyncEngine, adapter: ScriptedAdapter, db: Database
) -> None:
    adapter.pages = [[pms_booking("B1", "R1")]]
    engine.run_once()
    adapter.pages = [[pms_booking("B1", departure=date(2026, 3, 15))]]
    assert engine.run_once().updated == 1
    assert booking_row(db, "B1") == ("confirmed", date(2026, 3, 15), [])


def test_a_booking_naming_a_room_not_read_yet_keeps_its_room(
    engine: SyncEngine, adapter: ScriptedAdapter, db: Database
) -> None:
    adapter.pages = [[pms_booking("B1", "R1")]]
    engine.run_once()
    adapter.pages = [[pms_booking("B1", "R9")]]
    engine.run_once()
    assert booking_row(db, "B1")[2] == ["R1"]


def test_a_room_move_replaces_the_unit(
    engine: SyncEngine, adapter: ScriptedAdapter, db: Database
) -> None:
    adapter.pages = [[pms_booking("B1", "R1")]]
    engine.run_once()
    adapter.pages = [[pms_booking("B1", "R2")]]
    assert engine.run_once().updated == 1
    assert booking_row(db, "B1")[2] == ["R2"]


def test_bookings_of_properties_not_synced_are_skipped(
    engine: SyncEngine, adapter: ScriptedAdapter, db: Database
) -> None:
    adapter.pages = [[pms_booking("B1", "R1", prop="OTHER"), pms_booking("B2", "R1")]]
    result = engine.run_once()
    assert (result.created, result.skipped) == (1, 1)


def test_an_empty_unit_list_deactivates_nothing_and_a_missing_unit_only_deactivates(
    engine: SyncEngine, adapter: ScriptedAdapter, db: Database
) -> None:
    adapter.pages = [[pms_booking("B1", "R2")]]
    engine.run_once()
    original = adapter.properties[0]
    adapter.properties = [PmsProperty("P1", "Hotel", "Europe/Berlin", units=())]
    assert engine.run_once(full=True).units_deactivated == 0
    adapter.properties = [PmsProperty("P1", "Hotel", "Europe/Berlin",
                                      units=tuple(u for u in original.units if u.pms_id != "R2"))]
    assert engine.run_once(full=True).units_deactivated == 1
    with db.session() as session:
        r2 = session.scalars(select(Unit).where(Unit.pms_id == "R2")).one()
        assert r2.active is False
    assert booking_row(db, "B1")[2] == ["R2"]  # the booking still points at it
    adapter.properties = [original]
    assert engine.run_once(full=True).ok
    with db.session() as session:
        assert session.scalars(select(Unit).where(Unit.pms_id == "R2")).one().active is True


@pytest.mark.expect_log(
    r"scripted sync failed: Scripted listed no properties",
    logger="mangodesk.pms")
def test_no_properties_at_all_is_a_failure_not_an_empty_hotel(
    engine: SyncEngine, adapter: ScriptedAdapter, db: Database
) -> None:
    adapter.properties = []
    result = engine.run_once()
    assert not result.ok and "listed no properties" in (result.error or "")


def test_an_overlapping_run_is_refused(engine: SyncEngine) -> None:
    assert engine._running.acquire()
    try:
        result = engine.run_once()
    finally:
        engine._running.release()
    assert not result.ok and result.error == "A sync is already running."


def test_close_closes_the_adapter(engine: SyncEngine, adapter: ScriptedAdapter) -> None:
    engine.close()
    assert adapter.closed


def test_damaged_connection_settings_are_a_clear_error(db: Database) -> None:
    with db.transaction() as session:
        session.add(SyncState(source="beds24", settings={
            "base_url": "https://beds24.com/api/v2", "property_ids": ["not a number"]}))
    with pytest.raises(PmsError, match="settings are damaged"):
        load_beds24_settings(db)
