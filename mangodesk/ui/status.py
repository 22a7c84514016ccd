"""What the status bar says about automation: engine state, last PMS sync, codes retrying.

A read of the local database only (no vendor call), small enough for the worker pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from mangodesk.app import Context
from mangodesk.domain.types import CodeState
from mangodesk.services.service_status import who_runs_automation
from mangodesk.store.models import AccessCode, AuditEvent, SyncState


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


def read_status(context: Context) -> DeskStatus:
    with context.db.session() as session:
        counts = {
            state: count
            for state, count in session.execute(
                select(AccessCode.state, func.count(AccessCode.id))
                .where(AccessCode.state.in_([CodeState.PENDING, CodeState.FAILED,
                                             CodeState.REVOKING]))
                .group_by(AccessCode.state)
            )
        }
        retrying = session.scalar(
            select(func.count(AccessCode.id)).where(
                AccessCode.state.in_([CodeState.PENDING, CodeState.REVOKING]),
                AccessCode.attempts > 0,
            )
        ) or 0
        sync = session.scalars(
            select(SyncState).order_by(SyncState.last_attempt_at.desc())
        ).first()
        last_sync = sync.last_success_at if sync else None
        last_run = session.scalars(
            select(AuditEvent.after).where(AuditEvent.action == "pms_sync")
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1)).first()
        sync_error = sync.last_error if sync and sync.consecutive_failures else None
        failures = sync.consecutive_failures if sync else 0
    return DeskStatus(
        retrying=int(retrying),
        failed=int(counts.get(CodeState.FAILED, 0)),
        pending=int(counts.get(CodeState.PENDING, 0)) + int(counts.get(CodeState.REVOKING, 0)),
        last_sync_at=last_sync,
        sync_error=sync_error,
        sync_failures=failures,
        open_alerts=context.services.alerts.open_count(),
        last_sync_result=sync_counts(last_run),
        automation=who_runs_automation(
            context.db, context.clock.now(), tick_seconds=context.settings.tick_seconds,
            own_holder=getattr(context.services.engine, "holder", None)),
    )


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
