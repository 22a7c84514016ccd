"""Recording how a vendor call ended, in words the desk understands.

Every outcome is written over the ORM rows of the operation and its code in one transaction
(shared with other workers' claims and outcomes that arrive together, see :mod:`.batching`;
its own SAVEPOINT then), with its audit line written through
:func:`mangodesk.store.audit.record`: success; a transient error (retry later, with jitter);
a lost answer (retry, reading the lock back first); a rejected sign-in (the codes wait, no
attempt spent); a PIN the lock already has (pick another); a code deleted in the vendor's
own app (record it, or replace a guest's code); and giving up, with an alert that never
promises retries that will not happen.

The rows are loaded ``FOR UPDATE`` and re-checked: an operation someone else reset meanwhile
(Retry now, a take-over) is left alone, and a code that moved on (a revoke queued, an expiry)
is not marked active.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mangodesk.domain.clock import Clock
from mangodesk.domain.errors import mask_code
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.domain.pins import NoFreePinError
from mangodesk.domain.types import (
    AlertSeverity,
    AlertSubject,
    AuditAction,
    AuditSubject,
    CodeOrigin,
    CodeState,
    ConnectionStatus,
    OperationKind,
    OperationStatus,
)
from mangodesk.engine.batching import GroupCommit
from mangodesk.engine.claims import Job
from mangodesk.engine.config import SIGN_IN_NEEDED, EngineConfig, Outcome
from mangodesk.engine.outbox import OperationPayload, enqueue, payload_of, set_payload
from mangodesk.engine.planning import (
    alert_event,
    choose_pin,
    code_event,
    taken_pins,
)
from mangodesk.engine.snapshot import capabilities_of
from mangodesk.store import audit
from mangodesk.store.alerts import clear_alert, raise_alert
from mangodesk.store.models import AccessCode, Connection, Operation
from mangodesk.vendors.base import ErrorClass, PermanentError, VendorCode, VendorError
from mangodesk.vendors.registry import VendorRegistry

log = logging.getLogger(__name__)

# States a successful create or update makes active; an update that ends the stay also
# expires an active code. Any other state means something newer happened meanwhile.
_BECOMES_ACTIVE = (CodeState.PENDING, CodeState.FAILED, CodeState.SCHEDULED)
_ENDED_BECOMES_EXPIRED = (*_BECOMES_ACTIVE, CodeState.ACTIVE)


@dataclass
class CallResult:
    """What the vendor call of one job gave: the code as the vendor holds it, or an error."""

    vendor_code: VendorCode | None = None
    error: VendorError | None = None
    unexpected: bool = False  # a bug in Mangodesk or an adapter, not a vendor hiccup


class Settler:
    """Writes outcomes. ``forget_adapter`` is told when a connection's sign-in was rejected
    (the next call signs in afresh); ``wake`` when a replacement code should go out now."""

    def __init__(self, vendors: VendorRegistry, clock: Clock, events: EventBus,
                 config: EngineConfig, commits: GroupCommit,
                 forget_adapter: Callable[[int], None], wake: Callable[[], None]) -> None:
        self.vendors = vendors
        self.clock = clock
        self.events = events
        self.config = config
        self._commits = commits
        self._forget_adapter = forget_adapter
        self._wake = wake
        self._random = random.SystemRandom()

    def settle(self, job: Job, result: CallResult) -> Outcome:
        """Record the outcome (committed before this returns, possibly in a transaction
        shared with other workers' claims and outcomes), then tell the desk."""
        outcome, events = self._commits.run(
            lambda session: self.settle_in(session, job, result))
        for event in events:
            self.events.publish(event)
        return outcome

    def settle_in(self, session: Session, job: Job,
                  result: CallResult) -> tuple[Outcome, list[Event]]:
        """:meth:`settle`'s work inside the caller's transaction; the events are for after
        its commit."""
        now = self.clock.now()
        events: list[Event] = []
        row = session.execute(
            select(Operation, AccessCode)
            .join(AccessCode, Operation.access_code_id == AccessCode.id)
            .where(Operation.id == job.operation_id)
            .with_for_update()
        ).first()
        if row is None:
            return Outcome.SKIPPED, events
        operation, code = row
        if operation.status != OperationStatus.RUNNING:
            return Outcome.SKIPPED, events  # reset by someone else meanwhile (e.g. Retry now)
        if result.error is None:
            outcome = self._succeeded(session, operation, code, job, result.vendor_code, now,
                                      events)
        else:
            outcome = self._failed(session, operation, code, job, result, now, events)
        return outcome, events

    # ------------------------------------------------------------------ success

    def _succeeded(self, session: Session, operation: Operation, code: AccessCode, job: Job,
                   vendor_code: VendorCode | None, now: datetime,
                   events: list[Event]) -> Outcome:
        operation.status = OperationStatus.DONE
        operation.last_error = None
        operation.last_error_class = None
        operation.updated_at = now
        code.last_error = None
        code.updated_at = now
        if job.kind == OperationKind.REVOKE and job.cleanup:
            verb = "over; deleted to free a slot on"
        elif job.kind == OperationKind.REVOKE:
            code.state = CodeState.EXPIRED if job.ends_stay else CodeState.REVOKED
            verb = "ended early on" if job.ends_stay else "removed from"
        else:
            verb = "created on" if job.kind == OperationKind.CREATE else "updated on"
            code.vendor_valid_from = job.valid_from
            code.vendor_valid_to = job.valid_to
            if vendor_code is not None:
                code.vendor_ref = vendor_code.vendor_ref
                if vendor_code.pin:
                    code.code = vendor_code.pin
                if vendor_code.mobile_key_sent_to:
                    code.mobile_key_sent_to = vendor_code.mobile_key_sent_to
            # The stay is over on the lock: the code is expired, not active.
            ended = (job.kind == OperationKind.UPDATE
                     and job.valid_to <= now + job.granularity)
            if ended:
                verb = "ended early on"
                if code.state in _ENDED_BECOMES_EXPIRED:
                    code.state = CodeState.EXPIRED
            elif code.state in _BECOMES_ACTIVE:
                # Active only if nothing newer happened meanwhile (a revoke queued, an expiry).
                code.state = CodeState.ACTIVE
        if job.had_trouble and clear_alert(session, f"code:{job.code_id}", now) is not None:
            events.append(Event(EventKind.ALERT_CLEARED, data={"code_id": job.code_id}))
        audit.record(
            session, actor=audit.AUTOMATION, action=AuditAction(f"code.{job.kind.value}"),
            subject_kind=AuditSubject.CODE, subject_id=job.code_id, now=now,
            summary=f"Code {mask_code(code.code)} {verb} the lock {job.lock_name} after "
                    f"{job.attempts} attempt(s).",
            after={"state": str(code.state)})
        log.info("operation %d (%s) done for code %d %s", job.operation_id, job.kind,
                 job.code_id, mask_code(code.code))
        events.append(Event(EventKind.CODE_CHANGED, subject_id=job.code_id, data={
            "state": str(code.state), "lock_id": job.lock_id, "unit_id": job.unit_id,
            "booking_id": job.booking_id}))
        return Outcome.DONE

    # ------------------------------------------------------------------ failure

    def _failed(self, session: Session, operation: Operation, code: AccessCode, job: Job,
                result: CallResult, now: datetime, events: list[Event]) -> Outcome:
        error = result.error
        assert error is not None
        kind = OperationKind(operation.kind)
        error_class = error.error_class
        operation.last_error_class = str(error_class)
        operation.last_error = str(error)
        operation.updated_at = now
        code.last_error = str(error)
        code.updated_at = now
        log.warning("operation %d (%s) for code %d %s failed (%s, attempt %d): %s",
                    operation.id, kind, code.id, mask_code(code.code), error_class,
                    operation.attempts, error.message)
        if error_class == ErrorClass.AUTH:
            return self._sign_in_needed(session, operation, code, job, error, now, events)
        if error_class == ErrorClass.CONFLICT and kind == OperationKind.CREATE:
            return self._pin_conflict(session, operation, code, job, now, events)
        if error_class == ErrorClass.ALREADY_GONE and kind == OperationKind.UPDATE:
            if code.origin != CodeOrigin.BOOKING:
                return self._deleted_outside(session, operation, code, job, now, events)
            return self._replace_deleted(session, operation, code, job, now, events)
        if error_class == ErrorClass.ALREADY_GONE and kind == OperationKind.CREATE:
            # An adopted code vanished before it could be moved: read back and create again.
            set_payload(operation, payload_of(operation).but(check_lock_first=True))
            error_class = ErrorClass.TRANSIENT
        if result.unexpected:
            # A bug, not a vendor hiccup: say so at once instead of retrying it 30 times.
            if kind != OperationKind.REVOKE or job.vendor_ref is None:
                set_payload(operation, payload_of(operation).but(check_lock_first=True))
            return self._give_up(session, operation, code, job, error, now, events)
        if error_class == ErrorClass.AMBIGUOUS:
            set_payload(operation, payload_of(operation).but(check_lock_first=True))
            error_class = ErrorClass.TRANSIENT
        if error_class == ErrorClass.TRANSIENT and operation.attempts < self.config.max_attempts:
            operation.status = OperationStatus.QUEUED
            operation.next_attempt_at = self._next_attempt(now, error.retry_after)
            events.append(code_event(code, retrying_at=operation.next_attempt_at.isoformat(),
                                     attempts=operation.attempts))
            return Outcome.RETRY_LATER
        if job.cleanup:
            # The code no longer opens the door: a failed clean-up is housekeeping, not an
            # emergency. A lock that fills up says so when the next code cannot be added.
            operation.status = OperationStatus.FAILED
            log.warning("could not delete expired code %d from %s: %s", code.id,
                        job.lock_name, error.message)
            return Outcome.GAVE_UP
        return self._give_up(session, operation, code, job, error, now, events)

    def _next_attempt(self, now: datetime, retry_after: float | None) -> datetime:
        jitter = self.config.jitter.total_seconds()
        delay = self.config.retry_interval + timedelta(
            seconds=self._random.uniform(-jitter, jitter) if jitter else 0.0
        )
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        return now + max(delay, timedelta(0))

    def _sign_in_needed(self, session: Session, operation: Operation, code: AccessCode,
                        job: Job, error: VendorError, now: datetime,
                        events: list[Event]) -> Outcome:
        """The account was rejected: one connection-level state and one alert. The code
        waits (the attempt is given back) until the credentials change."""
        operation.status = OperationStatus.QUEUED
        operation.attempts = max(operation.attempts - 1, 0)
        operation.next_attempt_at = now
        code.attempts = max(code.attempts - 1, 0)
        code.last_error = f"Waiting for sign-in to the lock provider: {error.message}"
        connection = session.get(Connection, job.connection_id)
        if connection is not None:
            connection.status = ConnectionStatus.NEEDS_ATTENTION
            connection.status_message = f"{SIGN_IN_NEEDED} {error.message}"
            message = (f"Sign-in needed: {connection.display_name} rejected Mangodesk's "
                       f"sign-in. {error.message} Door codes on its locks wait until then.")
            alert, is_new = raise_alert(
                session, dedupe_key=f"connection:{connection.id}:sign-in",
                severity=AlertSeverity.ERROR, subject_kind=AlertSubject.CONNECTION,
                subject_id=connection.id, message=message,
                fix=(error.fix + " " if error.fix else "") + (
                    "Sign in again (Smart Locks › Connections… › Sign in again…); the "
                    "waiting codes go out at once."),
                now=now)
            if is_new:
                events.append(alert_event(alert.id, AlertSeverity.ERROR, message))
        self._forget_adapter(job.connection_id)
        events.append(code_event(code))
        return Outcome.RETRY_LATER

    def _deleted_outside(self, session: Session, operation: Operation, code: AccessCode,
                         job: Job, now: datetime, events: list[Event]) -> Outcome:
        """A staff passcode deleted in the vendor's own app may have been deleted on purpose:
        record the truth (it no longer opens the door) and tell the desk; nothing is
        re-created behind their back."""
        before = {"state": str(code.state)}
        operation.status = OperationStatus.DONE
        operation.last_error = "The code had been deleted outside Mangodesk."
        code.state = CodeState.REVOKED
        code.vendor_ref = None
        code.last_error = None
        who = f" for {code.guest_name}" if code.guest_name else ""
        message = (f"Passcode {mask_code(code.code)}{who} on {job.place} was deleted outside "
                   "Mangodesk; it no longer opens the door.")
        alert, is_new = raise_alert(
            session, dedupe_key=f"code:{code.id}:deleted", severity=AlertSeverity.WARNING,
            subject_kind=AlertSubject.CODE, subject_id=code.id, message=message,
            fix="If it is still needed, create it again with New passcode.", now=now)
        audit.record(
            session, actor=audit.AUTOMATION, action=AuditAction.CODE_DELETED_OUTSIDE,
            subject_kind=AuditSubject.CODE, subject_id=code.id, now=now,
            summary=f"Passcode {mask_code(code.code)} was deleted outside Mangodesk.",
            before=before, after={"state": str(code.state)})
        if is_new:
            events.append(alert_event(alert.id, AlertSeverity.WARNING, message))
        events.append(code_event(code))
        return Outcome.DONE

    def _replace_deleted(self, session: Session, operation: Operation, code: AccessCode,
                         job: Job, now: datetime, events: list[Event]) -> Outcome:
        """Someone deleted the guest's code in the vendor's own app: the guest still needs a
        code, so create a new one and tell the desk."""
        operation.status = OperationStatus.DONE
        operation.last_error = "The code had been deleted outside Mangodesk; replaced."
        old_pin = code.code
        caps = capabilities_of(self.vendors, code.lock.connection)
        code.vendor_ref = None
        code.vendor_valid_from = None
        code.vendor_valid_to = None
        code.sent_windows = None
        code.last_error = None
        if caps.vendor_generates_pin or caps.mobile_key:
            code.code = None  # the vendor assigns a new one
        enqueue(session, code, OperationKind.CREATE, now, OperationPayload(
            reason="the code was deleted outside Mangodesk", replaces_deleted=True))
        code.state = CodeState.PENDING
        who = code.guest_name or "The guest"
        message = (f"{who}'s door code changed: code {mask_code(old_pin)} on {job.place} was "
                   "deleted outside Mangodesk, so Mangodesk is creating a replacement.")
        alert, is_new = raise_alert(
            session, dedupe_key=f"code:{code.id}:replaced", severity=AlertSeverity.WARNING,
            subject_kind=AlertSubject.CODE, subject_id=code.id, message=message,
            fix="Tell the guest the code shown for this booking once it is active.", now=now)
        audit.record(
            session, actor=audit.AUTOMATION, action=AuditAction.CODE_REPLACE_DELETED,
            subject_kind=AuditSubject.CODE, subject_id=code.id, now=now,
            summary=f"Code {mask_code(old_pin)} was deleted outside Mangodesk; creating a "
                    "replacement.")
        if is_new:
            events.append(alert_event(alert.id, AlertSeverity.WARNING, message))
        events.append(code_event(code))
        self._wake()  # the replacement goes out at once, not at the next tick
        return Outcome.RETRY_LATER

    def _pin_conflict(self, session: Session, operation: Operation, code: AccessCode,
                      job: Job, now: datetime, events: list[Event]) -> Outcome:
        payload = payload_of(operation)
        conflicts = payload.pin_conflicts + 1
        set_payload(operation, payload.but(pin_conflicts=conflicts))
        caps = capabilities_of(self.vendors, code.lock.connection)
        generated = code.origin == CodeOrigin.BOOKING and caps.pin_rules is not None
        if not generated or code.code is None:
            # A PIN staff chose (or the vendor's own): Mangodesk does not swap it silently.
            return self._give_up(session, operation, code, job, PermanentError(
                f"The lock refused code {mask_code(code.code)}: another code on the lock "
                "already uses it.",
                "Edit the passcode and choose another code, or remove the other code first."),
                now, events)
        if conflicts > self.config.max_pin_conflicts:
            return self._give_up(session, operation, code, job, PermanentError(
                f"The lock refused {conflicts} different codes as already in use.",
                "Check the codes stored on the lock (expired ones count on some locks), "
                "remove the ones nobody needs, then press Retry now."), now, events)
        assert caps.pin_rules is not None
        taken = taken_pins(session, code.lock_id, code.valid_from, code.valid_to,
                           except_id=code.id)
        taken.add(code.code)
        try:
            new_pin, _ = choose_pin(caps.pin_rules, taken, None)
        except NoFreePinError as exc:
            return self._give_up(session, operation, code, job,
                                 PermanentError(exc.message, exc.fix), now, events)
        log.info("code %d: the lock already has %s, trying %s", code.id, mask_code(code.code),
                 mask_code(new_pin))
        old = code.code
        code.code = new_pin
        operation.status = OperationStatus.QUEUED
        operation.next_attempt_at = now
        audit.record(
            session, actor=audit.AUTOMATION, action=AuditAction.CODE_NEW_PIN,
            subject_kind=AuditSubject.CODE,
            subject_id=code.id, now=now,
            summary=f"The lock already had code {mask_code(old)}; picked {mask_code(new_pin)}.",
        )
        if payload.replaces_code_id is not None:
            message = (f"{code.guest_name or 'The guest'} gets a new door code on {job.place}: "
                       "the old one is taken on the new lock.")
            alert, is_new = raise_alert(
                session, dedupe_key=f"code:{code.id}:new-pin", severity=AlertSeverity.WARNING,
                subject_kind=AlertSubject.CODE, subject_id=code.id, message=message,
                fix="Tell the guest the new code once it shows as active.", now=now)
            if is_new:
                events.append(alert_event(alert.id, AlertSeverity.WARNING, message))
        events.append(code_event(code))
        return Outcome.RETRY_NOW

    def _give_up(self, session: Session, operation: Operation, code: AccessCode, job: Job,
                 error: VendorError, now: datetime, events: list[Event]) -> Outcome:
        """Stop trying and say so: the alert never promises retries that will not happen."""
        kind = OperationKind(operation.kind)
        before = {"state": str(code.state)}
        operation.status = OperationStatus.FAILED
        code.state = CodeState.FAILED
        who = code.guest_name or "the guest"
        place = job.place or code.lock.name
        reason = without_retry_promises(error.message)
        vendor_fix = without_retry_promises(error.fix or "")
        critical = kind == OperationKind.REVOKE and payload_of(operation).guest_must_not_enter
        if critical:
            severity = AlertSeverity.CRITICAL
            message = (f"A guest who should not enter still can: the code of {who} on "
                       f"{place} could not be removed. {reason} Mangodesk has stopped "
                       "trying.")
            fix = ((vendor_fix + " ") if vendor_fix else "") + (
                "Remove the code on the lock by hand (or ask the lock provider), then press "
                "Retry now.")
        else:
            severity = AlertSeverity.ERROR
            action = {OperationKind.CREATE: "created", OperationKind.UPDATE: "changed",
                      OperationKind.REVOKE: "removed"}[kind]
            message = (f"The door code of {who} on {place} could not be {action} "
                       f"(gave up after {operation.attempts} attempt(s)). {reason}")
            fix = vendor_fix or "Check the lock and its connection, then press Retry now."
        alert, is_new = raise_alert(
            session, dedupe_key=f"code:{code.id}", severity=severity,
            subject_kind=AlertSubject.CODE, subject_id=code.id, message=message, fix=fix,
            now=now,
        )
        audit.record(
            session, actor=audit.AUTOMATION, action=AuditAction(f"code.{kind.value}_failed"),
            subject_kind=AuditSubject.CODE, subject_id=code.id, now=now,
            summary=f"Gave up on code {mask_code(code.code)}: {reason}",
            before=before, after={"state": str(code.state)},
        )
        events.append(Event(EventKind.OPERATION_FAILED, subject_id=operation.id,
                            data={"code_id": code.id, "kind": str(kind),
                                  "error_class": str(error.error_class),
                                  "message": reason}))
        if is_new:
            events.append(alert_event(alert.id, severity, message))
        events.append(code_event(code))
        return Outcome.GAVE_UP


_RETRY_PROMISE = re.compile(
    r"[^.!?]*\b(keeps? trying|try again|tries again|will retry|retries by itself|"
    r"picks? another (PIN|code) automatically)\b[^.!?]*[.!?]?\s*", re.IGNORECASE)


def without_retry_promises(text: str) -> str:
    """A vendor's wording is written for a retry; once the engine gave up it is false."""
    return _RETRY_PROMISE.sub("", text).strip()
