"""Burst benchmark: 300 codes due at once, a fake TTLock account answering in 150 ms, calls
serialised per gateway over 30 gateways, the engine on its default settings. Prints the wall
time of one ``run_due`` per run and its ratio to the lower bound (calls per gateway ×
latency: the gateways are the only limit TTLock has). Then the same burst against a vendor
that answers at once, where only the engine's own work counts: its wall time and how many
transactions it committed (claims and outcomes share them, see ``engine/batching.py``).
Last, that zero-latency burst on a database whose every commit takes 2 ms more (a shared
PostgreSQL across the office network, a disk slow to sync), with group commit and with one
transaction per claim and per outcome as before it, in the same run.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_burst.py`` (with
``MANGODESK_TEST_DATABASE=postgresql`` on the tests' PostgreSQL server instead of SQLite).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import CodeState
from mangodesk.engine.engine import Engine, EngineConfig
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.vendors.registry import VendorRegistry
from tests import database_switch
from tests.fakes.vendor import FakeVendor, fake_spec
from tests.fakes.world import make_world

CODES = 300
GATEWAYS = 30
LATENCY = 0.150
RUNS = 3
TARGET = 1.20
NOW = datetime(2026, 6, 8, 13, 0, tzinfo=UTC)


COMMIT_DELAY = 0.002


def one_run(latency: float = LATENCY, commit_delay: float = 0.0,
            max_batch: int | None = None) -> tuple[float, float, int, int]:
    """(wall seconds, lower bound seconds, peak calls in flight, commits) of one burst."""
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(Path(tmp))
        gateways: dict[str, str] = {}
        for n in range(CODES):
            room = f"{n:03d}"
            gateway = f"gw-{n % GATEWAYS}"
            world.add_room(room, serial_key=gateway)
            gateways[f"lock-{room}"] = gateway
            world.add_booking(date(2026, 6, 10), date(2026, 6, 12), room)
        fake = FakeVendor(latency=latency, serial_keys=gateways)
        engine = Engine(world.db, VendorRegistry([fake_spec(fake)]),
                        SecretStore(MemoryKeyring()), FixedClock(NOW), EventBus(),
                        replace(EngineConfig(), shutdown_wait=timedelta(seconds=30)))
        if max_batch is not None:
            engine.commits.max_batch = max_batch
        try:
            engine.plan_and_enqueue()
            commits = 0

            def count_commit(_connection: object) -> None:
                nonlocal commits
                commits += 1
                time.sleep(commit_delay)  # the database's round trip and sync, modelled

            event.listen(world.db.engine, "commit", count_commit)
            started = time.perf_counter()
            engine.run_due()
            wall = time.perf_counter() - started
        finally:
            engine.stop(30)
        assert world.count_state(CodeState.ACTIVE) == CODES
        assert max(fake.max_in_flight.values()) == 1, "a gateway saw two calls at once"
        per_gateway = max(sum(1 for g in gateways.values() if g == gw) for gw in
                          set(gateways.values()))
        world.db.dispose()
        return wall, per_gateway * latency, fake.max_total_in_flight, commits


def main() -> None:
    if not database_switch.enabled():
        run_all()
        return
    database_switch.install()
    try:
        run_all()
    finally:
        database_switch.close_pools()
        database_switch.drop(database_switch.existing())
        database_switch.close()


def run_all() -> None:
    defaults = EngineConfig()
    print(f"database: {'PostgreSQL' if database_switch.enabled() else 'SQLite'}")
    print(f"burst: {CODES} codes, {GATEWAYS} gateways, vendor latency {LATENCY * 1000:.0f} ms, "
          f"default settings (worker_threads={defaults.worker_threads}, "
          f"per_connection_concurrency={defaults.per_connection_concurrency})")
    ratios: list[float] = []
    for run in range(1, RUNS + 1):
        wall, bound, peak, commits = one_run()
        ratios.append(wall / bound)
        print(f"  run {run}: wall {wall:5.2f} s, lower bound {bound:.2f} s, ratio "
              f"{wall / bound:4.2f}, peak calls in flight {peak}, commits {commits}")
    print(f"  min {min(ratios):.2f}, median {statistics.median(ratios):.2f}")
    print(f"zero latency: {CODES} codes, {GATEWAYS} gateways, the vendor answering at once")
    walls: list[float] = []
    for run in range(1, RUNS + 1):
        wall, _, _, commits = one_run(0.0)
        walls.append(wall)
        print(f"  run {run}: wall {wall:5.2f} s, commits {commits}")
    print(f"zero-latency wall {statistics.median(walls):.2f} s (median)")
    print(f"zero latency, every commit {COMMIT_DELAY * 1000:.0f} ms slower:")
    for label, max_batch in (("group commit", None), ("a transaction per item", 1)):
        wall, _, _, commits = one_run(0.0, COMMIT_DELAY, max_batch)
        print(f"  {label:>22}: wall {wall:5.2f} s, commits {commits}")
    print(f"ratio {statistics.median(ratios):.2f} (target {TARGET:.2f})")


if __name__ == "__main__":
    main()
