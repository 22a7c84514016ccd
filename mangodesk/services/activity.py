"""Alerts staff must see, and the activity (audit) log with CSV export.

Both read as sentences for a receptionist: an alert names its unit and provider first, and an
audit row is rendered from its action and subject ("Code ••••8 created on TTLock lock Room 101
for Double room 104 (Ana Ruiz) after 1 attempt"), with every time in the hotel's zone.
"""

from __future__ import annotations

import builtins
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mangodesk.domain.events import EventKind
from mangodesk.domain.types import (
    AlertSubject,
    AuditAction,
    AuditSubject,
    VendorKind,
)
from mangodesk.services.activity_sentences import (
    Where,
    link_sentence,
    sentence_for,
    sync_sentence,
)
from mangodesk.services.base import ServiceBase
from mangodesk.services.views import AlertView, AuditView
from mangodesk.store import alerts
from mangodesk.store.models import (
    AccessCode,
    Alert,
    AuditEvent,
    Connection,
    Lock,
    Property,
    Unit,
    UnitLink,
)

PROVIDER_NAMES: dict[str, str] = {
    VendorKind.MANUAL: "Manual",
    VendorKind.TTLOCK: "TTLock",
    VendorKind.FLEXIPASS: "Flexipass",
    VendorKind.INLET: "Inlet",
    VendorKind.SMARTAIR: "TESA Smartair",
}


@dataclass(frozen=True)
class AlertLine(AlertView):
    """An open alert with where it is: staff read the unit and provider before the message."""

    where: Where = Where()  # noqa: RUF009 - Where is a frozen dataclass

    @property
    def headline(self) -> str:
        place = self.where.label
        return f"{place} — {self.message}" if place else self.message


@dataclass(frozen=True)
class ActivityEntry(AuditView):
    """An audit row with its sentence (hotel time, unit and provider named)."""

    sentence: str = ""
    zone: str = "UTC"


class AlertService(ServiceBase):
    def list(self, *, include_closed: bool = False, limit: int = 500) -> builtins.list[AlertView]:
        with self.db.session() as session:
            query = select(Alert).order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(limit)
            if not include_closed:
                query = query.where(Alert.acknowledged_at.is_(None), Alert.cleared_at.is_(None))
            found = list(session.scalars(query))
            places = alert_places(session, found)
            return [alert_view(a, places.get(a.id, Where())) for a in found]

    def open_count(self) -> int:
        with self.db.session() as session:
            return int(session.scalar(
                select(func.count(Alert.id))
                .where(Alert.acknowledged_at.is_(None), Alert.cleared_at.is_(None))
            ) or 0)

    def acknowledge(self, alert_id: int) -> None:
        with self.db.transaction() as session:
            alert = alerts.acknowledge_alert(session, alert_id, self.actor, self.now())
            if alert is not None:
                self.audit(session, AuditAction.ALERT_ACKNOWLEDGE, AuditSubject.ALERT, alert_id,
                           f"Acknowledged alert: {alert.message}")
        self.changed(EventKind.ALERT_CLEARED, alert_id)


class AuditService(ServiceBase):
    def zone(self) -> ZoneInfo:
        """The hotel's zone: every time staff read is in it."""
        with self.db.session() as session:
            return hotel_zone(session)

    def zone_name(self) -> str:
        """The hotel's zone as configured (the first property's, else UTC), unchecked."""
        with self.db.session() as session:
            return hotel_zone_name(session)

    def list(self, *, text: str | None = None, actor: str | None = None,
             since: datetime | None = None, limit: int = 1000) -> builtins.list[AuditView]:
        with self.db.session() as session:
            zone = hotel_zone(session)
            query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            if actor:
                query = query.where(AuditEvent.actor == actor)
            if since:
                query = query.where(AuditEvent.at >= since)
            if not text:
                rows = list(session.scalars(query.limit(limit)))
                return list(render_entries(session, rows, zone))
            # Staff filter by the words they read (the sentence), which the stored summary
            # may not hold ("TTLock", a unit name): render recent rows and match both.
            like = f"%{text}%"
            stored = list(session.scalars(query.where(or_(
                AuditEvent.summary.ilike(like), AuditEvent.action.ilike(like))).limit(limit)))
            recent = list(session.scalars(query.limit(max(limit, 2000))))
            seen: dict[int, AuditEvent] = {e.id: e for e in stored}
            seen.update((e.id, e) for e in recent)
            ordered = sorted(seen.values(), key=lambda e: (e.at, e.id), reverse=True)
            needle = text.casefold()
            matched = [entry for entry in render_entries(session, ordered, zone)
                       if needle in entry.sentence.casefold()
                       or needle in entry.summary.casefold()
                       or needle in entry.action.casefold()]
            return builtins.list(matched[:limit])

    def export_csv(self, events: builtins.list[AuditView]) -> str:
        """ISO 8601 instants with the hotel's offset, so a spreadsheet knows the moment."""
        zone = self.zone()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([f"when ({zone.key})", "who", "action", "subject",
                         "subject id", "what"])
        for event in events:
            sentence = event.sentence if isinstance(event, ActivityEntry) else event.summary
            writer.writerow([event.at.astimezone(zone).isoformat(timespec="seconds"),
                             event.actor, event.action, event.subject_kind,
                             event.subject_id or "", sentence])
        return buffer.getvalue()


def hotel_zone_name(session: Session) -> str:
    return session.scalars(select(Property.timezone).order_by(Property.id)).first() or "UTC"


def hotel_zone(session: Session) -> ZoneInfo:
    name = hotel_zone_name(session)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def alert_view(alert: Alert, where: Where | None = None) -> AlertLine:
    return AlertLine(alert.id, alert.severity, str(alert.subject_kind), alert.subject_id,
                     alert.message, alert.fix, alert.raised_at, alert.acknowledged_at,
                     alert.acknowledged_by, alert.cleared_at, where or Where())


def audit_view(event: AuditEvent) -> AuditView:
    return AuditView(event.id, event.at, event.actor, event.action, event.subject_kind,
                     event.subject_id, event.summary)


# --------------------------------------------------------------------------- where

def _provider(kind: str | None) -> str | None:
    return PROVIDER_NAMES.get(str(kind), str(kind)) if kind else None


def _units_of_locks(session: Session, lock_ids: set[int]) -> dict[int, builtins.list[Unit]]:
    found: dict[int, builtins.list[Unit]] = {}
    if not lock_ids:
        return found
    for lock_id, unit in session.execute(
            select(UnitLink.lock_id, Unit).join(Unit, Unit.id == UnitLink.unit_id)
            .where(UnitLink.lock_id.in_(lock_ids)).order_by(Unit.name)):
        found.setdefault(lock_id, []).append(unit)
    return found


def _lock_where(lock: Lock, units: builtins.list[Unit]) -> Where:
    unit = units[0] if len(units) == 1 else None
    names = ", ".join(u.name for u in units) or None
    return Where(unit_id=unit.id if unit else None, unit_name=names, lock_name=lock.name,
                 provider=_provider(lock.connection.kind), connection_id=lock.connection_id)


def code_places(session: Session, code_ids: Iterable[int]) -> dict[int, Where]:
    """Unit, lock and provider of each code (a code's own unit wins over the lock's)."""
    ids = {i for i in code_ids if i is not None}
    if not ids:
        return {}
    codes = list(session.scalars(select(AccessCode).where(AccessCode.id.in_(ids))))
    linked = _units_of_locks(session, {c.lock_id for c in codes if c.unit_id is None})
    places: dict[int, Where] = {}
    for code in codes:
        lock = code.lock
        base = _lock_where(lock, linked.get(lock.id, []))
        if code.unit is not None:
            base = Where(unit_id=code.unit.id, unit_name=code.unit.name, lock_name=lock.name,
                         provider=base.provider, connection_id=lock.connection_id)
        places[code.id] = Where(base.unit_id, base.unit_name, base.lock_name, base.provider,
                                base.connection_id, code.guest_name)
    return places


def alert_places(session: Session, found: builtins.list[Alert]) -> dict[int, Where]:
    code_ids = {a.subject_id for a in found
                if a.subject_kind == AlertSubject.CODE and a.subject_id is not None}
    lock_ids = {a.subject_id for a in found
                if a.subject_kind == AlertSubject.LOCK and a.subject_id is not None}
    conn_ids = {a.subject_id for a in found
                if a.subject_kind == AlertSubject.CONNECTION and a.subject_id is not None}
    codes = code_places(session, code_ids)
    locks = {lock.id: lock for lock in session.scalars(select(Lock).where(Lock.id.in_(lock_ids)))}
    lock_units = _units_of_locks(session, set(locks))
    conns = {c.id: c for c in session.scalars(
        select(Connection).where(Connection.id.in_(conn_ids)))}
    places: dict[int, Where] = {}
    for alert in found:
        if alert.subject_id is None:
            continue
        if alert.subject_kind == AlertSubject.CODE and alert.subject_id in codes:
            places[alert.id] = codes[alert.subject_id]
        elif alert.subject_kind == AlertSubject.LOCK and alert.subject_id in locks:
            lock = locks[alert.subject_id]
            places[alert.id] = _lock_where(lock, lock_units.get(lock.id, []))
        elif alert.subject_kind == AlertSubject.CONNECTION and alert.subject_id in conns:
            conn = conns[alert.subject_id]
            provider = _provider(conn.kind)
            name = conn.display_name if conn.display_name != provider else None
            places[alert.id] = Where(provider=f"{provider} “{name}”" if name else provider,
                                     connection_id=conn.id)
    return places



def render_entries(session: Session, rows: Iterable[AuditEvent],
                   zone: ZoneInfo) -> Iterable[ActivityEntry]:
    rows = list(rows)
    places = code_places(session, [r.subject_id for r in rows
                                   if r.subject_kind == AuditSubject.CODE and r.subject_id])
    pins = {c.id: (c.code, c.mobile_key_sent_to) for c in session.scalars(
        select(AccessCode).where(AccessCode.id.in_(list(places))))} if places else {}
    links = unit_links(session, {r.subject_id for r in rows
                                 if r.subject_kind == AuditSubject.UNIT and r.subject_id})
    for row in rows:
        where = (places.get(row.subject_id or -1) if row.subject_kind == AuditSubject.CODE
                 else None)
        pin, mobile = pins.get(row.subject_id or -1, (None, None))
        if row.action == AuditAction.UNIT_LINK and row.subject_id in links:
            sentence = link_sentence(row.summary, links[row.subject_id], row.after or {})
        elif row.action == AuditAction.SYNC_RUN:
            sentence = sync_sentence(row.summary, row.after or {})
        else:
            sentence = sentence_for(row.action, row.summary, where, pin, mobile,
                                    row.after or {}, zone)
        yield ActivityEntry(row.id, row.at, row.actor, row.action, row.subject_kind,
                            row.subject_id, row.summary, sentence, zone.key)


def unit_links(session: Session, unit_ids: set[int]) -> dict[int, Where]:
    """The lock and provider each unit is linked to now."""
    if not unit_ids:
        return {}
    found: dict[int, Where] = {}
    for unit, lock in session.execute(
            select(Unit, Lock).join(UnitLink, UnitLink.unit_id == Unit.id)
            .join(Lock, Lock.id == UnitLink.lock_id).where(Unit.id.in_(unit_ids))):
        found[unit.id] = Where(unit_id=unit.id, unit_name=unit.name, lock_name=lock.name,
                               provider=_provider(lock.connection.kind),
                               connection_id=lock.connection_id)
    return found


__all__ = ["ActivityEntry", "AlertLine", "AlertService", "AuditService", "Where"]
