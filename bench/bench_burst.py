"""Burst benchmark: 300 codes due at once, a fake vendor answering in 150 ms, calls serialised
per gateway over 30 gateways. Prints the wall time of one ``run_due`` and its ratio to the
lower bound (max calls per gateway × latency), for a few pool configurations.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_burst.py``
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
from mangodesk.domain.types import CodeState
from mangodesk.engine.engine import Engine, EngineConfig
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.vendor import FakeVendor, fake_spec
from tests.fakes.world import make_world

CODES = 300
GATEWAYS = 30
LATENCY = 0.150
NOW = datetime(2026, 6, 8, 13, 0, tzinfo=UTC)


def one_run(workers: int, per_connection: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(Path(tmp))
        gateways: dict[str, str] = {}
        for n in range(CODES):
            room = f"{n:03d}"
            gateway = f"gw-{n % GATEWAYS}"
            world.add_room(room, serial_key=gateway)
            gateways[f"lock-{room}"] = gateway
            world.add_booking(date(2026, 6, 10), date(2026, 6, 12), room)
        fake = FakeVendor(latency=LATENCY, serial_keys=gateways)
        engine = Engine(world.db, VendorRegistry([fake_spec(fake)]),
                        SecretStore(MemoryKeyring()), FixedClock(NOW), EventBus(),
                        EngineConfig(worker_threads=workers,
                                     per_connection_concurrency=per_connection,
                                     shutdown_wait=timedelta(seconds=30)))
        try:
            engine.plan_and_enqueue()
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
        return wall, per_gateway * LATENCY, fake.max_total_in_flight


def main() -> None:
    print(f"burst: {CODES} codes, {GATEWAYS} gateways, vendor latency {LATENCY * 1000:.0f} ms")
    for workers, per_connection in ((32, 30), (16, 16), (8, 4)):
        wall, bound, peak = one_run(workers, per_connection)
        # With fewer slots than gateways the pool, not the gateways, is the bottleneck.
        slots = min(workers, per_connection, GATEWAYS)
        pool_bound = max(bound, -(-CODES // slots) * LATENCY)
        print(f"  workers={workers:>2} per-connection={per_connection:>2}: wall {wall:6.2f} s, "
              f"lower bound {bound:.2f} s, ratio {wall / bound:5.2f} "
              f"(vs {pool_bound:.2f} s possible with {slots} slots: {wall / pool_bound:4.2f}), "
              f"peak calls in flight {peak}")


if __name__ == "__main__":
    main()
