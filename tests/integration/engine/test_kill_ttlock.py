"""The kill campaign against the TTLock simulator in its own process: the real service and
the real TTLock adapter, SIGKILLed while codes are being created; right after each restart
exactly the bookings whose calls were in flight are changed or cancelled; then every door
must hold exactly what the bookings say."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mangodesk.app import build_context
from mangodesk.domain.clock import SystemClock
from mangodesk.domain.types import BookingStatus, CodeState, VendorKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.models import (
    AccessCode,
    Booking,
    BookingUnit,
    Connection,
    Lock,
    Property,
    Unit,
)
from mangodesk.store.secrets import SecretStore
from tests.fakes.file_keyring import PATH_VARIABLE, FileKeyring
from tests.fakes.ttlock_process import LOCK_BASE
from tests.fakes.world import World
from tests.integration.engine.test_crash import (
    DEADLINE,
    LEASE_WAIT,
    ROOT,
    assert_locks_exactly_right,
    change_or_cancel,
    child_env,
    in_flight_bookings,
    wait_for,
    wait_settled,
)

ROOMS = 60


class TTLockProcess:
    """The simulator's process: the connect values, and its doors once it is stopped."""

    def __init__(self, tmp_path: Path) -> None:
        self.port_file, self.state_file = tmp_path / "ttlock.port", tmp_path / "ttlock.state"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.ttlock_process", "--port-file",
             str(self.port_file), "--state-file", str(self.state_file), "--locks", str(ROOMS),
             "--latency", "0.15"], cwd=ROOT, env=child_env())
        wait_for(self.port_file.exists, "the TTLock simulator to start")
        self.values: dict[str, str] = json.loads(self.port_file.read_text(encoding="utf-8"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(10)

    def doors(self) -> dict[str, list[list[str]]]:
        """Stop, then every door as the campaign's assertion reads it: PIN and ISO window
        of each code the door itself enforces."""
        self.stop()

        def iso(ms: int) -> str:
            return datetime.fromtimestamp(ms / 1000, UTC).isoformat()

        state = json.loads(self.state_file.read_text(encoding="utf-8"))
        return {lock: [[pin, iso(start), iso(end)] for pin, start, end, on_lock in codes
                       if on_lock] for lock, codes in state.items()}


@pytest.fixture
def ttlock(tmp_path: Path) -> Iterator[TTLockProcess]:
    simulator = TTLockProcess(tmp_path)
    try:
        yield simulator
    finally:
        simulator.stop()


def service_env(keyring_file: Path) -> dict[str, str]:
    env = child_env()
    env.pop("MANGODESK_PROVIDER_PLUGINS", None)
    env["PYTHON_KEYRING_BACKEND"] = "tests.fakes.file_keyring.FileKeyring"
    env[PATH_VARIABLE] = str(keyring_file)
    return env


def start(base: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mangodesk", "--data-dir", str(base), "run"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def hotel(base: Path, values: dict[str, str], keyring_file: Path) -> World:
    """Connect TTLock and link every room through the services, as the desk would."""
    paths = Paths.under(base)
    paths.ensure()
    paths.settings_file.write_text(json.dumps(
        {"tick_seconds": 1, "worker_threads": 8, "per_connection_concurrency": 4}),
        encoding="utf-8")
    context = build_context(paths, Settings(), secrets=SecretStore(FileKeyring(keyring_file)),
                            clock=SystemClock(), actor="desk")
    try:
        assert context.services.connections.connect(
            VendorKind.TTLOCK, {**values, "hotel_timezone": "UTC"}, "TTLock").report.ok
        today = datetime.now(UTC).date()
        with context.db.transaction() as s:
            prop = Property(name="Hotel Kill", timezone="UTC", checkin_time=time(15, 0),
                            checkout_time=time(11, 0), lead_minutes=48 * 60,
                            automation_enabled=False)
            s.add(prop)
            s.flush()
            property_id = prop.id
            connection_id = s.scalars(select(Connection.id)).one()
            rooms = []
            for n in range(1, ROOMS + 1):
                unit = Unit(property_id=prop.id, pms_id=f"{n:03d}", name=f"Room {n:03d}")
                s.add(unit)
                s.flush()
                booking = Booking(property_id=prop.id, pms_id=f"B{n}",
                                  status=BookingStatus.CONFIRMED,
                                  arrival=today + timedelta(days=1),
                                  departure=today + timedelta(days=3), guest_name=f"Guest {n}")
                booking.units = [BookingUnit(unit_id=unit.id)]
                s.add(booking)
                lock_id = s.scalar(select(Lock.id).where(
                    Lock.vendor_lock_id == str(LOCK_BASE + n)))
                assert lock_id is not None
                rooms.append((unit.id, lock_id))
        for unit_id, lock_id in rooms:
            context.services.links.link(unit_id, lock_id=lock_id)
        with context.db.transaction() as s:  # switched on once everything is linked
            switched = s.get(Property, property_id)
            assert switched is not None
            switched.automation_enabled = True
    finally:
        context.close()
    from mangodesk.store.db import Database, sqlite_url

    return World(db=Database(sqlite_url(paths.database_file)), property_id=property_id,
                 connection_id=connection_id)


def active(world: World) -> int:
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(AccessCode)
                            .where(AccessCode.state == CodeState.ACTIVE)) or 0)


@pytest.mark.slow
def test_kill_campaign_on_the_ttlock_simulator(tmp_path: Path, ttlock: TTLockProcess) -> None:
    seed = int(os.environ.get("MANGODESK_KILL_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    keyring_file = tmp_path / "keyring.json"
    base = tmp_path / "profile"
    world = hotel(base, ttlock.values, keyring_file)
    env = service_env(keyring_file)
    log = tmp_path / "service.out"
    changed: dict[int, str] = {}
    for _ in range(3):
        goal = active(world) + rng.randint(2, 10)
        service = start(base, log, env)
        try:
            wait_for(lambda goal=goal: active(world) >= goal, "codes on the doors",  # type: ignore[misc]
                     LEASE_WAIT)
        finally:
            service.send_signal(signal.SIGKILL)
            service.wait(10)
        changed.update(change_or_cancel(
            world, [b for b in in_flight_bookings(world) if b not in changed], rng))
    assert changed, f"seed {seed}: no call was in flight at any kill"
    last = start(base, log, env)
    try:
        wait_settled(world)
    finally:
        subprocess.run([sys.executable, "-m", "mangodesk", "--data-dir", str(base), "run",
                        "--stop"], cwd=ROOT, env=env, check=True, capture_output=True)
        assert last.wait(DEADLINE) == 0, log.read_text(encoding="utf-8")
    assert_locks_exactly_right(world, ttlock.doors(), f"TTLock kill campaign seed {seed}")
    world.db.dispose()
