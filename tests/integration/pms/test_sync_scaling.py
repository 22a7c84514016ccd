"""A sync whose cost per page does not grow with the table: no statement of a page scans
the booking table, and the simulator does not re-select every booking for each page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from mangodesk.sim.beds24 import Beds24Simulator
from mangodesk.store.db import Database
from mangodesk.store.models import Booking
from tests.integration.pms.conftest import EngineFactory


@pytest.mark.sqlite_only("counts table scans with SQLite's EXPLAIN QUERY PLAN")
def test_a_full_load_scans_the_booking_table_a_fixed_number_of_times(
    sim: Beds24Simulator, db: Database, make_engine: EngineFactory
) -> None:
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append(" | ".join(str(row[3]) for row in rows))

    engine = make_engine()
    event.listen(db.engine, "after_cursor_execute", explain)
    try:
        result = engine.run_once(full=True)
    finally:
        event.remove(db.engine, "after_cursor_execute", explain)
    assert result.ok, result.error
    assert result.pages >= 4  # enough pages for a per-page scan to show
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == result.created
    scans = [plan for plan in plans if "SCAN booking" in plan]
    # Once for the stored groups (per run) and once for the final count, whatever the pages.
    assert len(scans) <= 2, scans


def test_the_simulator_selects_a_paged_read_once(sim: Beds24Simulator) -> None:
    """Page 2 onwards of one read come from that read's selection, not a new sort of every
    booking; a change between two pages is still seen by the next page."""
    sorted_calls = 0
    original = sim.bookings

    class CountingDict(dict[int, Any]):
        def values(self) -> Any:
            nonlocal sorted_calls
            sorted_calls += 1
            return super().values()

    sim.bookings = CountingDict(original)
    query = (("modifiedFrom", "2020-01-01T00:00:00"), ("includeBookingGroup", "true"))
    first = sim._bookings((*query, ("page", "1")), "/bookings", personal=False)
    after_first = sorted_calls
    second = sim._bookings((*query, ("page", "2")), "/bookings", personal=False)
    assert sorted_calls == after_first  # page 2 did not go through every booking again
    assert first["pages"]["nextPageExists"] and second["data"]
    assert {b["id"] for b in first["data"]}.isdisjoint({b["id"] for b in second["data"]})
    changed = second["data"][0]["id"]
    booking = sim.booking(changed)
    later = booking.departure + timedelta(days=1)
    sim.change_dates(changed, booking.arrival, later)
    third = sim._bookings((*query, ("page", "2")), "/bookings", personal=False)
    assert sorted_calls > after_first  # the change made the next page select again
    assert third["data"][0]["departure"] == later.isoformat()


def _booking_writes(db: Database) -> tuple[list[str], Callable[[], None]]:
    """The INSERT, UPDATE and DELETE statements sent for booking rows and their units."""
    writes: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        words = statement.split()
        if words and words[0].upper() in ("INSERT", "UPDATE", "DELETE") and any(
                table in words[:4] for table in ("booking", "booking_unit")):
            writes.append(statement)

    event.listen(db.engine, "after_cursor_execute", note)
    return writes, lambda: event.remove(db.engine, "after_cursor_execute", note)


def test_a_full_load_of_unchanged_bookings_writes_no_booking_row(
    sim: Beds24Simulator, db: Database, make_engine: EngineFactory
) -> None:
    """Stored bookings are compared with the PMS copy as stored values: the same booking
    read again is not written (a value converted differently than stored would be)."""
    engine = make_engine()
    first = engine.run_once(full=True)
    assert first.ok and first.created > 0
    writes, stop = _booking_writes(db)
    try:
        again = engine.run_once(full=True)
    finally:
        stop()
    assert again.ok and again.bookings == first.bookings
    assert (again.created, again.updated) == (0, 0)
    assert writes == []


def test_a_full_load_commits_its_pages_in_batches(
    sim: Beds24Simulator, db: Database, make_engine: EngineFactory
) -> None:
    """Not a commit per page: pages go in together with the resume point of the last one."""
    sim.page_size = 5
    engine = make_engine()
    engine._monotonic = lambda: 0.0  # no batch grows old: only its size commits it
    commits = 0

    def count(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(db.engine, "commit", count)
    try:
        result = engine.run_once(full=True)
    finally:
        event.remove(db.engine, "commit", count)
    assert result.ok and result.pages >= 8
    # The run's start, its pages, the full-load check, its end (and the property list).
    assert commits <= 5, (commits, result.pages)


@pytest.mark.expect_log(r"beds\d+ sync failed$", level="ERROR",
                        logger="mangodesk.pms")
def test_a_failure_in_the_middle_of_a_batch_redoes_its_pages_once(
    sim: Beds24Simulator, db: Database, make_engine: EngineFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pages applied since the last commit are rolled back with their resume point: the
    next run reads them again, and every booking is stored once."""
    sim.page_size = 5
    engine = make_engine()
    engine._monotonic = lambda: 0.0
    applied = 0
    apply = engine.pages.apply

    def fail_on_page_four(*args: Any) -> None:
        nonlocal applied
        applied += 1
        if applied == 4:
            raise RuntimeError("the disk went away")
        apply(*args)

    with monkeypatch.context() as patch:
        patch.setattr(engine.pages, "apply", fail_on_page_four)
        assert not engine.run_once(full=True).ok
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 0
    result = engine.run_once(full=True)
    assert result.ok, result.error
    window = sim.today - timedelta(days=7)
    expected = {str(b.master_id or b.id) for b in sim.bookings.values()
                if b.departure >= window}
    with db.session() as session:
        stored = list(session.scalars(select(Booking.pms_id)))
    assert sorted(stored) == sorted(expected)
