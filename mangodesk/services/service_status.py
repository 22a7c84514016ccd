"""The always-on service seen from outside: what ``mangodesk status``, the health endpoint and
the desk's status bar report (the heartbeat rows are written by :mod:`mangodesk.always_on`).

Every process that runs the automation (``mangodesk run``, or a desk) keeps a row in
``service_process`` fresh: when it was last seen, when its engine last ticked, whether it leads.
Any desk, any CLI and the health endpoint read the same rows, so the answer is the same on every
computer sharing the database. Levels follow the monitoring-plugin convention: 0 ok, 1 warning,
2 critical.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from mangodesk.domain.types import AlertSeverity, OperationStatus
from mangodesk.store.models import Alert, EngineLease, Operation, ServiceProcess, SyncState

if TYPE_CHECKING:
    from mangodesk.store.db import Database

log = logging.getLogger(__name__)

OK, WARNING, CRITICAL = 0, 1, 2
LEVEL_WORDS = {OK: "ok", WARNING: "warning", CRITICAL: "critical"}
HEARTBEAT_SECONDS = 10.0
STOPPED_ROWS_KEPT = timedelta(days=7)


def alive_after(tick_seconds: float) -> timedelta:
    """A process not seen for this long is taken for dead (three heartbeats or ticks)."""
    return timedelta(seconds=3 * max(HEARTBEAT_SECONDS, tick_seconds))


@dataclass(frozen=True)
class ProcessView:
    holder: str
    kind: str
    host: str
    pid: int
    version: str
    started_at: datetime
    seen_at: datetime
    last_tick_at: datetime | None
    leading: bool
    health_url: str | None

    @property
    def name(self) -> str:
        what = "the service" if self.kind == "service" else "a desk"
        return f"{what} on {self.host}"


@dataclass(frozen=True)
class ServiceStatus:
    level: int
    problems: list[str]
    leader: ProcessView | None
    processes: list[ProcessView]
    last_tick_at: datetime | None
    last_sync_at: datetime | None
    sync_error: str | None
    queue_depth: int
    failed_operations: int
    open_alerts: dict[str, int] = field(default_factory=dict)
    checked_at: datetime | None = None

    @property
    def service_running(self) -> bool:
        return any(p.kind == "service" for p in self.processes)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = LEVEL_WORDS[self.level]
        data["service_running"] = self.service_running
        return data

    def summary(self) -> str:
        """Who runs the automation, in the words the desk's status bar uses."""
        if self.leader is None:
            return "no Mangodesk is running the automation"
        return f"run by {self.leader.name}"


def read_status(db: Database, now: datetime, *, tick_seconds: float = 30.0,
                sync_interval_minutes: float = 5.0, sync_expected: bool | None = None
                ) -> ServiceStatus:
    """The automation's health, read from the database alone."""
    fresh = now - alive_after(tick_seconds)
    with db.session() as session:
        rows = list(session.scalars(
            select(ServiceProcess).where(ServiceProcess.stopped_at.is_(None),
                                         ServiceProcess.seen_at >= fresh)
            .order_by(ServiceProcess.kind.desc(), ServiceProcess.started_at)))
        processes = [_view(row) for row in rows]
        leader = next((p for p in processes if p.leading), None)
        lease = session.get(EngineLease, 1)
        queue = session.scalar(select(func.count(Operation.id)).where(
            Operation.status.in_([OperationStatus.QUEUED, OperationStatus.RUNNING]))) or 0
        failed = session.scalar(select(func.count(Operation.id)).where(
            Operation.status == OperationStatus.FAILED)) or 0
        alerts = {str(severity): int(count) for severity, count in session.execute(
            select(Alert.severity, func.count(Alert.id)).where(Alert.cleared_at.is_(None))
            .group_by(Alert.severity))}
        sync = session.scalars(select(SyncState).order_by(
            SyncState.last_attempt_at.desc())).first()
    if leader is None and lease is not None and lease.expires_at > now:
        # A process from before heartbeats (or one that has not beaten yet) holds the lease.
        host = lease.holder.split(":", 1)[0]
        leader = next((p for p in processes if p.host == host), None)
    last_tick = max((p.last_tick_at for p in processes if p.last_tick_at), default=None)
    last_sync = sync.last_success_at if sync else None
    sync_error = sync.last_error if sync is not None and sync.consecutive_failures else None
    problems: list[tuple[int, str]] = []
    if not processes:
        problems.append((CRITICAL, "No Mangodesk is running the automation: start the service "
                                   "(mangodesk run) or a desk."))
    elif leader is None:
        problems.append((CRITICAL, "Mangodesk is running but nothing leads the automation."))
    elif leader.last_tick_at is None or leader.last_tick_at < fresh:
        problems.append((CRITICAL, f"The automation on {leader.host} has not ticked since "
                                   f"{_when(leader.last_tick_at)}."))
    for severity in (AlertSeverity.CRITICAL, AlertSeverity.ERROR):
        if alerts.get(str(severity)):
            problems.append((CRITICAL, f"{alerts[str(severity)]} open {severity} alert(s)."))
    if alerts.get(str(AlertSeverity.WARNING)):
        problems.append((WARNING, f"{alerts[str(AlertSeverity.WARNING)]} open warning "
                                  "alert(s)."))
    if sync_error:
        problems.append((WARNING, f"The PMS sync is failing: {sync_error}"))
    expected = sync is not None if sync_expected is None else sync_expected
    stale = now - timedelta(minutes=3 * sync_interval_minutes)
    if expected and not sync_error and (last_sync is None or last_sync < stale):
        problems.append((WARNING, f"The PMS has not synced since {_when(last_sync)}."))
    if failed:
        problems.append((WARNING, f"{failed} lock operation(s) failed for good."))
    level = max((lvl for lvl, _ in problems), default=OK)
    return ServiceStatus(
        level=level, problems=[text for _, text in sorted(problems, key=lambda p: -p[0])],
        leader=leader, processes=processes, last_tick_at=last_tick, last_sync_at=last_sync,
        sync_error=sync_error, queue_depth=int(queue), failed_operations=int(failed),
        open_alerts=alerts, checked_at=now)


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _view(row: ServiceProcess) -> ProcessView:
    return ProcessView(holder=row.holder, kind=row.kind, host=row.host, pid=row.pid,
                       version=row.version,
                       started_at=row.started_at, seen_at=row.seen_at,
                       last_tick_at=row.last_tick_at, leading=row.leading,
                       health_url=row.health_url)


def who_runs_automation(db: Database, now: datetime, *, tick_seconds: float,
                        own_holder: str | None = None) -> str:
    """A few words for the desk's status bar: who leads the automation, whether the service
    runs."""
    fresh = now - alive_after(tick_seconds)
    with db.session() as session:
        rows = [_view(row) for row in session.scalars(
            select(ServiceProcess).where(ServiceProcess.stopped_at.is_(None),
                                         ServiceProcess.seen_at >= fresh))]
    leader = next((p for p in rows if p.leading), None)
    service = next((p for p in rows if p.kind == "service"), None)
    if leader is not None and leader.holder == own_holder:
        words = "this desk leads"
    elif leader is not None:
        words = f"led by {leader.name}"
    elif rows:
        words = "nobody leads yet"
    else:
        return "service not running"
    if service is None:
        return f"{words}; service not running"
    if leader is not service:
        return f"{words}; service running on {service.host}"
    return words
