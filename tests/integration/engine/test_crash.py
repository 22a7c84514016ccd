"""The crash tests: the headless service is SIGKILLed while issuing codes against a fake lock
provider in another process; after a restart every code exists exactly once. The kill
campaign then changes or cancels exactly the bookings whose calls were in flight, and a
standby service takes over from a killed leader; the lock must end up exactly right.

Process coordination polls (short waits until a condition or a generous deadline); nothing
asserts on durations.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from mangodesk.domain.types import BookingStatus, CodeState, OperationStatus
from mangodesk.paths import Paths
from mangodesk.store.db import sqlite_url
from mangodesk.store.models import AccessCode, Booking, BookingUnit, Lock, Operation, UnitLink
from tests.fakes.plugins import FAKE_HTTP_VENDOR_SITE
from tests.fakes.world import World, make_world

ROOT = Path(__file__).resolve().parents[3]
CODES = 200
DEADLINE = 45.0


def wait_for(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def child_env(*, fake_provider: bool = True) -> dict[str, str]:
    """The environment of a child process; with ``fake_provider`` the fake HTTP lock
    provider is installed as a plug-in (it takes TTLock's place)."""
    env = dict(os.environ)
    site = [str(FAKE_HTTP_VENDOR_SITE)] if fake_provider else []
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *site, env.get("PYTHONPATH", "")])
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"  # never the OS keyring
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


@pytest.fixture
def vendor_latency() -> float:
    """Seconds the fake server holds each answer (a test may parametrize it)."""
    return 0.05


@pytest.fixture
def vendor_server(tmp_path: Path, vendor_latency: float) -> Iterator[str]:
    port_file = tmp_path / "vendor.port"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.http_vendor", "--port-file", str(port_file),
         "--latency", str(vendor_latency)], cwd=ROOT, env=child_env())
    try:
        wait_for(port_file.exists, "the fake vendor to start")
        yield f"http://127.0.0.1:{port_file.read_text(encoding='utf-8')}"
    finally:
        process.terminate()
        process.wait(10)


def start_service(base: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mangodesk", "--data-dir", str(base), "run"],
            cwd=ROOT, env=child_env(), stdout=out, stderr=subprocess.STDOUT)


def stats(client: httpx.Client) -> dict[str, object]:
    return client.get("/stats").json()  # type: ignore[no-any-return]


def counts(world: World) -> tuple[int, int, int]:
    with world.db.session() as s:
        open_ops = s.scalar(select(func.count()).select_from(Operation).where(
            Operation.status.in_((OperationStatus.QUEUED, OperationStatus.RUNNING)))) or 0
        running = s.scalar(select(func.count()).select_from(Operation).where(
            Operation.status == OperationStatus.RUNNING)) or 0
        active = s.scalar(select(func.count()).select_from(AccessCode).where(
            AccessCode.state == CodeState.ACTIVE)) or 0
    return int(open_ops), int(running), int(active)


@pytest.mark.slow
def test_sigkill_mid_issue_then_restart_leaves_every_code_exactly_once(
        tmp_path: Path, vendor_server: str) -> None:
    base = tmp_path / "profile"
    paths = Paths.under(base)
    paths.ensure()
    paths.settings_file.write_text(json.dumps(
        {"tick_seconds": 1, "worker_threads": 8, "per_connection_concurrency": 4}),
        encoding="utf-8")
    world = make_world(tmp_path, timezone="UTC", url=sqlite_url(paths.database_file),
                       settings={"base_url": vendor_server})
    today = datetime.now(UTC).date()
    for n in range(CODES):
        room = f"{n + 1:03d}"
        world.add_room(room)
        world.add_booking(today + timedelta(days=1), today + timedelta(days=3), room,
                          guest=f"Guest {n}")
    log = tmp_path / "service.out"
    client = httpx.Client(base_url=vendor_server, timeout=10)
    try:
        first = start_service(base, log)
        try:
            wait_for(lambda: int(stats(client)["creates"]) >= 60, "the first codes")  # type: ignore[call-overload]
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        open_ops, running, _ = counts(world)
        assert open_ops > 0, "the kill came too late to test anything"
        assert running > 0, "no call was in flight when the service was killed"

        second = start_service(base, log)
        try:
            wait_for(lambda: counts(world)[0] == 0, "the restarted service to finish")
        finally:
            subprocess.run([sys.executable, "-m", "mangodesk", "--data-dir", str(base), "run",
                            "--stop"], cwd=ROOT, env=child_env(), check=True,
                           capture_output=True)
            assert second.wait(DEADLINE) == 0, log.read_text(encoding="utf-8")
        on_vendor = stats(client)["codes"]
    finally:
        client.close()

    assert isinstance(on_vendor, dict)
    open_ops, running, active = counts(world)
    assert (open_ops, running, active) == (0, 0, CODES)
    with world.db.session() as s:
        mine = {code.lock.vendor_lock_id: code.code for code in s.scalars(select(AccessCode))}
    assert len(on_vendor) == CODES
    for lock, pins in on_vendor.items():
        assert pins == [mine[lock]], f"{lock} holds {len(pins)} codes"
    world.db.dispose()


# --------------------------------------------------------------------------- kill campaign

CAMPAIGN_ROOMS = 120
LEASE_WAIT = 60.0  # a restarted service waits for the dead holder's lease to expire


def campaign_world(tmp_path: Path, base: Path, vendor_server: str, rooms: int) -> World:
    paths = Paths.under(base)
    paths.ensure()
    paths.settings_file.write_text(json.dumps(
        {"tick_seconds": 1, "worker_threads": 8, "per_connection_concurrency": 4}),
        encoding="utf-8")
    world = make_world(tmp_path, timezone="UTC", url=sqlite_url(paths.database_file),
                       settings={"base_url": vendor_server})
    today = datetime.now(UTC).date()
    for n in range(rooms):
        room = f"{n + 1:03d}"
        world.add_room(room)
        world.add_booking(today + timedelta(days=1), today + timedelta(days=3), room,
                          guest=f"Guest {n}")
    return world


def in_flight_bookings(world: World) -> list[int]:
    """Bookings whose vendor call was running when the service died."""
    with world.db.session() as s:
        return sorted({booking_id for booking_id in s.scalars(
            select(AccessCode.booking_id).join(Operation,
                                               Operation.access_code_id == AccessCode.id)
            .where(Operation.status == OperationStatus.RUNNING)) if booking_id is not None})


def change_or_cancel(world: World, bookings: list[int], rng: random.Random) -> dict[int, str]:
    """What a PMS sync right after the restart would bring: new dates or a cancellation."""
    today = datetime.now(UTC).date()
    done: dict[int, str] = {}
    for booking_id in bookings:
        change = rng.choice(("end", "start", "both", "cancel"))
        if change == "end":
            world.set_booking(booking_id, departure=today + timedelta(days=4))
        elif change == "start":
            world.set_booking(booking_id, arrival=today)
        elif change == "both":
            world.set_booking(booking_id, arrival=today, departure=today + timedelta(days=5))
        else:
            world.set_booking(booking_id, status=BookingStatus.CANCELLED)
        done[booking_id] = change
    return done


def settled(world: World) -> bool:
    with world.db.session() as s:
        busy = s.scalar(select(func.count()).select_from(Operation).where(
            Operation.status.in_((OperationStatus.QUEUED, OperationStatus.RUNNING)))) or 0
        moving = s.scalar(select(func.count()).select_from(AccessCode).where(
            AccessCode.state.in_((CodeState.PENDING, CodeState.REVOKING,
                                  CodeState.SCHEDULED)))) or 0
    return busy == 0 and moving == 0


def wait_settled(world: World, deadline: float = LEASE_WAIT + DEADLINE) -> None:
    """Settled twice, a few ticks apart (the planner may still queue a change)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if settled(world):
            time.sleep(3)
            if settled(world):
                return
        time.sleep(0.1)
    raise AssertionError("the service never settled")


def stop_services(base: Path, log: Path, *services: subprocess.Popen[bytes]) -> None:
    subprocess.run([sys.executable, "-m", "mangodesk", "--data-dir", str(base), "run",
                    "--stop"], cwd=ROOT, env=child_env(), check=True, capture_output=True)
    for service in services:
        assert service.wait(DEADLINE) == 0, log.read_text(encoding="utf-8")


def stay(arrival: date, departure: date) -> tuple[datetime, datetime]:
    """The property (UTC) checks in at 15:00 and out at 11:00."""
    return (datetime.combine(arrival, clock_time(15, 0), UTC),
            datetime.combine(departure, clock_time(11, 0), UTC))


def assert_locks_exactly_right(world: World, windows: dict[str, list[list[str]]],
                               note: str, *, live_start_is_vendor_now: bool = False) -> None:
    """No duplicate; every live guest holds exactly one code, with the booking's current
    window; no cancelled guest holds any; nothing failed or stuck. With
    ``live_start_is_vendor_now`` (Smartair) a stay checked in after its start began starts
    when the server checked it in, never earlier than the booking's start."""
    with world.db.session() as s:
        rows = s.execute(
            select(Booking, Lock.vendor_lock_id)
            .join(BookingUnit, BookingUnit.booking_id == Booking.id)
            .join(UnitLink, UnitLink.unit_id == BookingUnit.unit_id)
            .join(Lock, Lock.id == UnitLink.lock_id)).all()
        for booking, lock in rows:
            held = [(pin, datetime.fromisoformat(start), datetime.fromisoformat(end))
                    for pin, start, end in windows.get(lock, [])]
            codes = list(s.scalars(select(AccessCode).where(
                AccessCode.booking_id == booking.id)))
            assert all(c.state != CodeState.FAILED for c in codes), (note, booking.pms_id)
            if booking.status == BookingStatus.CANCELLED:
                assert held == [], f"{note}: cancelled {booking.pms_id} still opens {lock}"
                continue
            (live,) = [c for c in codes if c.state == CodeState.ACTIVE]
            start, end = stay(booking.arrival, booking.departure)
            if (live_start_is_vendor_now and len(held) == 1
                    and start < held[0][1] <= datetime.now(UTC)):
                start = held[0][1]  # checked in late: the server's "now" is its start
            assert held == [(live.code, start, end)], f"{note}: {booking.pms_id} on {lock}"
        failed = s.scalar(select(func.count()).select_from(Operation).where(
            Operation.status == OperationStatus.FAILED)) or 0
        assert failed == 0, note


@pytest.mark.slow
def test_kill_campaign_changes_and_cancellations_of_in_flight_bookings_end_exactly_right(
        tmp_path: Path, vendor_server: str) -> None:
    seed = int(os.environ.get("MANGODESK_KILL_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    note = f"kill campaign seed {seed}"
    base = tmp_path / "profile"
    world = campaign_world(tmp_path, base, vendor_server, CAMPAIGN_ROOMS)
    log = tmp_path / "service.out"
    client = httpx.Client(base_url=vendor_server, timeout=10)
    changed: dict[int, str] = {}
    try:
        for _ in range(3):
            before = int(stats(client)["creates"])  # type: ignore[call-overload]
            target = before + rng.randint(3, 15)
            service = start_service(base, log)
            try:
                wait_for(lambda goal=target: int(stats(client)["creates"]) >= goal,  # type: ignore[call-overload,misc]
                         "codes to be created", LEASE_WAIT)
                time.sleep(rng.uniform(0, 0.05))
            finally:
                service.send_signal(signal.SIGKILL)
                service.wait(10)
            changed.update(change_or_cancel(
                world, [b for b in in_flight_bookings(world) if b not in changed], rng))
        assert changed, f"{note}: no call was in flight at any kill"
        last = start_service(base, log)
        try:
            wait_settled(world)
        finally:
            stop_services(base, log, last)
        windows = stats(client)["windows"]
    finally:
        client.close()
    assert isinstance(windows, dict)
    assert_locks_exactly_right(world, windows, note)
    world.db.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("vendor_latency", [0.4])  # slow enough to outlast a start-up
def test_a_standby_service_takes_over_from_a_killed_leader(tmp_path: Path,
                                                           vendor_server: str) -> None:
    rng = random.Random()
    base = tmp_path / "profile"
    world = campaign_world(tmp_path, base, vendor_server, CAMPAIGN_ROOMS)
    log, standby_log = tmp_path / "service.out", tmp_path / "standby.out"
    client = httpx.Client(base_url=vendor_server, timeout=10)
    try:
        leader = start_service(base, log)
        standby: subprocess.Popen[bytes] | None = None
        try:
            wait_for(lambda: int(stats(client)["creates"]) >= 5, "the leader to start")  # type: ignore[call-overload]
            standby = start_service(base, standby_log)
            wait_for(lambda: "automation is running" in standby_log.read_text(encoding="utf-8"),
                     "the standby to start")
            goal = int(stats(client)["creates"]) + 4  # type: ignore[call-overload]
            wait_for(lambda: int(stats(client)["creates"]) >= goal, "more codes")  # type: ignore[call-overload]
        finally:
            leader.send_signal(signal.SIGKILL)
            leader.wait(10)
        assert standby is not None
        try:
            in_flight = in_flight_bookings(world)
            changed = change_or_cancel(world, in_flight, rng)
            assert changed, "no call was in flight when the leader was killed"
            wait_settled(world)
        finally:
            stop_services(base, standby_log, standby)
        windows = stats(client)["windows"]
    finally:
        client.close()
    assert isinstance(windows, dict)
    assert_locks_exactly_right(world, windows, "standby takeover")
    world.db.dispose()
