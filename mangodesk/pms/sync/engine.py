"""The run of one PMS sync: properties when due, every page of changed bookings, then the
checks of a full load; success and failure recorded on the sync state.
"""

from __future__ import annotations

import logging
import threading
import time as time_module
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mangodesk.domain.clock import Clock
from mangodesk.domain.errors import MangodeskError
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.domain.types import AuditAction, AuditSubject
from mangodesk.pms.base import BookingPage, PmsAdapter, PmsError
from mangodesk.pms.sync import resume as resume_state
from mangodesk.pms.sync.alerts import SyncAlerts, sync_alert_key, units_alert_key
from mangodesk.pms.sync.apply import (
    INACTIVE_STATUSES,
    PageApplier,
    SyncMaps,
    load_maps,
    upsert_property,
)
from mangodesk.pms.sync.batch import PageBatch
from mangodesk.pms.sync.progress import SyncProgress, SyncResult, summary
from mangodesk.pms.sync.read_ahead import read_ahead
from mangodesk.store import audit
from mangodesk.store.alerts import clear_alert
from mangodesk.store.db import Database
from mangodesk.store.models import Booking, SyncState

log = logging.getLogger(__name__)

# Properties and rooms change rarely: re-read them at most this often (and on a full load).
PROPERTY_REFRESH = timedelta(hours=1)
# Stored bookings a full load must have returned: those departing from this many days ago
# (the Beds24 full load reads from 7 days back; one day of margin for time zones).
FULL_LOAD_SCOPE_DAYS = 6


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
        self._monotonic: Callable[[], float] = time_module.monotonic
        self._clock_started = 0.0
        self._expected_pages: int | None = None
        self._resumed = False
        self._page_size = 0
        self._state_id = 0
        self._run_settings: dict[str, Any] = {}
        self.alerts = SyncAlerts(self.source, clock, events, lambda s: self._state(s).id)
        self.pages = PageApplier(self.source, clock, self.alerts)

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
        self.alerts.start_run()
        try:
            result = self._run(progress, full)
        finally:
            self._running.release()
        self.alerts.announce_raised()
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
            self._run_settings = resume_state.without_resume(state.settings)
            cursor = None if full else state.cursor
            resume = resume_state.resume_point(state.settings) if cursor is None else None
            self._resumed = resume is not None
            self._expected_pages = resume_state.last_full_load_pages(state.settings)
            expected = state.bookings_seen or 0
            # Rows this run inserts come after this one, and were all on its pages.
            stored_before = session.scalar(select(func.max(Booking.id))) or 0
        self.pages.start_run(empty=stored_before == 0)
        result.full = cursor is None
        if hasattr(self.adapter, "estimate_pages"):
            self.adapter.estimate_pages = self._expected_pages is None
        if hasattr(self.adapter, "pages_hint"):
            self.adapter.pages_hint = self._expected_pages
        seen: set[str] = set()
        self._clock_started = self._monotonic()
        resume_at: dict[str, str] | None = None  # the last applied page's resume point

        def save_resume(session: Session) -> None:
            if resume_at is not None:
                resume_state.save_resume(session, self._state_id, self._run_settings, resume_at)

        batch = PageBatch(self.db, self._monotonic, save_resume)
        try:
            maps = self._sync_properties(result, force=result.full)
            final_cursor: str | None = None
            pages = read_ahead(self.adapter.bookings_changed_since(cursor, resume),
                                self._stopping)
            for page in pages:
                if self._stopping.is_set():
                    batch.commit()
                    return self._abandon(result)
                try:
                    session = batch.session()
                    self.pages.apply(session, page, maps, result)
                    self.alerts.note_unreadable(session, page)
                except BaseException:
                    batch.rollback()
                    raise
                if page.resume is not None:
                    resume_at = page.resume
                result.pages += 1
                result.bookings += len(page.bookings)
                seen.update(n for b in page.bookings for n in (b.pms_id, *b.member_pms_ids))
                seen.update(bad.pms_id for bad in page.unreadable)  # there, just unreadable
                if not page.has_more:
                    final_cursor = page.cursor
                batch.applied()
                self._report(progress, result, page.has_more, expected, page)
            batch.commit()
            if self._stopping.is_set():
                return self._abandon(result)
            if self.pages.pending_regroup:
                regroup = sorted(self.pages.pending_regroup)
                self.pages.pending_regroup = set()
                fresh = self.adapter.bookings_by_id(regroup)
                with self.db.transaction() as session:
                    self.pages.apply(session, BookingPage(fresh, 0, False), maps, result)
            if result.full:
                self._check_full_load(result, maps, seen, stored_before, complete=resume is None)
        except Exception as exc:
            self._keep_applied(batch)
            if self._stopping.is_set():
                return self._abandon(result)
            return self._fail(result, exc)
        finally:
            batch.rollback()  # only reached open by an interrupt: its pages are not kept
        # A reply with no bookings at all may be a glitch: keep the old cursor so the next
        # poll asks for the same window again (costs nothing when there really was nothing).
        # A resumed full load that found its remaining pages empty did finish, though.
        if final_cursor and (result.bookings or self._resumed):
            result.cursor = final_cursor
        return self._succeed(result)

    def _keep_applied(self, batch: PageBatch) -> None:
        """A read failed after some pages were applied: they are good, commit them (and
        their resume point) so the next run goes on from there."""
        try:
            batch.commit()
        except Exception:
            log.exception("could not keep the pages the %s sync read before failing",
                          self.source)

    def _abandon(self, result: SyncResult) -> SyncResult:
        """A clean stop: pages already committed stay, nothing is recorded as a failure and
        the cursor stays where it was (the next start reads the rest)."""
        result.ok = False
        result.error = "The sync was stopped before it finished (Mangodesk is closing)."
        result.finished_at = self.clock.now()
        log.info("%s sync stopped cleanly after %d pages", self.source, result.pages)
        return result

    def _check_full_load(
        self, result: SyncResult, maps: SyncMaps, seen: set[str], stored_before: int, *,
        complete: bool,
    ) -> None:
        """After a full load: an empty answer while stays are expected is a fault; stored
        bookings it did not return (rows from before it: ids up to ``stored_before``; what it
        wrote is not read back) are checked one by one and, if really gone, flagged."""
        today = self.clock.now().date()
        with self.db.session() as session:
            upcoming = 0 if seen else session.scalar(
                select(func.count()).select_from(Booking).where(
                    Booking.departure >= today,
                    Booking.status.not_in(INACTIVE_STATUSES),
                    Booking.property_id.in_(set(maps.properties.values())),
                )
            ) or 0
            if upcoming and complete:
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
                pms_id for pms_id in session.connection().scalars(
                    select(Booking.pms_id).where(
                        Booking.id <= stored_before,
                        Booking.departure >= since,
                        Booking.missing_from_pms_since.is_(None),
                        Booking.property_id.in_(set(maps.properties.values())),
                    )
                ).all()
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
                self.pages.apply(session, page, maps, result)
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
                self.alerts.missing(session, state.id, booking, now)
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
        size = self._page_size
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
                data={"source": self.source, **vars(update)},
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
                state.settings = resume_state.after_full_load(
                    state.settings,
                    result.pages if result.cursor and not self._resumed else None,
                )
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
                    summary=summary(self.source, result),
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
                    alert = self.alerts.failing(session, state.id, failures, reason, fix, now)
                    if alert is not None:
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

    def _sync_properties(self, result: SyncResult, *, force: bool) -> SyncMaps:
        now = self.clock.now()
        due = (
            force
            or self.pages.unknown_units_seen
            or self._properties_read_at is None
            or now - self._properties_read_at >= PROPERTY_REFRESH
        )
        if not due:
            with self.db.session() as session:
                return load_maps(session)
        properties = self.adapter.list_properties()
        if not properties:
            raise PmsError(
                f"{self.source.capitalize()} listed no properties.",
                "Check that the PMS connection may see the hotel (its scopes and property "
                "filter). Nothing stored was changed.",
            )
        with self.db.transaction() as session:
            for pms_property in properties:
                added, deactivated, held = upsert_property(session, pms_property)
                result.units_added += added
                result.units_deactivated += deactivated
                key = units_alert_key(self.source, pms_property.pms_id)
                if held:
                    self.alerts.units_held(session, pms_property, held, key)
                else:
                    self.alerts.clear(session, key, now)
            maps = load_maps(session)
        self._properties_read_at = now
        self.pages.unknown_units_seen = False
        return maps
