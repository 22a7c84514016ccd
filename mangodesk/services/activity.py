"""Alerts staff must see, and the activity (audit) log with CSV export."""

from __future__ import annotations

import builtins
import csv
import io
from datetime import datetime

from sqlalchemy import func, or_, select

from mangodesk.domain.events import EventKind
from mangodesk.services.base import ServiceBase
from mangodesk.services.views import AlertView, AuditView
from mangodesk.store import alerts
from mangodesk.store.models import Alert, AuditEvent


class AlertService(ServiceBase):
    def list(self, *, include_closed: bool = False, limit: int = 500) -> builtins.list[AlertView]:
        with self.ctx.db.session() as session:
            query = select(Alert).order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(limit)
            if not include_closed:
                query = query.where(Alert.acknowledged_at.is_(None), Alert.cleared_at.is_(None))
            return [alert_view(a) for a in session.scalars(query)]

    def open_count(self) -> int:
        with self.ctx.db.session() as session:
            return int(session.scalar(
                select(func.count(Alert.id))
                .where(Alert.acknowledged_at.is_(None), Alert.cleared_at.is_(None))
            ) or 0)

    def acknowledge(self, alert_id: int) -> None:
        with self.ctx.db.transaction() as session:
            alert = alerts.acknowledge_alert(session, alert_id, self.ctx.actor, self.now())
            if alert is not None:
                self.audit(session, "acknowledge", "alert", alert_id,
                           f"Acknowledged alert: {alert.message}")
        self.changed(EventKind.ALERT_CLEARED, alert_id)


class AuditService(ServiceBase):
    def list(self, *, text: str | None = None, actor: str | None = None,
             since: datetime | None = None, limit: int = 1000) -> builtins.list[AuditView]:
        with self.ctx.db.session() as session:
            query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            if text:
                like = f"%{text}%"
                query = query.where(or_(AuditEvent.summary.ilike(like),
                                        AuditEvent.action.ilike(like)))
            if actor:
                query = query.where(AuditEvent.actor == actor)
            if since:
                query = query.where(AuditEvent.at >= since)
            return [audit_view(e) for e in session.scalars(query.limit(limit))]

    def export_csv(self, events: builtins.list[AuditView]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["when (UTC)", "who", "action", "subject", "subject id", "summary"])
        for event in events:
            writer.writerow([event.at.strftime("%Y-%m-%d %H:%M:%S"), event.actor, event.action,
                             event.subject_kind, event.subject_id or "", event.summary])
        return buffer.getvalue()


def alert_view(alert: Alert) -> AlertView:
    return AlertView(alert.id, alert.severity, str(alert.subject_kind), alert.subject_id,
                     alert.message, alert.fix, alert.raised_at, alert.acknowledged_at,
                     alert.acknowledged_by, alert.cleared_at)


def audit_view(event: AuditEvent) -> AuditView:
    return AuditView(event.id, event.at, event.actor, event.action, event.subject_kind,
                     event.subject_id, event.summary)
