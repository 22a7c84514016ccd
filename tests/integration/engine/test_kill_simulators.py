"""The kill campaign against vendor simulators (TTLock, Inlet, Flexipass, TESA Smartair) in
their own process: the real service and the real adapter, SIGKILLed while codes are being created;
right after each restart exactly the bookings whose calls were in flight are changed or
cancelled; then every door must hold exactly what the bookings say."""

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
from tests.fakes.vendor_process import lock_id
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


class VendorProcess:
    """The simulator's process: the connect values, and its doors once it is stopped."""

    def __init__(self, tmp_path: Path, vendor: str) -> None:
        self.vendor = vendor
        self.port_file, self.state_file = tmp_path / "vendor.port", tmp_path / "vendor.state"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.vendor_process", "--vendor", vendor,
             "--port-file", str(self.port_file), "--state-file", str(self.state_file),
             "--locks", str(ROOMS), "--latency", "0.15"], cwd=ROOT, env=child_env())
        wait_for(self.port_file.exists, f"the {vendor} simulator to start")
        self.values: dict[str, str] = json.loads(self.port_file.read_text(encoding="utf-8"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(10)

    def doors(self) -> dict[str, list[list[str]]]:
        """Stop, then every door as the campaign's assertion reads it: PIN and ISO window
        of each code the door itself enforces."""
        self.stop()
        doors: dict[str, list[list[str]]] = json.loads(
            self.state_file.read_text(encoding="utf-8"))
        return doors


@pytest.fixture(params=["ttlock", "inlet", "flexipass", "smartair"])
def simulator(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[VendorProcess]:
    running = VendorProcess(tmp_path, str(request.param))
    try:
        yield running
    finally:
        running.stop()


def service_env(keyring_file: Path) -> dict[str, str]:
    env = child_env(fake_provider=False)
    env["PYTHON_KEYRING_BACKEND"] = "tests.fakes.file_keyring.FileKeyring"
    env[PATH_VARIABLE] = str(keyring_file)
    return env


def start(base: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mangodesk", "--data-dir", str(base), "run"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def hotel(base: Path, simulator: VendorProcess, keyring_file: Path) -> World:
    """Connect the vendor and link every room through the services, as the desk would."""
    paths = Paths.under(base)
    paths.ensure()
    paths.settings_file.write_text(json.dumps(
        {"tick_seconds": 1, "worker_threads": 8, "per_connection_concurrency": 4}),
        encoding="utf-8")
    context = build_context(paths, Settings(), secrets=SecretStore(FileKeyring(keyring_file)),
                            clock=SystemClock(), actor="desk")
    try:
        assert context.services.connections.connect(
            VendorKind(simulator.vendor), simulator.values, "Locks").report.ok
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
                                  departure=today + timedelta(days=3), guest_name=f"Guest {n}",
                                  guest_email=f"guest{n}@example.org")
                booking.units = [BookingUnit(unit_id=unit.id)]
                s.add(booking)
                lock = s.scalar(select(Lock.id).where(
                    Lock.vendor_lock_id == lock_id(simulator.vendor, n)))
                assert lock is not None
                rooms.append((unit.id, lock))
        for unit_id, linked_lock in rooms:
            context.services.links.link(unit_id, lock_id=linked_lock)
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
def test_kill_campaign_on_a_vendor_simulator(tmp_path: Path, simulator: VendorProcess) -> None:
    seed = int(os.environ.get("MANGODESK_KILL_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    keyring_file = tmp_path / "keyring.json"
    base = tmp_path / "profile"
    world = hotel(base, simulator, keyring_file)
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
    note = f"{simulator.vendor} kill campaign seed {seed}"
    assert changed, f"{note}: no call was in flight at any kill"
    last = start(base, log, env)
    try:
        wait_settled(world)
    finally:
        subprocess.run([sys.executable, "-m", "mangodesk", "--data-dir", str(base), "run",
                        "--stop"], cwd=ROOT, env=env, check=True, capture_output=True)
        assert last.wait(DEADLINE) == 0, log.read_text(encoding="utf-8")
    assert_locks_exactly_right(world, simulator.doors(), note,
                               live_start_is_vendor_now=simulator.vendor == "smartair")
    world.db.dispose()
