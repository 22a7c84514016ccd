"""Keep the local copy of the PMS right: properties, units and bookings, upserted by PMS id.

Rules (DESIGN "PMS sync"): one transaction per page; the cursor moves only after the last page
is committed; a failed, partial or empty sync changes nothing already stored and never causes a
revoke — bookings are never deleted, a booking missing from a reply is not cancelled, a unit
missing from its property is only marked inactive. Consecutive failures raise one sync alert,
cleared by the next sync that reads something.

Bookings are matched by PMS number alone (a move to another property moves the row) and group
membership by content (which rooms the PMS lists now). A booking a full load no longer returns
is checked by number, then flagged ``missing_from_pms_since`` with one alert; a full load that
returns nothing while stays are upcoming is a failure; a booking that cannot be read keeps its
last good copy with one alert naming it; a property list that loses most of its units is held
with an alert; a full load resumes from its last committed page after a crash.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time as time_module
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from mangodesk.domain.clock import Clock
from mangodesk.domain.errors import MangodeskError
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.domain.types import (
    AlertSeverity,
    AlertSubject,
    AuditAction,
    AuditSubject,
    BookingStatus,
)
from mangodesk.pms.base import BookingPage, PmsAdapter, PmsBooking, PmsError, PmsProperty
from mangodesk.store import audit
from mangodesk.store.alerts import clear_alert, open_alert, raise_alert
from mangodesk.store.db import Database
from mangodesk.store.models import (
    Alert,
    Base,
    Booking,
    BookingUnit,
    Connection,
    Lock,
    Property,
    SyncState,
    Unit,
    UnitLink,
)
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

# Properties and rooms change rarely: re-read them at most this often (and on a full load).
PROPERTY_REFRESH = timedelta(hours=1)


# Where a crashed full load resumes (sync_state.settings).
RESUME_KEY = "full_load_resume"
# How many pages the last complete full load had (for the next one's progress estimate).
FULL_LOAD_PAGES_KEY = "full_load_pages"
# Stored bookings a full load must have returned: those departing from this many days ago
# (the Beds24 full load reads from 7 days back; one day of margin for time zones).
FULL_LOAD_SCOPE_DAYS = 6
# A property list that suddenly drops more than this share of a property's active units
# (and at least UNIT_DROP_MIN of them) is held, not applied: "1 of 148 rooms" is a fault.
UNIT_DROP_SHARE = 0.5
UNIT_DROP_MIN = 3
INACTIVE_STATUSES = (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)
LIVE_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


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


@dataclass(frozen=True)
class SyncProgress:
    """What a progress bar needs after each committed page."""

    pages: int
    bookings: int
    has_more: bool
    full: bool
    # A full load's estimate from the last one's size: pages expected and seconds left.
    expected_pages: int | None = None
    remaining_seconds: float | None = None


def describe_progress(data: dict[str, Any]) -> str:
    """One line for staff from a SYNC_PROGRESS event's data (or asdict(SyncProgress)):
    how far a sync is and, on a long full load, about how long it still takes."""
    kind = "all bookings" if data.get("full") else "changed bookings"
    text = f"Reading {kind}: page {int(data.get('pages') or 0)}"
    if data.get("expected_pages"):
        text += f" of about {int(data['expected_pages'])}"
    text += f", {int(data.get('bookings') or 0)} bookings"
    remaining = data.get("remaining_seconds")
    if isinstance(remaining, int | float):
        text += f", about {format_duration(remaining)} left"
    return text


def format_duration(seconds: float) -> str:
    whole = max(round(seconds), 0)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


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


class _GroupIndex:
    """Stored booking groups (two rooms or more) by the PMS number of each of their rooms."""

    def __init__(self) -> None:
        self._rooms: dict[str, list[str]] = {}
        self._groups: dict[str, set[str]] = {}

    def put(self, group_id: str, members: str | None) -> None:
        """The stored row ``group_id`` now lists ``members`` (",a,b," or None)."""
        for room in self._rooms.pop(group_id, ()):
            listing = self._groups.get(room)
            if listing is not None:
                listing.discard(group_id)
        rooms = _members_list(members)
        if len(rooms) >= 2:
            self._rooms[group_id] = rooms
            for room in rooms:
                self._groups.setdefault(room, set()).add(group_id)

    def listing(self, room: str) -> set[str]:
        return self._groups.get(room, set())


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
        self._stopping = threading.Event()
        self._properties_read_at: datetime | None = None
        self._unknown_units_seen = False
        self._monotonic: Callable[[], float] = time_module.monotonic
        self._clock_started = 0.0
        self._expected_pages: int | None = None
        self._resumed = False
        self._raised: list[int] = []  # alerts raised during this run, announced at its end
        # Stored groups that lost a room to another booking this run: re-read at its end.
        self._pending_regroup: set[str] = set()
        # Stored groups (two rooms or more) by room number, read once per run and kept up to
        # date page by page, so no page scans every stored group.
        self._groups: _GroupIndex | None = None
        self._state_id = 0
        self._run_settings: dict[str, Any] = {}

    def close(self, wait_seconds: float = 60.0) -> None:
        """Stop: a running sync finishes its page and stops cleanly (nothing recorded as a
        failure) before the HTTP client is closed."""
        self._stopping.set()
        interrupt = getattr(self.adapter, "interrupt", None)
        if callable(interrupt):
            interrupt()  # a wait for Beds24's credits ends now
        if self._running.acquire(timeout=wait_seconds):
            self._running.release()
        else:
            log.warning("the %s sync did not stop within %.0f s", self.source, wait_seconds)
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
        if self._stopping.is_set():
            return SyncResult(ok=False, error="Mangodesk is closing; the sync did not start.")
        if not self._running.acquire(blocking=False):
            return SyncResult(ok=False, error="A sync is already running.")
        self._raised = []
        self._pending_regroup = set()
        self._groups = None
        try:
            result = self._run(progress, full)
        finally:
            self._running.release()
        for alert_id in self._raised:
            self.events.publish(Event(EventKind.ALERT_RAISED, alert_id, at=self.clock.now()))
        return result

    # ------------------------------------------------------------------ the run

    def _run(self, progress: Callable[[SyncProgress], None] | None, full: bool) -> SyncResult:
        started = self.clock.now()
        result = SyncResult(ok=False, started_at=started)
        cursor: str | None
        with self.db.transaction() as session:
            state = self._state(session)
            state.last_attempt_at = started
            self._state_id = state.id
            self._run_settings = {k: v for k, v in (state.settings or {}).items()
                                  if k != RESUME_KEY}
            cursor = None if full else state.cursor
            saved = (state.settings or {}).get(RESUME_KEY)
            resume = saved if cursor is None and isinstance(saved, dict) else None
            self._resumed = resume is not None
            last_pages = (state.settings or {}).get(FULL_LOAD_PAGES_KEY)
            self._expected_pages = last_pages if isinstance(last_pages, int) else None
            expected = state.bookings_seen or 0
        result.full = cursor is None
        if hasattr(self.adapter, "estimate_pages"):
            self.adapter.estimate_pages = self._expected_pages is None
        if hasattr(self.adapter, "pages_hint"):
            self.adapter.pages_hint = self._expected_pages
        seen: set[str] = set()
        self._clock_started = self._monotonic()
        try:
            maps = self._sync_properties(result, force=result.full)
            final_cursor: str | None = None
            pages = _read_ahead(self.adapter.bookings_changed_since(cursor, resume),
                                self._stopping)
            for page in pages:
                if self._stopping.is_set():
                    return self._abandon(result)
                with self.db.transaction() as session:
                    self._apply_page(session, page, maps, result)
                    self._note_unreadable(session, page)
                    if page.resume is not None:
                        self._save_resume(session, page.resume)
                result.pages += 1
                result.bookings += len(page.bookings)
                for booking in page.bookings:
                    seen.update(booking.member_pms_ids or (booking.pms_id,))
                    seen.add(booking.pms_id)
                seen.update(bad.pms_id for bad in page.unreadable)  # there, just unreadable
                if not page.has_more:
                    final_cursor = page.cursor
                self._report(progress, result, page.has_more, expected, page)
            if self._stopping.is_set():
                return self._abandon(result)
            if self._pending_regroup:
                regroup = sorted(self._pending_regroup)
                self._pending_regroup = set()
                fresh = self.adapter.bookings_by_id(regroup)
                with self.db.transaction() as session:
                    self._apply_page(session, BookingPage(fresh, 0, False), maps, result)
            if result.full:
                self._check_full_load(result, maps, seen, complete=resume is None)
        except Exception as exc:
            if self._stopping.is_set():
                return self._abandon(result)
            return self._fail(result, exc)
        # A reply with no bookings at all may be a glitch: keep the old cursor so the next
        # poll asks for the same window again (costs nothing when there really was nothing).
        # A resumed full load that found its remaining pages empty did finish, though.
        if final_cursor and (result.bookings or self._resumed):
            result.cursor = final_cursor
        return self._succeed(result)

    def _abandon(self, result: SyncResult) -> SyncResult:
        """A clean stop: pages already committed stay, nothing is recorded as a failure and
        the cursor stays where it was (the next start reads the rest)."""
        result.ok = False
        result.error = "The sync was stopped before it finished (Mangodesk is closing)."
        result.finished_at = self.clock.now()
        log.info("%s sync stopped cleanly after %d pages", self.source, result.pages)
        return result

    def _save_resume(self, session: Session, resume: dict[str, str]) -> None:
        """Every page of a full load: one UPDATE by key (the settings read at the start of
        this run are the only other ones; nothing else writes them during a run)."""
        session.execute(
            update(SyncState).where(SyncState.id == self._state_id)
            .values(settings={**self._run_settings, RESUME_KEY: dict(resume)})
        )

    def _note_unreadable(self, session: Session, page: BookingPage) -> None:
        """One alert per booking that cannot be read; its last good copy stays as it was."""
        if not page.unreadable:
            return
        now = self.clock.now()
        state = self._state(session)
        for bad in page.unreadable:
            log.warning("%s booking %s cannot be read: %s", self.source, bad.pms_id, bad.reason)
            kept = session.scalars(select(Booking).where(Booking.pms_id == bad.pms_id)).first()
            where = f"{booking_places(session, kept)}: " if kept is not None else ""
            alert, is_new = raise_alert(
                session,
                dedupe_key=unreadable_alert_key(self.source, bad.pms_id),
                severity=AlertSeverity.WARNING,
                subject_kind=AlertSubject.SYNC,
                subject_id=state.id,
                message=(
                    f"{where}Booking {bad.pms_id} in {self.source.capitalize()} cannot be read "
                    f"({bad.reason}). Mangodesk keeps the copy it had and changes nothing "
                    "for it; every other booking is updated normally."
                ),
                fix=(
                    f"Open booking {bad.pms_id} in {self.source.capitalize()} and correct it "
                    "(for example its dates); the next sync picks it up."
                ),
                now=now,
            )
            if is_new:
                self._raised.append(alert.id)

    def _check_full_load(
        self, result: SyncResult, maps: _Maps, seen: set[str], *, complete: bool
    ) -> None:
        """After a full load: an empty answer while stays are expected is a fault; stored
        bookings it did not return are checked one by one and, if really gone, flagged."""
        today = self.clock.now().date()
        with self.db.session() as session:
            upcoming = session.scalar(
                select(func.count()).select_from(Booking).where(
                    Booking.departure >= today,
                    Booking.status.not_in(INACTIVE_STATUSES),
                    Booking.property_id.in_(set(maps.properties.values())),
                )
            ) or 0
            if not seen and upcoming and complete:
                raise PmsError(
                    f"{self.source.capitalize()} returned no bookings at all, but "
                    f"{upcoming} current or upcoming stays are stored.",
                    "This looks like a fault at the PMS, not an empty hotel: nothing was "
                    "changed. Check the bookings in the PMS and its connection.",
                    transient=False,
                )
            if not complete:
                return  # resumed after a crash: what the first part saw is unknown
            since = today - timedelta(days=FULL_LOAD_SCOPE_DAYS)
            candidates = [
                pms_id for pms_id in session.scalars(
                    select(Booking.pms_id).where(
                        Booking.departure >= since,
                        Booking.missing_from_pms_since.is_(None),
                        Booking.property_id.in_(set(maps.properties.values())),
                    )
                )
                if pms_id not in seen
            ]
        if not candidates:
            return
        # Pages can shift under a long load: ask for each candidate by number before
        # believing it is gone (what comes back is applied as usual).
        found = self.adapter.bookings_by_id(candidates)
        if found:
            page = BookingPage(bookings=found, page_number=0, has_more=False)
            with self.db.transaction() as session:
                self._apply_page(session, page, maps, result)
        present = {m for b in found for m in (*b.member_pms_ids, b.pms_id)}
        gone = [pms_id for pms_id in candidates if pms_id not in present]
        if gone:
            self._flag_missing(gone)

    def _flag_missing(self, gone: Sequence[str]) -> None:
        now = self.clock.now()
        with self.db.transaction() as session:
            state = self._state(session)
            for booking in session.scalars(select(Booking).where(Booking.pms_id.in_(gone))):
                booking.missing_from_pms_since = now
                alert, is_new = raise_alert(
                    session,
                    dedupe_key=missing_alert_key(booking.id),
                    severity=AlertSeverity.WARNING,
                    subject_kind=AlertSubject.SYNC,
                    subject_id=state.id,
                    message=(
                        f"{booking_places(session, booking)}: "
                        f"Booking {booking.pms_id} ({booking.guest_name or 'no name'}, "
                        f"{booking.arrival:%d %b} – {booking.departure:%d %b}) is not in "
                        f"{self.source.capitalize()} any more. It gets no new door code; a "
                        "code it already has keeps working."
                    ),
                    fix=(
                        "If the booking was deleted on purpose, revoke its code here. If it "
                        "should exist, check it in the PMS."
                    ),
                    now=now,
                )
                if is_new:
                    self._raised.append(alert.id)
                audit.record(
                    session,
                    actor=self.actor,
                    action=AuditAction.BOOKING_MISSING_FROM_PMS,
                    subject_kind=AuditSubject.BOOKING,
                    subject_id=booking.id,
                    summary=f"Booking {booking.pms_id} is not in {self.source} any more.",
                    now=now,
                )

    def _report(
        self,
        progress: Callable[[SyncProgress], None] | None,
        result: SyncResult,
        more: bool,
        expected_bookings: int,
        page: BookingPage,
    ) -> None:
        expected_pages = remaining = None
        per_page = int(page.extra.get("raw_count", "0") or 0) if page.page_number == 1 else 0
        if per_page:
            self._page_size = per_page
        size = getattr(self, "_page_size", 0)
        counted = page.extra.get("expected_pages", "")
        if counted.isdigit() and self._expected_pages is None:
            self._expected_pages = int(counted)
        if result.full and more and (self._expected_pages or (expected_bookings and size)):
            # The last full load's page count (or the adapter's count), else the stored
            # bookings over a page's size.
            guess = self._expected_pages or -(-expected_bookings // size)
            expected_pages = max(guess, page.page_number + 1)
            elapsed = self._monotonic() - self._clock_started
            remaining = elapsed / result.pages * (expected_pages - page.page_number)
        update = SyncProgress(
            pages=result.pages, bookings=result.bookings, has_more=more, full=result.full,
            expected_pages=expected_pages, remaining_seconds=remaining,
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
            if result.full:
                kept = {k: v for k, v in (state.settings or {}).items() if k != RESUME_KEY}
                if result.cursor and not self._resumed:
                    kept[FULL_LOAD_PAGES_KEY] = result.pages
                state.settings = kept
            # Only a sync that read something proves the PMS answers properly again: an
            # empty reply after an outage is no reason to call the alert resolved.
            if result.bookings:
                cleared = clear_alert(session, sync_alert_key(self.source), now)
            if result.changed or cleared is not None:
                audit.record(
                    session,
                    actor=self.actor,
                    action=AuditAction.SYNC_RUN,
                    subject_kind=AuditSubject.SYNC,
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
        if isinstance(exc, MangodeskError):
            message = str(exc)
            reason, fix = exc.message, exc.fix
            lasting = not exc.transient if isinstance(exc, PmsError) else True
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
                            action=AuditAction.SYNC_FAILING,
                            subject_kind=AuditSubject.SYNC,
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
                added, deactivated, held = _upsert_property(session, pms_property)
                result.units_added += added
                result.units_deactivated += deactivated
                key = units_alert_key(self.source, pms_property.pms_id)
                if held:
                    self._alert_units_held(session, pms_property, held, key)
                else:
                    self._clear(session, key, now)
            maps = _load_maps(session)
        self._properties_read_at = now
        self._unknown_units_seen = False
        return maps

    def _alert_units_held(
        self, session: Session, pms_property: PmsProperty, held: int, key: str
    ) -> None:
        state = self._state(session)
        listed = len([u for u in pms_property.units])
        alert, is_new = raise_alert(
            session,
            dedupe_key=key,
            severity=AlertSeverity.ERROR,
            subject_kind=AlertSubject.SYNC,
            subject_id=state.id,
            message=(
                f"{self.source.capitalize()} suddenly lists only {listed} rooms, beds and "
                f"apartments for {pms_property.name}; {held} others would disappear. "
                "Mangodesk did not apply this and keeps them all active."
            ),
            fix=(
                "Check the rooms in the PMS. If they really were removed, mark the units "
                "inactive here; if not, the next sync that lists them clears this alert."
            ),
            now=self.clock.now(),
        )
        if is_new:
            self._raised.append(alert.id)

    # ------------------------------------------------------------------ bookings

    def _apply_page(
        self, session: Session, page: BookingPage, maps: _Maps, result: SyncResult
    ) -> None:
        """Apply one page. Bookings are matched by PMS number alone (a booking moved to
        another property is moved), group membership by content (which rooms the PMS lists
        now), never by comparing modified times across rooms."""
        wanted: dict[str, tuple[int, PmsBooking]] = {}
        elsewhere: list[str] = []
        for booking in page.bookings:
            property_id = maps.properties.get(booking.property_pms_id)
            if property_id is None:
                result.skipped += 1
                elsewhere.append(booking.pms_id)
                continue
            wanted[booking.pms_id] = (property_id, booking)
        if elsewhere:
            self._release_moved_away(session, elsewhere, result)
        if not wanted:
            return
        members = {m for _pid, b in wanted.values() for m in b.member_pms_ids}
        existing = {
            b.pms_id: b
            for b in session.scalars(
                select(Booking)
                .where(Booking.pms_id.in_(set(wanted) | members))
                .options(selectinload(Booking.units))
            )
        }
        now = self.clock.now()
        new_rows: list[dict[str, Any]] = []
        new_units: dict[str, list[int]] = {}
        # Open "cannot be read" alerts of the stored bookings on this page (new ones have
        # none): by key, so the alert table is not scanned per page.
        stored_keys = [unreadable_alert_key(self.source, pms_id)
                       for pms_id in wanted if pms_id in existing]
        unreadable_open = set(session.scalars(select(Alert.dedupe_key).where(
            Alert.dedupe_key.in_(stored_keys),
            Alert.cleared_at.is_(None),
        ))) if stored_keys else set()
        for pms_id, (property_id, incoming) in wanted.items():
            unit_ids: list[int] = []
            unknown = False
            for unit_pms_id in incoming.unit_pms_ids:
                unit_id = maps.units.get((property_id, unit_pms_id))
                if unit_id is None:
                    self._unknown_units_seen = unknown = True
                    log.info("booking %s names unknown unit %s", incoming.pms_id, unit_pms_id)
                    continue
                if unit_id not in unit_ids:
                    unit_ids.append(unit_id)
            stored = existing.get(pms_id)
            if stored is None:
                new_rows.append({"property_id": property_id, "pms_id": incoming.pms_id,
                                 "synced_at": now, **_fields(incoming)})
                new_units[pms_id] = unit_ids
                continue
            same_rooms = stored.pms_member_ids == _members_text(incoming)
            if (
                same_rooms
                and stored.pms_modified_at is not None
                and incoming.modified_at is not None
                and incoming.modified_at < stored.pms_modified_at
            ):
                result.skipped += 1  # an older copy (overlapping window): ours is newer
                continue
            was_live = stored.status in LIVE_STATUSES
            was_tentative = stored.status == BookingStatus.TENTATIVE
            changed = _assign(stored, "property_id", property_id)
            changed |= _copy_fields(stored, incoming)
            if not unknown:  # rooms not read yet: units are settled once they are
                changed |= _set_units(stored, unit_ids, incoming.status)
            if stored.missing_from_pms_since is not None:
                stored.missing_from_pms_since = None
                changed = True
                self._clear(session, missing_alert_key(stored.id), now)
            if was_live and stored.status == BookingStatus.TENTATIVE:
                self._alert_no_longer_confirmed(session, stored, now)
            elif was_tentative and stored.status in LIVE_STATUSES:
                self._clear(session, tentative_alert_key(stored.id), now)  # confirmed again
            if changed:
                stored.synced_at = now
                result.updated += 1
            if unreadable_alert_key(self.source, pms_id) in unreadable_open:
                self._clear(session, unreadable_alert_key(self.source, pms_id), now)
        if new_rows:
            # A full load is mostly new bookings: one multi-row INSERT per page that returns
            # the new ids (no ORM object each, no read-back of what was just written).
            table = _table(Booking)
            created = session.execute(
                # Rows come back in any order: each names its PMS number.
                insert(table).returning(table.c.id, table.c.pms_id),
                new_rows,
            ).all()
            links = [
                {"booking_id": booking_id, "unit_id": unit_id}
                for booking_id, pms_id in created
                for unit_id in new_units.get(pms_id, ())
            ]
            if links:
                session.execute(insert(_table(BookingUnit)), links)
            result.created += len(created)
        self._settle_membership(session, wanted, existing, result, now)

    def _release_moved_away(
        self, session: Session, pms_ids: Sequence[str], result: SyncResult
    ) -> None:
        """A stored booking now at a property Mangodesk does not sync gives its units up
        here (on the rule of a room move); the row itself stays."""
        for booking in session.scalars(
            select(Booking).where(Booking.pms_id.in_(pms_ids))
            .options(selectinload(Booking.units))
        ):
            if booking.units:
                booking.units = []
                booking.synced_at = self.clock.now()
                result.updated += 1
                log.info("booking %s moved to a property not synced", booking.pms_id)

    def _settle_membership(
        self,
        session: Session,
        wanted: dict[str, tuple[int, PmsBooking]],
        existing: dict[str, Booking],
        result: SyncResult,
        now: datetime,
    ) -> None:
        """Rooms that changed group: a room now in a group is no longer a booking of its
        own (its unit moves to the group), and a group that lost a room to another booking
        gives that room's unit up (both on the rule of a room move)."""
        groups = self._group_index(session)
        for pms_id, (_property_id, incoming) in wanted.items():
            groups.put(pms_id, _members_text(incoming))
        for pms_id, (_property_id, incoming) in wanted.items():
            for member in incoming.member_pms_ids:
                absorbed = existing.get(member)
                if member == pms_id or absorbed is None or not absorbed.units:
                    continue
                absorbed.units = []
                absorbed.pms_member_ids = None
                groups.put(member, None)
                absorbed.synced_at = now
                result.updated += 1
                log.info("booking %s joined group %s", member, pms_id)
        if not wanted:
            return
        # Stored groups one of whose rooms now belongs to a booking of this page.
        self._pending_regroup.update(
            group_id
            for _property_id, incoming in wanted.values()
            for room in incoming.member_pms_ids
            for group_id in groups.listing(room)
            if group_id not in wanted
        )

    def _group_index(self, session: Session) -> _GroupIndex:
        if self._groups is None:
            self._groups = _GroupIndex()
            # Stored groups: two rooms or more (",a,b,").
            for group_id, members in session.execute(
                select(Booking.pms_id, Booking.pms_member_ids)
                .where(Booking.pms_member_ids.like("%,%,%,%"))
            ):
                self._groups.put(group_id, members)
        return self._groups

    def _clear(self, session: Session, key: str, now: datetime) -> None:
        cleared = clear_alert(session, key, now)
        if cleared is not None:
            self.events.publish(Event(EventKind.ALERT_CLEARED, cleared.id, at=now))

    def _alert_no_longer_confirmed(self, session: Session, booking: Booking, now: datetime) -> None:
        state = self._state(session)
        alert, is_new = raise_alert(
            session,
            dedupe_key=tentative_alert_key(booking.id),
            severity=AlertSeverity.WARNING,
            subject_kind=AlertSubject.SYNC,
            subject_id=state.id,
            message=(
                f"{booking_places(session, booking)}: "
                f"Booking {booking.pms_id} ({booking.guest_name or 'no name'}) went back from "
                f"confirmed to request, inquiry or block in {self.source.capitalize()}. Its "
                "door code is kept."
            ),
            fix="Decide whether the guest still comes: revoke the code here if not.",
            now=now,
        )
        if is_new:
            self._raised.append(alert.id)


# ---------------------------------------------------------------------- helpers


def _read_ahead(
    pages: Iterator[BookingPage], stopping: threading.Event
) -> Iterator[BookingPage]:
    """The pages of ``pages`` in order, the next one fetched (on a worker thread) while the
    caller stores this one: a full load costs about the larger of the network and the
    database work instead of their sum. An error of the read comes after the pages read
    before it, as without reading ahead; at most one page is read that is not used."""
    handoff: queue.Queue[tuple[BookingPage | None, BaseException | None]] = queue.Queue(1)
    done = threading.Event()

    def read() -> None:
        try:
            for page in pages:
                while not done.is_set():
                    try:
                        handoff.put((page, None), timeout=0.05)
                        break
                    except queue.Full:
                        continue
                if done.is_set() or stopping.is_set():
                    break
            else:
                handoff.put((None, None))
        except BaseException as exc:  # handed to the caller, raised there
            handoff.put((None, exc))
        finally:
            close = getattr(pages, "close", None)
            if callable(close):
                close()

    worker = threading.Thread(target=read, name="sync-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            try:
                page, error = handoff.get(timeout=0.05)
            except queue.Empty:
                if worker.is_alive():
                    continue
                return  # stopped while closing
            if error is not None:
                raise error
            if page is None:
                return
            yield page
    finally:
        done.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.05)
        worker.join()


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


def _upsert_property(session: Session, incoming: PmsProperty) -> tuple[int, int, int]:
    """Create or update one property and its units. Returns (units added, units made
    inactive, units held). A reply that would make more than UNIT_DROP_SHARE of the active
    units (and at least UNIT_DROP_MIN) inactive is held: nothing is deactivated, the count
    is returned for an alert. A reply without any unit deactivates nothing either."""
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
    listed = {u.pms_id for u in incoming.units}
    leaving = [u for pms_id, u in units.items() if pms_id not in listed and u.active]
    if not incoming.units:
        return added, 0, 0
    active_before = sum(1 for u in units.values() if u.active) - added
    if len(leaving) >= UNIT_DROP_MIN and len(leaving) > UNIT_DROP_SHARE * active_before:
        return added, 0, len(leaving)
    for unit in leaving:
        unit.active = False
    return added, len(leaving), 0


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
        "arrival_note": _clip(incoming.arrival_note, 200),
        "pms_member_ids": _members_text(incoming),
        "language": incoming.language,
    }
    if incoming.modified_at is not None:
        fields["pms_modified_at"] = incoming.modified_at
    return fields


def _copy_fields(booking: Booking, incoming: PmsBooking) -> bool:
    changed = False
    for name, value in _fields(incoming).items():
        changed |= _assign(booking, name, value)
    return changed


def _set_units(booking: Booking, unit_ids: Sequence[int], status: BookingStatus) -> bool:
    """Make the booking's units match the PMS. A booking the PMS now shows without a room
    ("unallocated") gives its units up, on the rule of a room move; a cancelled one keeps
    them so the right code is revoked."""
    current = {link.unit_id for link in booking.units}
    target = set(unit_ids)
    if not target and status in INACTIVE_STATUSES:
        return False
    if current == target:
        return False
    booking.units = [link for link in booking.units if link.unit_id in target] + [
        BookingUnit(unit_id=u) for u in unit_ids if u not in current
    ]
    return True


def _members_text(incoming: PmsBooking) -> str | None:
    """",101,102,": every PMS number of the booking's rooms, searchable by LIKE."""
    members = [m for m in incoming.member_pms_ids if m]
    return "," + ",".join(members) + "," if members else None


def _members_list(text: str | None) -> list[str]:
    return [m for m in (text or "").split(",") if m]


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
    # Bookings a full load no longer returned (deleted in the PMS): staff decide about them.
    missing_from_pms: int = 0

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
        status.missing_from_pms = session.scalar(
            select(func.count()).select_from(Booking)
            .where(Booking.missing_from_pms_since.is_not(None))
        ) or 0
    return status
