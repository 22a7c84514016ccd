"""What the desk's status bar and first-run banner need to know: codes waiting or retrying,
the last PMS sync, open alerts, and how far set-up has got.

Reads of the local database only (no vendor call), small enough for the worker pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from mangodesk.domain.types import (
    ATTEMPTED_CODE_STATES,
    SENDING_CODE_STATES,
    AuditAction,
    CodeState,
)
from mangodesk.services.activity import AlertService
from mangodesk.services.base import ServiceBase, ServiceDeps
from mangodesk.services.connections import ConnectionService
from mangodesk.services.pms import PmsService
from mangodesk.services.service_status import who_runs_automation
from mangodesk.store.models import AccessCode, AuditEvent, SyncState, Unit, UnitLink


@dataclass(frozen=True)
class DeskStatus:
    retrying: int  # pending codes that already failed at least once
    failed: int
    pending: int
    last_sync_at: datetime | None
    sync_error: str | None
    sync_failures: int
    open_alerts: int
    last_sync_result: str | None = None  # "12 bookings read (3 new, 2 changed)."
    automation: str | None = None  # "led by the service on night-pc"


@dataclass(frozen=True)
class SetupProgress:
    """How far set-up has got (one cheap read for the first-run banner)."""

    pms_connected: bool
    units: int
    locks_connected: bool
    linked: int


class DeskStatusService(ServiceBase):
    def __init__(self, deps: ServiceDeps, alerts: AlertService,
                 connections: ConnectionService, pms: PmsService) -> None:
        super().__init__(deps)
        self.alerts = alerts
        self.connections = connections
        self.pms = pms

    def status(self) -> DeskStatus:
        with self.db.session() as session:
            counts = {
                state: count
                for state, count in session.execute(
                    select(AccessCode.state, func.count(AccessCode.id))
                    .where(AccessCode.state.in_(ATTEMPTED_CODE_STATES))
                    .group_by(AccessCode.state)
                )
            }
            retrying = session.scalar(
                select(func.count(AccessCode.id)).where(
                    AccessCode.state.in_(SENDING_CODE_STATES),
                    AccessCode.attempts > 0,
                )
            ) or 0
            sync = session.scalars(
                select(SyncState).order_by(SyncState.last_attempt_at.desc())
            ).first()
            last_sync = sync.last_success_at if sync else None
            last_run = session.scalars(
                select(AuditEvent.after).where(AuditEvent.action == AuditAction.SYNC_RUN)
                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1)).first()
            sync_error = sync.last_error if sync and sync.consecutive_failures else None
            failures = sync.consecutive_failures if sync else 0
        return DeskStatus(
            retrying=int(retrying),
            failed=int(counts.get(CodeState.FAILED, 0)),
            pending=int(counts.get(CodeState.PENDING, 0))
            + int(counts.get(CodeState.REVOKING, 0)),
            last_sync_at=last_sync,
            sync_error=sync_error,
            sync_failures=failures,
            open_alerts=self.alerts.open_count(),
            last_sync_result=sync_counts(last_run),
            automation=who_runs_automation(
                self.db, self.now(), tick_seconds=self.deps.settings.tick_seconds,
                own_holder=getattr(self.engine.engine, "holder", None)),
        )

    def setup_progress(self) -> SetupProgress:
        pms = self.pms.is_connected()
        with self.db.session() as session:
            units = int(session.scalar(select(func.count(Unit.id)).where(Unit.active)) or 0)
            linked = int(session.scalar(select(func.count(UnitLink.id))) or 0)
        return SetupProgress(pms, units, self.connections.any_connected(), linked)


def sync_counts(after: dict[str, object] | None) -> str | None:
    """The last sync's result in words, from what the sync recorded in the audit trail."""
    if not after:
        return None

    def number(key: str) -> int:
        value = after.get(key)
        return int(value) if isinstance(value, int | float | str) and str(value).isdigit() \
            else 0

    read, new, changed = number("bookings"), number("created"), number("updated")
    return f"{read} booking{'s' if read != 1 else ''} read ({new} new, {changed} changed)"
