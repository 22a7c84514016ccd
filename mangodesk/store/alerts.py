"""Alerts: raised once per problem (deduplicated), acknowledged by staff, cleared when fixed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mangodesk.domain.types import AlertSeverity, AlertSubject
from mangodesk.store.models import Alert


def open_alert(session: Session, dedupe_key: str) -> Alert | None:
    return session.scalars(
        select(Alert).where(Alert.dedupe_key == dedupe_key, Alert.cleared_at.is_(None))
    ).first()


def raise_alert(
    session: Session,
    *,
    dedupe_key: str,
    severity: AlertSeverity,
    subject_kind: AlertSubject,
    subject_id: int | None,
    message: str,
    fix: str | None,
    now: datetime,
) -> tuple[Alert, bool]:
    """Raise an alert unless the same problem is already open. Returns (alert, is_new)."""
    existing = open_alert(session, dedupe_key)
    if existing is not None:
        existing.message = message
        existing.fix = fix
        if _rank(severity) > _rank(existing.severity):
            existing.severity = severity
        return existing, False
    alert = Alert(
        severity=severity,
        subject_kind=subject_kind,
        subject_id=subject_id,
        dedupe_key=dedupe_key,
        message=message,
        fix=fix,
        raised_at=now,
    )
    session.add(alert)
    session.flush()
    return alert, True


def clear_alert(session: Session, dedupe_key: str, now: datetime) -> Alert | None:
    """The problem went away (sync succeeded, code created): close the alert."""
    alert = open_alert(session, dedupe_key)
    if alert is not None:
        alert.cleared_at = now
    return alert


def acknowledge_alert(session: Session, alert_id: int, who: str, now: datetime) -> Alert | None:
    alert = session.get(Alert, alert_id)
    if alert is not None and alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.acknowledged_by = who
    return alert


_ORDER = [AlertSeverity.INFO, AlertSeverity.WARNING, AlertSeverity.ERROR, AlertSeverity.CRITICAL]


def _rank(severity: AlertSeverity) -> int:
    return _ORDER.index(severity)
