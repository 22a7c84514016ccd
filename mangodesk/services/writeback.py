"""Door codes copied to the PMS booking, so guest emails sent by the PMS itself can show them.

Durable without a table of its own: a cursor over access-code changes (kept in the PMS's
sync_state) says which bookings changed since the last successful pass. Writing is "set the
booking's lines to this", so a pass repeated after a crash or a failure does no harm.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from mangodesk.domain.events import Event, EventKind
from mangodesk.domain.template import NO_CODE_TEXT, TemplateContext
from mangodesk.domain.types import AlertSeverity, AlertSubject
from mangodesk.pms.base import PmsAdapter, PmsAuthError, PmsError
from mangodesk.services.base import ServiceBase, ServiceDeps
from mangodesk.services.messages import MessageService
from mangodesk.store.alerts import clear_alert, raise_alert
from mangodesk.store.models import AccessCode, Booking, SyncState

log = logging.getLogger(__name__)



def write_back_alert_key(source: str) -> str:
    return f"sync:{source}:write-back"


class CodeWriteBack(ServiceBase):
    def __init__(self, deps: ServiceDeps, messages: MessageService) -> None:
        super().__init__(deps)
        self.code_messages = messages

    def run_once(self, adapter: PmsAdapter, source: str) -> int:
        """Write the codes of every booking whose codes changed since the last pass.
        Returns how many bookings were written. A transient PMS failure stops the pass
        without moving the cursor (the next pass writes them again)."""
        started = self.now()
        cursor = self._cursor(source)
        with self.db.session() as session:
            query = (
                select(Booking.id, Booking.pms_id)
                .join(AccessCode, AccessCode.booking_id == Booking.id)
                .distinct()
                .order_by(Booking.id)
            )
            if cursor is not None:
                # ">=": a change in the same instant as the last pass is written again rather
                # than missed; writing the same lines twice changes nothing in the PMS.
                query = query.where(AccessCode.updated_at >= cursor)
            changed = list(session.execute(query).all())
        written = 0
        for booking_id, pms_id in changed:
            text = self.code_messages.render_access_codes(
                booking_id, TemplateContext.MANUAL)
            lines = [line for line in text.splitlines() if not line.endswith(NO_CODE_TEXT)]
            try:
                adapter.write_back_codes(pms_id, lines)
            except PmsAuthError as exc:
                # No write access: every booking would fail the same way. Say so once and
                # keep the cursor, so the codes are written once access is granted.
                self._alert_no_access(source, exc)
                return written
            except PmsError as exc:
                if exc.transient:
                    log.warning("write-back of booking %s stopped: %s", pms_id, exc.message)
                    return written
                log.warning("write-back of booking %s skipped: %s", pms_id, exc.message)
                continue
            written += 1
        self._save_cursor(source, started)
        self._clear_no_access(source)
        return written

    def _alert_no_access(self, source: str, exc: PmsError) -> None:
        now = self.now()
        name = source.capitalize()
        with self.db.transaction() as session:
            state = session.scalars(select(SyncState).where(SyncState.source == source)).first()
            alert, is_new = raise_alert(
                session,
                dedupe_key=write_back_alert_key(source),
                severity=AlertSeverity.ERROR,
                subject_kind=AlertSubject.SYNC,
                subject_id=state.id if state else None,
                message=(
                    f"Door codes cannot be copied to the {name} bookings: {name} refused "
                    f"Mangodesk write access ({exc.message})"
                ),
                fix=(
                    f"Create a {name} invite code whose bookings scope allows writing and "
                    "connect again, or turn write-back off in the settings. The door codes "
                    "themselves work; they are written once access is granted."
                ),
                now=now,
            )
        log.warning("write-back to %s refused: %s", source, exc.message)
        if is_new:
            self.events.publish(Event(EventKind.ALERT_RAISED, alert.id, at=now))

    def _clear_no_access(self, source: str) -> None:
        now = self.now()
        with self.db.transaction() as session:
            cleared = clear_alert(session, write_back_alert_key(source), now)
        if cleared is not None:
            self.events.publish(Event(EventKind.ALERT_CLEARED, cleared.id, at=now))

    def run_scheduled(self, adapter: PmsAdapter, source: str) -> None:
        """For the engine's periodic job: never raises."""
        try:
            count = self.run_once(adapter, source)
        except Exception:
            log.exception("writing door codes back to %s failed", source)
            return
        if count:
            log.info("wrote the door codes of %d booking(s) back to %s", count, source)

    def _cursor(self, source: str) -> datetime | None:
        with self.db.session() as session:
            state = session.scalars(select(SyncState).where(SyncState.source == source)).first()
            return state.write_back_cursor if state else None

    def _save_cursor(self, source: str, instant: datetime) -> None:
        with self.db.transaction() as session:
            state = session.scalars(select(SyncState).where(SyncState.source == source)).first()
            if state is None:
                state = SyncState(source=source, consecutive_failures=0, bookings_seen=0,
                                  settings={})
                session.add(state)
            state.write_back_cursor = instant
