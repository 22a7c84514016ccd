"""The crash test: the headless service is SIGKILLed while issuing 200 codes against a fake
lock provider in another process; after a restart every code exists exactly once.

Process coordination polls (short waits until a condition or a generous deadline); nothing
asserts on durations.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from mangodesk.domain.types import CodeState, OperationStatus
from mangodesk.paths import Paths
from mangodesk.store.db import sqlite_url
from mangodesk.store.models import AccessCode, Operation
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


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MANGODESK_PROVIDER_PLUGINS"] = "tests.fakes.http_vendor:SPEC"
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"  # never the OS keyring
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


@pytest.fixture
def vendor_server(tmp_path: Path) -> Iterator[str]:
    port_file = tmp_path / "vendor.port"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.http_vendor", "--port-file", str(port_file),
         "--latency", "0.05"], cwd=ROOT, env=child_env())
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
