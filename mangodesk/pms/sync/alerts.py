"""The alerts a PMS sync raises and clears, in one place and one shape.

Every sync alert is filed under the sync's state row and deduplicated by a key (the key
functions below); a booking's alert starts with where it is ("Double room 104 · TTLock lock
Room 101: Booking …"). Alerts raised during a run are announced when the run ends, after its
transactions are committed; a cleared alert is announced at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mangodesk.domain.clock import Clock
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.domain.types import AlertSeverity, AlertSubject
from mangodesk.pms.base import BookingPage, PmsProperty
from mangodesk.store.alerts import clear_alert, raise_alert
from mangodesk.store.models import Alert, Booking, BookingUnit, Connection, Lock, Unit, UnitLink
from mangodesk.vendors.registry import VendorRegistry, default_specs, place_of

log = logging.getLogger(__name__)


def booking_places(session: Session, booking: Booking) -> str:
    """The booking's units with their provider and lock, as staff know them, for an alert
    that starts with where ("Double room 104 · TTLock lock Room 101")."""
    registry = VendorRegistry(default_specs())
    places = []
    for unit_name, lock_name, kind in session.execute(
            select(Unit.name, Lock.name, Connection.kind)
            .join(BookingUnit, BookingUnit.unit_id == Unit.id)
            .outerjoin(UnitLink, UnitLink.unit_id == Unit.id)
            .outerjoin(Lock, Lock.id == UnitLink.lock_id)
            .outerjoin(Connection, Connection.id == Lock.connection_id)
            .where(BookingUnit.booking_id == booking.id).order_by(Unit.name)):
        places.append(place_of(registry, str(kind), unit_name, lock_name) if lock_name
                      else unit_name)
    return "; ".join(places) or "No unit"

def sync_alert_key(source: str) -> str:
    return f"sync:{source}"


def unreadable_alert_key(source: str, pms_id: str) -> str:
    return f"sync:{source}:unreadable:{pms_id}"


def missing_alert_key(booking_id: int) -> str:
    return f"booking:{booking_id}:not-in-pms"


def tentative_alert_key(booking_id: int) -> str:
    return f"booking:{booking_id}:no-longer-confirmed"


def units_alert_key(source: str, property_pms_id: str) -> str:
    return f"sync:{source}:units:{property_pms_id}"

class SyncAlerts:
    """Raises and clears the alerts of one PMS source; ``state_id`` gives the sync state row
    they are filed under."""

    def __init__(
        self,
        source: str,
        clock: Clock,
        events: EventBus,
        state_id: Callable[[Session], int],
    ) -> None:
        self.source = source
        self.clock = clock
        self.events = events
        self._state_id = state_id
        self.raised: list[int] = []  # raised during this run, announced at its end

    def start_run(self) -> None:
        self.raised = []

    def announce_raised(self) -> None:
        for alert_id in self.raised:
            self.events.publish(Event(EventKind.ALERT_RAISED, alert_id, at=self.clock.now()))

    def clear(self, session: Session, key: str, now: datetime) -> None:
        cleared = clear_alert(session, key, now)
        if cleared is not None:
            self.events.publish(Event(EventKind.ALERT_CLEARED, cleared.id, at=now))

    def note_unreadable(self, session: Session, page: BookingPage) -> None:
        """One alert per booking that cannot be read; its last good copy stays as it was."""
        if not page.unreadable:
            return
        now = self.clock.now()
        state_id = self._state_id(session)
        pms = self.source.capitalize()
        for bad in page.unreadable:
            log.warning("%s booking %s cannot be read: %s", self.source, bad.pms_id, bad.reason)
            kept = session.scalars(select(Booking).where(Booking.pms_id == bad.pms_id)).first()
            where = f"{booking_places(session, kept)}: " if kept is not None else ""
            self._collect(self._raise(
                session, state_id, unreadable_alert_key(self.source, bad.pms_id),
                message=(
                    f"{where}Booking {bad.pms_id} in {pms} cannot be read "
                    f"({bad.reason}). Mangodesk keeps the copy it had and changes nothing "
                    "for it; every other booking is updated normally."
                ),
                fix=(
                    f"Open booking {bad.pms_id} in {pms} and correct it "
                    "(for example its dates); the next sync picks it up."
                ),
                now=now,
            ))

    def missing(self, session: Session, state_id: int, booking: Booking, now: datetime) -> None:
        """A booking a full load no longer returns, even asked for by number."""
        self._collect(self._raise(
            session, state_id, missing_alert_key(booking.id),
            message=self._about(
                session, booking,
                f"({booking.guest_name or 'no name'}, "
                f"{booking.arrival:%d %b} – {booking.departure:%d %b}) is not in "
                f"{self.source.capitalize()} any more. It gets no new door code; a "
                "code it already has keeps working.",
            ),
            fix=(
                "If the booking was deleted on purpose, revoke its code here. If it "
                "should exist, check it in the PMS."
            ),
            now=now,
        ))

    def no_longer_confirmed(self, session: Session, booking: Booking, now: datetime) -> None:
        self._collect(self._raise(
            session, self._state_id(session), tentative_alert_key(booking.id),
            message=self._about(
                session, booking,
                f"({booking.guest_name or 'no name'}) went back from confirmed to request, "
                f"inquiry or block in {self.source.capitalize()}. Its door code is kept.",
            ),
            fix="Decide whether the guest still comes: revoke the code here if not.",
            now=now,
        ))

    def units_held(
        self, session: Session, pms_property: PmsProperty, held: int, key: str
    ) -> None:
        """A property list that would make most of a property's units inactive at once."""
        self._collect(self._raise(
            session, self._state_id(session), key,
            severity=AlertSeverity.ERROR,
            message=(
                f"{self.source.capitalize()} suddenly lists only {len(pms_property.units)} "
                f"rooms, beds and apartments for {pms_property.name}; {held} others would "
                "disappear. Mangodesk did not apply this and keeps them all active."
            ),
            fix=(
                "Check the rooms in the PMS. If they really were removed, mark the units "
                "inactive here; if not, the next sync that lists them clears this alert."
            ),
            now=self.clock.now(),
        ))

    def failing(
        self,
        session: Session,
        state_id: int,
        failures: int,
        reason: str,
        fix: str | None,
        now: datetime,
    ) -> Alert | None:
        """The sync itself fails: returns the alert when it is new (the caller announces it
        with the failure, not at the end of the run)."""
        attempts = "the last attempt" if failures == 1 else f"the last {failures} attempts"
        return self._raise(
            session, state_id, sync_alert_key(self.source),
            severity=AlertSeverity.ERROR,
            message=(
                f"Bookings are not being updated from {self.source.capitalize()} "
                f"({attempts} failed): {reason}"
            ),
            fix=" ".join(part for part in (
                fix or "Check the internet connection and the PMS connection.",
                "Door codes for bookings already here keep working; new bookings "
                "and changes since the last good sync arrive once it works again.",
            ) if part),
            now=now,
        )

    @staticmethod
    def _about(session: Session, booking: Booking, what: str) -> str:
        """A booking's alert text: where it is, its number, then ``what`` happened."""
        return f"{booking_places(session, booking)}: Booking {booking.pms_id} {what}"

    @staticmethod
    def _raise(
        session: Session,
        state_id: int,
        key: str,
        *,
        message: str,
        fix: str,
        now: datetime,
        severity: AlertSeverity = AlertSeverity.WARNING,
    ) -> Alert | None:
        """Raise (or keep) the alert under ``key``; the alert when it is new, else None."""
        alert, is_new = raise_alert(
            session,
            dedupe_key=key,
            severity=severity,
            subject_kind=AlertSubject.SYNC,
            subject_id=state_id,
            message=message,
            fix=fix,
            now=now,
        )
        return alert if is_new else None

    def _collect(self, alert: Alert | None) -> None:
        if alert is not None:
            self.raised.append(alert.id)
