"""Sync benchmark: a full Beds24 sync of 20,000 bookings from the simulator over loopback into
a fresh SQLite database, then an incremental sync after 50 changes; then the Beds24 credits
and HTTP requests one incremental poll costs with no changes and with 50 changes (Beds24
allows 100 credits per five minutes by default, shared with every other tool on the account).

For each, the baseline is just fetching and parsing the same pages through the adapter (HTTP,
JSON, mapping to PmsBooking; no database), measured in the same run, so the printed ratio is
the cost of the database work relative to the unavoidable network + parsing work.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_sync.py [bookings] [changes]``
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.pms.beds24 import Beds24Adapter, Beds24Settings
from mangodesk.pms.sync import SyncEngine
from mangodesk.sim.beds24 import Beds24Simulator
from mangodesk.store.db import Database, sqlite_url
from mangodesk.store.secrets import MemoryKeyring, SecretStore

NOW = datetime(2026, 6, 8, 9, 0, tzinfo=UTC)


def fetch_and_parse(adapter: Beds24Adapter, cursor: str | None) -> tuple[float, int, int]:
    adapter.estimate_pages = False  # the baseline reads the pages only
    started = time.perf_counter()
    pages = bookings = 0
    for page in adapter.bookings_changed_since(cursor):
        pages += 1
        bookings += len(page.bookings)
    return time.perf_counter() - started, pages, bookings


def touch_group_rooms(sim: Beds24Simulator, groups: int) -> None:
    """One room of a few booking groups changes (the rest of each group must be fetched)."""
    masters = sorted({b.master_id for b in sim.bookings.values()
                      if b.master_id and b.arrival >= sim.today})[:groups]
    for master in masters:
        room = max(b.id for b in sim.bookings.values() if b.master_id == master)
        sim.set_status(room, sim.booking(room).status)


def main(total: int = 20_000, changes: int = 50) -> None:
    clock = FixedClock(NOW)
    secrets = SecretStore(MemoryKeyring())
    build_started = time.perf_counter()
    sim = Beds24Simulator(date(2026, 6, 8), rooms=200, bookings=total, clock=clock,
                          credit_limit=10**9, record=False)
    print(f"simulator data: {len(sim.bookings)} bookings, "
          f"{sum(r.qty for r in sim.properties[0].rooms)} units "
          f"(built in {time.perf_counter() - build_started:.1f} s)")
    with sim, tempfile.TemporaryDirectory() as tmp:
        settings = Beds24Settings(base_url=sim.base_url, timezone=sim.timezone)
        adapter = Beds24Adapter(secrets=secrets, clock=clock, settings=settings)
        adapter.connect_with_invite_code(sim.create_invite_code())
        # A full load normally reads from a week back; the bench reads every booking so
        # that the 20,000 are all transferred.
        today = sim.today - timedelta(days=400)
        db = Database(sqlite_url(Path(tmp) / "bench.db"))
        db.migrate()
        engine = SyncEngine(db, adapter, clock, EventBus())
        original_query = adapter.booking_query
        adapter.booking_query = (  # type: ignore[method-assign]
            lambda cursor, _today: original_query(cursor, today)
        )
        try:
            base_full, pages, fetched = fetch_and_parse(adapter, None)
            started = time.perf_counter()
            full = engine.run_once()
            full_time = time.perf_counter() - started
            assert full.ok, full.error
            print(f"full sync: {full.bookings} bookings ({full.created} stored) in "
                  f"{full.pages} pages: {full_time:.2f} s; fetch+parse only {base_full:.2f} s "
                  f"({fetched} bookings, {pages} pages); ratio {full_time / base_full:.2f}")

            clock.advance(timedelta(minutes=5))
            changed = sim.mutate_randomly(changes)
            clock.advance(timedelta(minutes=1))
            cursor = full.cursor
            base_incr, pages, fetched = fetch_and_parse(adapter, cursor)
            started = time.perf_counter()
            incremental = engine.run_once()
            incr_time = time.perf_counter() - started
            assert incremental.ok, incremental.error
            print(f"incremental sync after {len(changed)} changes: {incremental.bookings} "
                  f"bookings read, {incremental.updated} updated: {incr_time * 1000:.0f} ms; "
                  f"fetch+parse only {base_incr * 1000:.0f} ms; "
                  f"ratio {incr_time / base_incr:.2f}")
            print(f"HTTP requests served by the simulator: {sim.request_count}")
            clock.advance(timedelta(minutes=15))
            assert engine.run_once().ok  # moves the cursor past the changes above
            for label, count in (("no changes", 0), (f"{changes} changes", changes)):
                # Past the 10-minute overlap, so earlier changes are not read again.
                clock.advance(timedelta(minutes=15))
                if count:
                    sim.mutate_randomly(count, seed=23)
                    touch_group_rooms(sim, 5)
                clock.advance(timedelta(minutes=1))
                credits, requests = sim.credits_spent, sim.request_count
                poll = engine.run_once()
                assert poll.ok, poll.error
                print(f"incremental poll, {label}: {sim.credits_spent - credits} credits, "
                      f"{sim.request_count - requests} requests, {poll.bookings} bookings "
                      f"read, {poll.updated} updated")
        finally:
            engine.close()
            db.dispose()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
