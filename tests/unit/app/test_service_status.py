"""``mangodesk status`` and the heartbeat behind it: who leads, last tick, last sync, queue
depth, open alerts, and the monitoring exit code (0 ok, 1 warning, 2 critical)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mangodesk.__main__ import main
from mangodesk.always_on import Heartbeat
from mangodesk.app import Context, attach_engine, build_context
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import AlertSeverity, AlertSubject
from mangodesk.paths import Paths
from mangodesk.services.service_status import (
    CRITICAL,
    OK,
    WARNING,
    read_status,
    who_runs_automation,
)
from mangodesk.settings import Settings
from mangodesk.store.alerts import raise_alert
from mangodesk.store.models import ServiceProcess, SyncState
from mangodesk.store.secrets import SecretStore

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def context(tmp_path: Path, secret_store: SecretStore) -> Iterator[Context]:
    built = build_context(Paths.under(tmp_path / "profile"), Settings(), secrets=secret_store,
                          clock=FixedClock(NOW), actor="Anna")
    yield built
    built.close()


def _process(context: Context, holder: str, *, kind: str = "service", leading: bool = True,
             seen: datetime = NOW, ticked: datetime | None = NOW) -> None:
    with context.db.transaction() as session:
        session.add(ServiceProcess(holder=holder, kind=kind, host=holder.split(":")[0], pid=1,
                                   version="1.0", started_at=NOW - timedelta(hours=1),
                                   seen_at=seen, last_tick_at=ticked, leading=leading))


def _alert(context: Context, severity: AlertSeverity) -> None:
    with context.db.transaction() as session:
        raise_alert(session, dedupe_key=f"test:{severity}", severity=severity,
                    subject_kind=AlertSubject.SYNC, subject_id=None,
                    message="Something to look at.", fix=None, now=NOW)


def test_nothing_running_is_critical(context: Context) -> None:
    status = read_status(context.db, NOW)
    assert status.level == CRITICAL and status.leader is None
    assert "mangodesk run" in status.problems[0]
    assert who_runs_automation(context.db, NOW, tick_seconds=30) == "service not running"


def test_a_ticking_service_that_leads_is_ok(context: Context) -> None:
    _process(context, "night-pc:1")
    _process(context, "reception:2", kind="desk", leading=False)
    status = read_status(context.db, NOW)
    assert status.level == OK, status.problems
    assert status.leader is not None and status.leader.name == "the service on night-pc"
    assert status.service_running and len(status.processes) == 2
    assert who_runs_automation(context.db, NOW, tick_seconds=30,
                               own_holder="reception:2") == "led by the service on night-pc"


def test_a_leader_that_stopped_ticking_or_a_dead_one_is_critical(context: Context) -> None:
    _process(context, "night-pc:1", ticked=NOW - timedelta(minutes=5))
    assert read_status(context.db, NOW).level == CRITICAL
    later = NOW + timedelta(minutes=10)  # its heartbeat is too old: taken for dead
    status = read_status(context.db, later)
    assert status.level == CRITICAL and status.processes == []


def test_warnings_and_errors_set_the_level(context: Context) -> None:
    _process(context, "night-pc:1")
    _alert(context, AlertSeverity.WARNING)
    status = read_status(context.db, NOW)
    assert status.level == WARNING and status.open_alerts == {"warning": 1}
    _alert(context, AlertSeverity.ERROR)
    assert read_status(context.db, NOW).level == CRITICAL


def test_a_late_or_failing_pms_sync_is_a_warning(context: Context) -> None:
    _process(context, "night-pc:1")
    with context.db.transaction() as session:
        session.add(SyncState(source="beds24", settings={}, last_attempt_at=NOW,
                              last_success_at=NOW - timedelta(hours=1),
                              consecutive_failures=0, bookings_seen=3))
    status = read_status(context.db, NOW, sync_interval_minutes=5)
    assert status.level == WARNING
    assert status.last_sync_at == NOW - timedelta(hours=1)
    assert any("has not synced" in p for p in status.problems)


def test_the_heartbeat_follows_the_real_engine(context: Context) -> None:
    engine = attach_engine(context)
    heartbeat = Heartbeat(context, engine, "desk")
    heartbeat.start()
    assert engine.tick() == 0  # takes the lease: publishes "leading"
    status = read_status(context.db, NOW)
    assert status.level == OK, status.problems
    assert status.leader is not None and status.leader.holder == engine.holder
    assert not status.service_running
    assert who_runs_automation(context.db, NOW, tick_seconds=30, own_holder=engine.holder) \
        == "this desk leads; service not running"
    heartbeat.stop()
    assert read_status(context.db, NOW).level == CRITICAL


def test_the_status_command_prints_and_exits_with_the_level(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "desk"
    assert main(["--data-dir", str(base), "status"]) == CRITICAL
    out = capsys.readouterr().out
    assert out.startswith("Status: CRITICAL") and "Leader: none" in out
    context = build_context(Paths.under(base), Settings(), actor="setup")
    try:
        _process(context, "night-pc:1", seen=datetime.now(UTC), ticked=datetime.now(UTC))
    finally:
        context.close()
    assert main(["--data-dir", str(base), "status", "--json"]) == OK
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "ok" and data["leader"]["host"] == "night-pc"
    assert data["queue_depth"] == 0 and data["open_alerts"] == {}
    assert data["service_running"] is True
