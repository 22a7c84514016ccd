"""Sync benchmark: a full Beds24 sync of 20,000 bookings from the simulator over loopback into
a fresh SQLite database, then an incremental sync after 50 changes; then the Beds24 credits
and HTTP requests one incremental poll costs with no changes and with 50 changes (Beds24
allows 100 credits per five minutes by default, shared with every other tool on the account).

The full sync's baseline is a bare httpx loop that sends the same /bookings requests the sync
sent (recorded as it ran) and parses the replies to PmsBooking: no adapter, no database. The
full sync runs ``runs`` times (fresh database each) and each run is followed by its replay;
the ratio printed last is the fastest sync over the fastest replay (the machine is shared, so
single timings are noisy). The incremental sync's baseline is the same changes read through
the adapter. The simulator runs in a separate process (``--serve``, driven over its stdin),
so its own work does not count in either figure.

Then the growth: a full sync of ``bookings × growth`` bookings (fresh simulator and
database), to show the cost per booking stays flat (linear time).

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_sync.py [bookings] [changes] [growth] [runs]``
(growth 1 skips the large sync).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.pms.beds24 import Beds24Adapter, Beds24Settings
from mangodesk.pms.beds24.parsing import read_bookings
from mangodesk.pms.sync import SyncEngine
from mangodesk.sim.beds24 import Beds24Simulator
from mangodesk.store.db import Database, sqlite_url
from mangodesk.store.secrets import MemoryKeyring, SecretStore

NOW = datetime(2026, 6, 8, 9, 0, tzinfo=UTC)


def fetch_and_parse(adapter: Beds24Adapter, cursor: str | None) -> tuple[float, int, int]:
    """The incremental baseline: the same changes read through the adapter, no database."""
    adapter.estimate_pages = False  # the baseline reads the pages only
    started = time.perf_counter()
    pages = bookings = 0
    for page in adapter.bookings_changed_since(cursor):
        pages += 1
        bookings += len(page.bookings)
    return time.perf_counter() - started, pages, bookings


class RecordedReads:
    """The /bookings requests a sync sent (its pages and its paging probes), replayed with a
    bare httpx loop: GET, JSON, map to PmsBooking; no adapter, no database."""

    def __init__(self, adapter: Beds24Adapter) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._hooks = adapter.client._client.event_hooks["request"]
        self._hooks.append(self._record)

    def _record(self, request: httpx.Request) -> None:
        if request.url.path.endswith("/bookings") and request.method == "GET":
            self.requests.append((str(request.url), {"token": request.headers["token"]}))

    def stop(self) -> None:
        self._hooks.remove(self._record)

    def replay(self) -> tuple[float, float, int]:
        """Seconds taken, CPU seconds of this process, bookings parsed."""
        with httpx.Client(headers={"Accept": "application/json"}) as client:
            started, cpu = time.perf_counter(), time.process_time()
            bookings = 0
            for url, headers in self.requests:
                data = client.get(url, headers=headers).json()["data"]
                bookings += len(read_bookings(data)[0])
            return time.perf_counter() - started, time.process_time() - cpu, bookings


class RemoteSimulator:
    """The Beds24 simulator in a child process; the bench's clock moves are sent to it."""

    def __init__(self, total: int) -> None:
        self._child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(total)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        hello = self.call("hello")
        self.base_url: str = hello["base_url"]
        self.timezone: str = hello["timezone"]
        self.today = date.fromisoformat(hello["today"])
        self.bookings: int = hello["bookings"]
        self.units: int = hello["units"]

    def call(self, *command: object) -> dict[str, Any]:
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.write(" ".join(str(part) for part in command) + "\n")
        self._child.stdin.flush()
        reply: dict[str, Any] = json.loads(self._child.stdout.readline())
        return reply

    def close(self) -> None:
        self.call("quit")
        self._child.wait(timeout=30)


def serve(total: int) -> None:
    """The child: build the simulator, then answer one JSON line per command line."""
    clock = FixedClock(NOW)
    sim = Beds24Simulator(date(2026, 6, 8), rooms=200, bookings=total, clock=clock,
                          credit_limit=10**9, record=False)
    with sim:
        for line in sys.stdin:
            command, *args = line.split()
            reply: dict[str, Any] = {}
            if command == "hello":
                reply = {"base_url": sim.base_url, "timezone": sim.timezone,
                         "today": sim.today.isoformat(), "bookings": len(sim.bookings),
                         "units": sum(r.qty for r in sim.properties[0].rooms)}
            elif command == "invite":
                reply = {"code": sim.create_invite_code()}
            elif command == "advance":
                clock.advance(timedelta(minutes=int(args[0])))
            elif command == "mutate":
                reply = {"changed": sim.mutate_randomly(int(args[0]), seed=int(args[1]))}
            elif command == "touch_groups":
                touch_group_rooms(sim, int(args[0]))
            elif command == "counts":
                reply = {"requests": sim.request_count, "credits": sim.credits_spent}
            print(json.dumps(reply), flush=True)
            if command == "quit":
                return


def touch_group_rooms(sim: Beds24Simulator, groups: int) -> None:
    """One room of a few booking groups changes (the rest of each group must be fetched)."""
    masters = sorted({b.master_id for b in sim.bookings.values()
                      if b.master_id and b.arrival >= sim.today})[:groups]
    for master in masters:
        room = max(b.id for b in sim.bookings.values() if b.master_id == master)
        sim.set_status(room, sim.booking(room).status)


def full_sync(total: int, clock: FixedClock, secrets: SecretStore, tmp: str, runs: int,
              ) -> tuple[RemoteSimulator, SyncEngine, Database, Beds24Adapter, Any]:
    """A fresh simulator; ``runs`` full syncs into fresh databases, each timed against the
    bare replay of its own requests. Returns the last one's engine and database."""
    build_started = time.perf_counter()
    sim = RemoteSimulator(total)
    print(f"simulator data: {sim.bookings} bookings, {sim.units} units "
          f"(built in {time.perf_counter() - build_started:.1f} s, separate process)")
    settings = Beds24Settings(base_url=sim.base_url, timezone=sim.timezone)
    adapter = Beds24Adapter(secrets=secrets, clock=clock, settings=settings)
    adapter.connect_with_invite_code(sim.call("invite")["code"])
    # A full load normally reads from a week back; the bench reads every booking so
    # that all of them are transferred.
    today = sim.today - timedelta(days=400)
    original_query = adapter.booking_query
    adapter.booking_query = (  # type: ignore[method-assign]
        lambda cursor, _today: original_query(cursor, today)
    )
    times: list[float] = []
    floors: list[float] = []
    cpu_ratios: list[float] = []
    cpu_times: list[float] = []
    for run in range(1, runs + 1):
        db = Database(sqlite_url(Path(tmp) / f"bench-{total}-{run}.db"))
        db.migrate()
        engine = SyncEngine(db, adapter, clock, EventBus())
        reads = RecordedReads(adapter)
        started, cpu = time.perf_counter(), time.process_time()
        full = engine.run_once()
        times.append(time.perf_counter() - started)
        sync_cpu = time.process_time() - cpu
        reads.stop()
        assert full.ok, full.error
        floor, floor_cpu, fetched = reads.replay()
        floors.append(floor)
        cpu_ratios.append(sync_cpu / floor_cpu)
        cpu_times.append(sync_cpu)
        print(f"  run {run}: full sync {full.bookings} bookings ({full.created} stored) in "
              f"{full.pages} pages, {len(reads.requests)} requests: {times[-1]:.2f} s "
              f"(CPU {sync_cpu:.2f} s); bare fetch+parse {floor:.2f} s (CPU {floor_cpu:.2f} s, "
              f"{fetched} bookings); ratio {times[-1] / floor:.2f}")
        if run < runs:
            db.dispose()
    best, floor = min(times), min(floors)
    print(f"full sync of {full.bookings} bookings: min {best:.2f} s, median "
          f"{statistics.median(times):.2f} s; bare fetch+parse min {floor:.2f} s, median "
          f"{statistics.median(floors):.2f} s; ratio of minima {best / floor:.2f}; "
          f"{best / max(full.bookings, 1) * 1e6:.0f} µs per booking; CPU time of this "
          f"process (no credit for overlap) min ratio {min(cpu_ratios):.2f}")
    return sim, engine, db, adapter, (full, best, floor, min(cpu_times))


def main(total: int = 20_000, changes: int = 50, growth: int = 10, runs: int = 3) -> None:
    clock = FixedClock(NOW)
    secrets = SecretStore(MemoryKeyring())
    with tempfile.TemporaryDirectory() as tmp:
        sim, engine, db, adapter, (full, full_time, base_full, full_cpu) = full_sync(
            total, clock, secrets, tmp, runs)
        try:
            clock.advance(timedelta(minutes=5))
            sim.call("advance", 5)
            changed = sim.call("mutate", changes, 11)["changed"]
            clock.advance(timedelta(minutes=1))
            sim.call("advance", 1)
            cursor = full.cursor
            base_incr, _pages, _fetched = fetch_and_parse(adapter, cursor)
            started = time.perf_counter()
            incremental = engine.run_once()
            incr_time = time.perf_counter() - started
            assert incremental.ok, incremental.error
            print(f"incremental sync after {len(changed)} changes: {incremental.bookings} "
                  f"bookings read, {incremental.updated} updated: {incr_time * 1000:.0f} ms; "
                  f"fetch+parse only {base_incr * 1000:.0f} ms; "
                  f"ratio {incr_time / base_incr:.2f}")
            print(f"HTTP requests served by the simulator: {sim.call('counts')['requests']}")
            clock.advance(timedelta(minutes=15))
            sim.call("advance", 15)
            assert engine.run_once().ok  # moves the cursor past the changes above
            for label, count in (("no changes", 0), (f"{changes} changes", changes)):
                # Past the 10-minute overlap, so earlier changes are not read again.
                clock.advance(timedelta(minutes=15))
                sim.call("advance", 15)
                if count:
                    sim.call("mutate", count, 23)
                    sim.call("touch_groups", 5)
                clock.advance(timedelta(minutes=1))
                sim.call("advance", 1)
                before = sim.call("counts")
                poll = engine.run_once()
                assert poll.ok, poll.error
                after = sim.call("counts")
                print(f"incremental poll, {label}: {after['credits'] - before['credits']} "
                      f"credits, {after['requests'] - before['requests']} requests, "
                      f"{poll.bookings} bookings read, {poll.updated} updated")
        finally:
            engine.close()
            db.dispose()
            sim.close()
        ratio = full_time / base_full
        if growth > 1:
            big_sim, big_engine, big_db, _adapter, (big, big_time, big_base, big_cpu) = full_sync(
                total * growth, clock, secrets, tmp, max(1, runs - 1))
            big_engine.close()
            big_db.dispose()
            big_sim.close()
            per_small = full_time / max(full.bookings, 1)
            per_big = big_time / max(big.bookings, 1)
            print(f"growth: {big.bookings} bookings took {big_time / full_time:.1f}x the time "
                  f"of {full.bookings} ({big.bookings / max(full.bookings, 1):.1f}x the "
                  f"bookings); per booking {per_big / per_small:.2f}x (1.00 = linear); "
                  f"ratio to its bare fetch+parse {big_time / big_base:.2f}; CPU per booking "
                  f"{big_cpu / big.bookings / (full_cpu / max(full.bookings, 1)):.2f}x")
        print(f"ratio {ratio:.2f} (target 1.50)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
    else:
        main(*[int(a) for a in sys.argv[1:5]])
