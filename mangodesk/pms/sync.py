"""Keep the local copy of the PMS right: properties, units and bookings, upserted by PMS id.

Rules (DESIGN "PMS sync"): one transaction per page; the cursor moves only after the last page
is committed; a failed, partial or empty sync changes nothing already stored and never causes a
revoke — bookings are never deleted, a booking missing from a reply is not cancelled, a unit
missing from its property is only marked inactive. Consecutive failures raise one sync alert,
cleared by the next success.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session, selectinload

from mangodesk.domain.clock import Clock
from mangodesk.domain.errors import MangodeskError
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.domain.types import AlertSeverity, AlertSubject
from mangodesk.pms.base import BookingPage, PmsAdapter, PmsBooking, PmsError, PmsProperty
from mangodesk.store import audit
from mangodesk.store.alerts import clear_alert, open_alert, raise_alert
from mangodesk.store.db import Database
from mangodesk.store.models import Base, Booking, BookingUnit, Property, SyncState, Unit

log = logging.getLogger(__name__)

# Properties and rooms change rarely: re-read them at most this often (and on a full load).
PROPERTY_REFRESH = timedelta(hours=1)


def sync_alert_key(source: str) -> str:
    return f"sync:{source}"


@dataclass(frozen=True)
class SyncProgress:
    """What a progress bar needs after each committed page."""

    pages: int
    bookings: int
    has_more: bool
    full: bool


@dataclass
class SyncResult:
    ok: bool
    full: bool = False
    pages: int = 0
    bookings: int = 0  # bookings read from the PMS (groups count once)
    created: int = 0
    updated: int = 0
    skipped: int = 0  # for a property not synced, or older than what we have
    units_added: int = 0
    units_deactivated: int = 0
    cursor: str | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.units_added or self.units_deactivated)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("started_at", "finished_at"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


@dataclass
class _Maps:
    """PMS ids → database ids for the properties and units this sync knows."""

    properties: dict[str, int] = field(default_factory=dict)
    units: dict[tuple[int, str], int] = field(default_factory=dict)


class SyncEngine:
    """Pulls one PMS into the local database. Thread-safe: overlapping runs are refused."""

    def __init__(
        self,
        db: Database,
        adapter: PmsAdapter,
        clock: Clock,
        events: EventBus,
        *,
        alert_after_failures: int = 3,
        source: str | None = None,
        actor: str = audit.AUTOMATION,
    ) -> None:
        self.db = db
        self.adapter = adapter
        self.clock = clock
        self.events = events
        self.alert_after_failures = max(1, alert_after_failures)
        self.source = source or adapter.name
        self.actor = actor
        self._running = threading.Lock()
        self._properties_read_at: datetime | None = None
        self._unknown_units_seen = False

    def close(self) -> None:
        self.adapter.close()

    # ------------------------------------------------------------------ entry points

    def run_scheduled(self) -> None:
        """For the engine's periodic job: never raises (failures are recorded and alerted)."""
        try:
            self.run_once()
        except Exception:
            log.exception("scheduled %s sync crashed", self.source)

    def run_once(
        self,
        progress: Callable[[SyncProgress], None] | None = None,
        *,
        full: bool = False,
    ) -> SyncResult:
        """One sync: properties (when due), then every page of changed bookings."""
        if not self._running.acquire(blocking=False):
            return SyncResult(ok=False, error="A sync is already running.")
        try:
            return self._run(progress, full)
        finally:
            self._running.release()

    # ------------------------------------------------------------------ the run

    def _run(self, progress: Callable[[SyncProgress], None] | None, full: bool) -> SyncResult:
        started = self.clock.now()
        result = SyncResult(ok=False, started_at=started)
        cursor: str | None
        with self.db.transaction() as session:
            state = self._state(session)
            state.last_attempt_at = started
            cursor = None if full else state.cursor
        result.full = cursor is None
        try:
            maps = self._sync_properties(result, force=result.full)
            final_cursor: str | None = None
            for page in self.adapter.bookings_changed_since(cursor):
                with self.db.transaction() as session:
                    self._apply_page(session, page, maps, result)
                result.pages += 1
                result.bookings += len(page.bookings)
                if not page.has_more:
                    final_cursor = page.cursor
                self._report(progress, result, page.has_more)
        except Exception as exc:
            return self._fail(result, exc)
        # A reply with no bookings at all may be a glitch: keep the old cursor so the next
        # poll asks for the same window again (costs nothing when there really was nothing).
        if result.bookings and final_cursor:
            result.cursor = final_cursor
        return self._succeed(result)

    def _report(
        self, progress: Callable[[SyncProgress], None] | None, result: SyncResult, more: bool
    ) -> None:
        update = SyncProgress(
            pages=result.pages, bookings=result.bookings, has_more=more, full=result.full
        )
        self.events.publish(
            Event(
                EventKind.SYNC_PROGRESS,
                data={"source": self.source, **asdict(update)},
                at=self.clock.now(),
            )
        )
        if progress is not None:
            progress(update)

    def _state(self, session: Session) -> SyncState:
        state = session.scalars(select(SyncState).where(SyncState.source == self.source)).first()
        if state is None:
            state = SyncState(source=self.source, settings={}, consecutive_failures=0,
                              bookings_seen=0)
            session.add(state)
            session.flush()
        return state

    def _succeed(self, result: SyncResult) -> SyncResult:
        now = self.clock.now()
        result.ok = True
        result.finished_at = now
        cleared = None
        with self.db.transaction() as session:
            state = self._state(session)
            if result.cursor:
                state.cursor = result.cursor
            state.last_success_at = now
            state.last_error = None
            state.consecutive_failures = 0
            state.bookings_seen = session.scalar(select(func.count()).select_from(Booking)) or 0
            cleared = clear_alert(session, sync_alert_key(self.source), now)
            if result.changed or cleared is not None:
                audit.record(
                    session,
                    actor=self.actor,
                    action="pms_sync",
                    subject_kind="sync",
                    subject_id=state.id,
                    summary=_summary(self.source, result),
                    now=now,
                    after={k: v for k, v in result.to_json().items() if k != "cursor"},
                )
        if cleared is not None:
            self.events.publish(Event(EventKind.ALERT_CLEARED, cleared.id, at=now))
        if result.changed:
            self.events.publish(Event(EventKind.DATA_CHANGED, data={"what": "bookings"}, at=now))
        self.events.publish(Event(EventKind.SYNC_FINISHED, data=result.to_json(), at=now))
        return result

    def _fail(self, result: SyncResult, exc: Exception) -> SyncResult:
        now = self.clock.now()
        fix: str | None = None
        # A problem that will not go away by itself (access revoked) is alerted at once.
        lasting = False
        if isinstance(exc, PmsError | MangodeskError):
            message = str(exc)
            reason, fix = exc.message, exc.fix
            lasting = isinstance(exc, MangodeskError) or not exc.transient
            log.warning("%s sync failed: %s", self.source, message)
        else:
            message = f"The {self.source} sync failed unexpectedly ({type(exc).__name__})."
            reason = message
            log.exception("%s sync failed", self.source)
        result.ok = False
        result.error = message
        result.finished_at = now
        raised = None
        try:
            with self.db.transaction() as session:
                state = self._state(session)
                state.consecutive_failures += 1
                state.last_error = message
                state.last_error_at = now
                failures = state.consecutive_failures
                if failures >= self.alert_after_failures or lasting:
                    attempts = "the last attempt" if failures == 1 else (
                        f"the last {failures} attempts")
                    alert, is_new = raise_alert(
                        session,
                        dedupe_key=sync_alert_key(self.source),
                        severity=AlertSeverity.ERROR,
                        subject_kind=AlertSubject.SYNC,
                        subject_id=state.id,
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
                    if is_new:
                        raised = alert.id
                        audit.record(
                            session,
                            actor=self.actor,
                            action="pms_sync_failing",
                            subject_kind="sync",
                            subject_id=state.id,
                            summary=f"{self.source} sync failed {failures} times in a row: "
                            f"{message}",
                            now=now,
                        )
        except Exception:
            log.exception("could not record the %s sync failure", self.source)
        if raised is not None:
            self.events.publish(Event(EventKind.ALERT_RAISED, raised, at=now))
        self.events.publish(Event(EventKind.SYNC_FINISHED, data=result.to_json(), at=now))
        return result

    # ------------------------------------------------------------------ properties and units

    def _sync_properties(self, result: SyncResult, *, force: bool) -> _Maps:
        now = self.clock.now()
        due = (
            force
            or self._unknown_units_seen
            or self._properties_read_at is None
            or now - self._properties_read_at >= PROPERTY_REFRESH
        )
        if not due:
            with self.db.session() as session:
                return _load_maps(session)
        properties = self.adapter.list_properties()
        if not properties:
            raise PmsError(
                f"{self.source.capitalize()} listed no properties.",
                "Check that the PMS connection may see the hotel (its scopes and property "
                "filter). Nothing stored was changed.",
            )
        with self.db.transaction() as session:
            for pms_property in properties:
                added, deactivated = _upsert_property(session, pms_property)
                result.units_added += added
                result.units_deactivated += deactivated
            maps = _load_maps(session)
        self._properties_read_at = now
        self._unknown_units_seen = False
        return maps

    # ------------------------------------------------------------------ bookings

    def _apply_page(
        self, session: Session, page: BookingPage, maps: _Maps, result: SyncResult
    ) -> None:
        wanted: dict[tuple[int, str], PmsBooking] = {}
        for booking in page.bookings:
            property_id = maps.properties.get(booking.property_pms_id)
            if property_id is None:
                result.skipped += 1
                continue
            wanted[(property_id, booking.pms_id)] = booking
        if not wanted:
            return
        existing = {
            (b.property_id, b.pms_id): b
            for b in session.scalars(
                select(Booking)
                .where(Booking.pms_id.in_({key[1] for key in wanted}))
                .options(selectinload(Booking.units))
            )
        }
        now = self.clock.now()
        new_rows: list[dict[str, Any]] = []
        new_units: dict[tuple[int, str], list[int]] = {}
        for key, incoming in wanted.items():
            property_id = key[0]
            unit_ids = []
            for unit_pms_id in incoming.unit_pms_ids:
                unit_id = maps.units.get((property_id, unit_pms_id))
                if unit_id is None:
                    self._unknown_units_seen = True
                    log.info("booking %s names unknown unit %s", incoming.pms_id, unit_pms_id)
                    continue
                if unit_id not in unit_ids:
                    unit_ids.append(unit_id)
            stored = existing.get(key)
            if stored is None:
                new_rows.append({"property_id": property_id, "pms_id": incoming.pms_id,
                                 "synced_at": now, **_fields(incoming)})
                new_units[key] = unit_ids
                continue
            if (
                stored.pms_modified_at is not None
                and incoming.modified_at is not None
                and incoming.modified_at < stored.pms_modified_at
            ):
                result.skipped += 1  # an older copy (overlapping window): ours is newer
                continue
            changed = _copy_fields(stored, incoming)
            changed |= _set_units(stored, unit_ids)
            if changed:
                stored.synced_at = now
                result.updated += 1
        if new_rows:
            # A full load is mostly new bookings: bulk INSERTs instead of one ORM object each.
            # (executemany without RETURNING: SQLite would otherwise insert row by row).
            session.execute(insert(_table(Booking)), new_rows)
            created = session.execute(
                select(Booking.id, Booking.property_id, Booking.pms_id).where(
                    Booking.pms_id.in_({row["pms_id"] for row in new_rows})
                )
            ).all()
            created = [row for row in created if (row[1], row[2]) in new_units]
            links = [
                {"booking_id": booking_id, "unit_id": unit_id}
                for booking_id, property_id, pms_id in created
                for unit_id in new_units[(property_id, pms_id)]
            ]
            if links:
                session.execute(insert(_table(BookingUnit)), links)
            result.created += len(created)


# ---------------------------------------------------------------------- helpers


def _summary(source: str, result: SyncResult) -> str:
    kind = "Full" if result.full else "Incremental"
    return (
        f"{kind} {source} sync: {result.bookings} bookings read in {result.pages} pages, "
        f"{result.created} new, {result.updated} changed"
        + (f", {result.units_added} units added" if result.units_added else "")
        + (f", {result.units_deactivated} units inactive" if result.units_deactivated else "")
        + "."
    )


def _load_maps(session: Session) -> _Maps:
    maps = _Maps()
    for pid, pms_id in session.execute(
        select(Property.id, Property.pms_id).where(Property.pms_id.is_not(None))
    ):
        if pms_id is not None:
            maps.properties[pms_id] = pid
    for uid, property_id, unit_pms_id in session.execute(
        select(Unit.id, Unit.property_id, Unit.pms_id).where(Unit.pms_id.is_not(None))
    ):
        if unit_pms_id is not None:
            maps.units[(property_id, unit_pms_id)] = uid
    return maps


def _upsert_property(session: Session, incoming: PmsProperty) -> tuple[int, int]:
    """Create or update one property and its units. Returns (units added, units made
    inactive). A property reply without any unit deactivates nothing (it may be a glitch)."""
    prop = session.scalars(select(Property).where(Property.pms_id == incoming.pms_id)).first()
    if prop is None:
        prop = Property(
            pms_id=incoming.pms_id,
            name=incoming.name,
            timezone=incoming.timezone,
            checkin_time=incoming.checkin_time,
            checkout_time=incoming.checkout_time,
        )
        session.add(prop)
        session.flush()
    else:
        _assign(prop, "name", incoming.name)
        _assign(prop, "timezone", incoming.timezone)
        _assign(prop, "checkin_time", incoming.checkin_time)
        _assign(prop, "checkout_time", incoming.checkout_time)
    units = {
        u.pms_id: u
        for u in session.scalars(select(Unit).where(Unit.property_id == prop.id))
        if u.pms_id is not None
    }
    added = 0
    for pms_unit in incoming.units:
        unit = units.get(pms_unit.pms_id)
        if unit is None:
            unit = Unit(
                property_id=prop.id,
                pms_id=pms_unit.pms_id,
                name=pms_unit.name,
                kind=pms_unit.kind,
                active=True,
                sort_order=pms_unit.sort_order,
            )
            session.add(unit)
            units[pms_unit.pms_id] = unit
            added += 1
        else:
            _assign(unit, "name", pms_unit.name)
            _assign(unit, "kind", pms_unit.kind)
            _assign(unit, "sort_order", pms_unit.sort_order)
            _assign(unit, "active", True)
    session.flush()
    for pms_unit in incoming.units:
        parent = units.get(pms_unit.parent_pms_id) if pms_unit.parent_pms_id else None
        _assign(units[pms_unit.pms_id], "parent_id", parent.id if parent else None)
    deactivated = 0
    if incoming.units:
        listed = {u.pms_id for u in incoming.units}
        for pms_id, unit in units.items():
            if pms_id not in listed and unit.active:
                unit.active = False
                deactivated += 1
    return added, deactivated


def _table(model: type[Base]) -> Table:
    """The Core table behind a model, for executemany inserts."""
    return cast(Table, model.__table__)


def _assign(obj: object, name: str, value: object) -> bool:
    if getattr(obj, name) != value:
        setattr(obj, name, value)
        return True
    return False


def _fields(incoming: PmsBooking) -> dict[str, Any]:
    """Booking columns from the PMS copy (a missing modified time never erases ours)."""
    fields: dict[str, Any] = {
        "status": incoming.status,
        "arrival": incoming.arrival,
        "departure": incoming.departure,
        "arrival_time": incoming.arrival_time,
        "departure_time": incoming.departure_time,
        "guest_name": _clip(incoming.guest_name, 200),
        "guest_email": _clip(incoming.guest_email, 320),
        "guest_phone": _clip(incoming.guest_phone, 64),
        "channel": _clip(incoming.channel, 64),
    }
    if incoming.modified_at is not None:
        fields["pms_modified_at"] = incoming.modified_at
    return fields


def _copy_fields(booking: Booking, incoming: PmsBooking) -> bool:
    changed = False
    for name, value in _fields(incoming).items():
        changed |= _assign(booking, name, value)
    return changed


def _set_units(booking: Booking, unit_ids: Sequence[int]) -> bool:
    """Make the booking's units match the PMS. A booking the PMS now shows without any room
    (unassigned) keeps its units: missing data never takes a guest's code away, and a
    cancelled booking keeps them so the right code is revoked."""
    current = {link.unit_id for link in booking.units}
    target = set(unit_ids)
    if not target:
        return False
    if current == target:
        return False
    booking.units = [link for link in booking.units if link.unit_id in target] + [
        BookingUnit(unit_id=u) for u in unit_ids if u not in current
    ]
    return True


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value else value


@dataclass
class SyncStatus:
    """For the status command and the GUI: when the last sync worked, what failed, counts."""

    source: str
    configured: bool
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    cursor: str | None = None
    properties: int = 0
    units_active: int = 0
    units_inactive: int = 0
    bookings: int = 0
    bookings_by_status: dict[str, int] = field(default_factory=dict)
    alert_open: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_success_at", "last_attempt_at", "last_error_at"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


def read_sync_status(db: Database, source: str) -> SyncStatus:
    with db.session() as session:
        state = session.scalars(select(SyncState).where(SyncState.source == source)).first()
        status = SyncStatus(source=source, configured=bool(state and state.settings))
        if state is not None:
            status.last_success_at = state.last_success_at
            status.last_attempt_at = state.last_attempt_at
            status.last_error_at = state.last_error_at
            status.last_error = state.last_error
            status.consecutive_failures = state.consecutive_failures
            status.cursor = state.cursor
        status.properties = session.scalar(
            select(func.count()).select_from(Property).where(Property.pms_id.is_not(None))
        ) or 0
        for active, count in session.execute(
            select(Unit.active, func.count()).where(Unit.pms_id.is_not(None)).group_by(Unit.active)
        ):
            if active:
                status.units_active = count
            else:
                status.units_inactive = count
        for booking_status, count in session.execute(
            select(Booking.status, func.count()).group_by(Booking.status)
        ):
            status.bookings_by_status[str(booking_status)] = count
            status.bookings += count
        status.alert_open = open_alert(session, sync_alert_key(source)) is not None
    return status
