"""A sync whose cost per page does not grow with the table: no statement of a page scans
the booking table, and the simulator does not re-select every booking for each page."""

from __future__ import annotations

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
