"""The engine: plans on a tick, runs the outbox on a bounded pool, retries, alerts.

Every intent is committed (access code + operation) before a vendor is called, and every
outcome is committed after, so a crash loses nothing: when a process gains the engine lease,
operations a gone holder left ``running`` are treated as ambiguous and the lock is read back
first. A code on the lock is ours only by the reference we stored, our label, or the exact
PIN and window of a create we sent (recorded before the call); an adopted code is then moved
to the window the code has now, and every update sends the window the vendor holds.

Threads: APScheduler runs the tick; the tick hands due operations to a bounded worker pool,
one task per serialisation key (a lock, or a TTLock gateway), at most
``per_connection_concurrency`` tasks per provider account at once. Database writes from the
engine are serialised by one in-process lock so the planner never races a worker.
"""

from __future__ import annotations

import logging
import os
import random
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, or_, select, update

from mangodesk.domain.clock import Clock
from mangodesk.domain.errors import MangodeskError, NotFoundError, mask_code
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.domain.pins import NoFreePinError
from mangodesk.domain.planner import plan
from mangodesk.domain.types import (
    AlertSeverity,
    AlertSubject,
    CodeOrigin,
    CodeState,
    ConnectionStatus,
    OperationKind,
    OperationStatus,
)
from mangodesk.engine.dryrun import DryRunStep, simulate
from mangodesk.engine.leadership import Leadership, LeadershipWatch, leadership_for
from mangodesk.engine.outbox import OPEN_STATUSES, enqueue
from mangodesk.engine.planning import (
    CLEANUP,
    alert_event,
    apply_actions,
    capabilities_for_kind,
    capabilities_of,
    choose_pin,
    code_event,
    load_snapshot,
    taken_pins,
)
from mangodesk.engine.retry import retry_code
from mangodesk.store import audit
from mangodesk.store.alerts import clear_alert, raise_alert
from mangodesk.store.db import Database
from mangodesk.store.models import (
    AccessCode,
    AuditEvent,
    Booking,
    Connection,
    Lock,
    Operation,
    Unit,
)
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    CodeRequest,
    ErrorClass,
    PermanentError,
    VendorAdapter,
    VendorCode,
    VendorError,
)
from mangodesk.vendors.registry import VendorRegistry, place_of
from mangodesk.vendors.resolve import adapter_for

log = logging.getLogger(__name__)

TICK_JOB_ID = "engine-tick"
WAKE_JOB_ID = "engine-wake"
SIGN_IN_NEEDED = "Sign-in needed:"  # Connection.status_message prefix: its codes wait


def _rowcount(result: Any) -> int:
    """Rows an UPDATE touched (the ORM's Result type hides the cursor's count)."""
    return int(result.rowcount)


@dataclass(frozen=True)
class EngineConfig:
    retry_interval: timedelta = timedelta(minutes=5)
    jitter: timedelta = timedelta(seconds=30)  # each retry lands within ±jitter of the interval
    max_attempts: int = 30
    max_pin_conflicts: int = 5
    tick_interval: timedelta = timedelta(seconds=30)
    worker_threads: int = 8
    per_connection_concurrency: int = 4
    shutdown_wait: timedelta = timedelta(seconds=10)
    batch_size: int = 1000  # due operations taken per run; the rest wait for the next tick

    @classmethod
    def from_settings(cls, settings: Any) -> EngineConfig:
        """Read the engine's knobs from :class:`mangodesk.settings.Settings`."""
        return cls(
            retry_interval=timedelta(minutes=settings.retry_interval_minutes),
            max_attempts=settings.max_attempts,
            tick_interval=timedelta(seconds=settings.tick_seconds),
            worker_threads=settings.worker_threads,
            per_connection_concurrency=settings.per_connection_concurrency,
        )


class Outcome(StrEnum):
    DONE = "done"
    RETRY_LATER = "retry_later"
    RETRY_NOW = "retry_now"  # a PIN conflict: a new PIN is ready, try at once
    GAVE_UP = "gave_up"
    SKIPPED = "skipped"  # not ours to run now (cancelled, or an earlier step still open)


@dataclass(frozen=True)
class _Due:
    operation_id: int
    code_id: int
    connection_id: int
    serial_key: str


@dataclass(frozen=True)
class _Job:
    """What a worker needs for one vendor call, read from the database before the call."""

    operation_id: int
    kind: OperationKind
    code_id: int
    connection_id: int
    connection_kind: str
    lock_id: int
    lock_name: str
    unit_id: int | None
    booking_id: int | None
    had_trouble: bool  # a previous error or alert may be open: clear it on success
    vendor_lock_id: str
    pin: str | None
    vendor_ref: str | None
    valid_from: datetime
    valid_to: datetime
    guest_name: str | None
    guest_email: str | None
    label: str
    check_lock_first: bool
    create_was_tried: bool
    attempts: int
    cleanup: bool = False  # deleting an expired code to free a slot: the code stays expired
    # The window the vendor holds (None when unknown: a code from before this was recorded).
    vendor_valid_from: datetime | None = None
    vendor_valid_to: datetime | None = None
    # (PIN, from, to) of every create sent for this code, this claim's included.
    sent: tuple[tuple[str | None, datetime, datetime], ...] = ()
    granularity: timedelta = timedelta(minutes=1)
    place: str = ""  # the unit and lock as staff know them, for messages
    ends_stay: bool = False  # a revoke that ends a stay early: the code becomes expired
    live_start_is_vendor_now: bool = False  # see Capabilities.live_start_is_vendor_now
    claimed_at: datetime | None = None  # the engine's "now" when it took the operation


@dataclass
class _Result:
    vendor_code: VendorCode | None = None
    error: VendorError | None = None
    unexpected: bool = False


class Engine:
    def __init__(
        self,
        db: Database,
        vendors: VendorRegistry,
        secrets: SecretStore,
        clock: Clock,
        events: EventBus,
        config: EngineConfig | None = None,
    ) -> None:
        self.db = db
        self.vendors = vendors
        self.secrets = secrets
        self.clock = clock
        self.events = events
        self.config = config or EngineConfig()
        self.paused = False
        self._write_lock = threading.RLock()
        self._batch_lock = threading.Lock()
        self._tick_lock = threading.Lock()
        self._adapters: dict[int, VendorAdapter] = {}
        self._adapters_lock = threading.Lock()
        self._pool = self._new_pool()
        self._scheduler: Any = None
        self._periodic: dict[str, tuple[Callable[[], object], float]] = {}
        self._stopping = threading.Event()
        self._inflight = 0
        self._idle = threading.Condition()
        self._random = random.SystemRandom()
        self._leading: bool | None = None
        self._leadership_lock = threading.Lock()
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.leadership: Leadership = leadership_for(db, self.holder, clock,
                                                     serialise=self._write_lock)
        self._watch: LeadershipWatch | None = None

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(
            max_workers=self.config.worker_threads, thread_name_prefix="engine-worker"
        )

    # ------------------------------------------------------------------ planning

    def plan_and_enqueue(self) -> int:
        """Run the planner over the database and queue its operations. Returns how many."""
        if self.paused:
            return 0
        now = self.clock.now()
        with self._write_lock, self.db.transaction() as session:
            snapshot = load_snapshot(session, self.vendors, now)
            actions = plan(now, snapshot.properties, snapshot.bookings, snapshot.links,
                           snapshot.codes)
            applied = apply_actions(session, actions, snapshot, now)
        for event in applied.events:
            self.events.publish(event)
        if applied.operations:
            log.info("planned %d operation(s)", applied.operations)
        return applied.operations

    def dry_run(self, until: datetime) -> list[DryRunStep]:
        """Everything automation would do from now until ``until``, in time order."""
        now = self.clock.now()
        with self.db.session() as session:
            snapshot = load_snapshot(session, self.vendors, now, horizon=until)
        # Staff ask this before switching automation on: show it as if it were on.
        snapshot.properties = {key: replace(prop, automation_enabled=True)
                               for key, prop in snapshot.properties.items()}
        return simulate(snapshot, now, until)

    # ------------------------------------------------------------------ executing

    def run_due(self, now: datetime | None = None) -> int:
        """Run every operation due at ``now`` and wait for them. Returns how many ran."""
        with self._batch_lock:
            due = self._load_due(now or self.clock.now())
            if not due:
                return 0
            groups: dict[str, list[_Due]] = defaultdict(list)
            for item in due:
                groups[item.serial_key].append(item)
            waiting: dict[int, deque[list[_Due]]] = defaultdict(deque)
            for items in groups.values():
                waiting[items[0].connection_id].append(sorted(items, key=lambda d: d.operation_id))
            running: dict[Future[int], int] = {}
            busy: dict[int, int] = defaultdict(int)
            executed = 0

            def submit_ready() -> None:
                for connection_id, queue in waiting.items():
                    while (queue and busy[connection_id] < self.config.per_connection_concurrency
                           and not self._stopping.is_set()):
                        future = self._pool.submit(self._run_group, queue.popleft())
                        running[future] = connection_id
                        busy[connection_id] += 1

            try:
                submit_ready()
            except RuntimeError:  # the pool was shut down by stop()
                return 0
            renewed = time.monotonic()
            while running:
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                if time.monotonic() - renewed > self.leadership.attempt_every.total_seconds():
                    renewed = time.monotonic()
                    self._renew_lease_quietly()
                for future in finished:
                    busy[running.pop(future)] -= 1
                    if not future.cancelled():
                        executed += future.result()
                try:
                    submit_ready()
                except RuntimeError:
                    break
            return executed

    def _load_due(self, now: datetime) -> list[_Due]:
        with self.db.session() as session:
            rows = session.execute(
                select(Operation.id, Operation.access_code_id, Lock.connection_id, Lock.id,
                       Lock.serial_key)
                .join(AccessCode, Operation.access_code_id == AccessCode.id)
                .join(Lock, AccessCode.lock_id == Lock.id)
                .join(Connection, Lock.connection_id == Connection.id)
                .where(Operation.status == OperationStatus.QUEUED,
                       Operation.next_attempt_at <= now,
                       # a rejected account: its codes wait for sign-in, spending no attempts
                       or_(Connection.status != ConnectionStatus.NEEDS_ATTENTION,
                           Connection.status_message.is_(None),
                           Connection.status_message.not_like(f"{SIGN_IN_NEEDED}%")))
                .order_by(Operation.next_attempt_at, Operation.id)
                .limit(self.config.batch_size)
            )
            return [
                _Due(op_id, code_id, connection_id,
                     f"{connection_id}:{serial_key}" if serial_key else f"lock:{lock_id}")
                for op_id, code_id, connection_id, lock_id, serial_key in rows
            ]

    def _run_group(self, items: list[_Due]) -> int:
        """One serialisation key's operations, strictly one after another."""
        with self._idle:
            self._inflight += 1
        try:
            executed = 0
            for item in items:
                for _ in range(self.config.max_pin_conflicts + 1):
                    if self._stopping.is_set() or not self._may_issue():
                        return executed
                    outcome = self._execute(item.operation_id)
                    if outcome != Outcome.SKIPPED:
                        executed += 1
                    if outcome != Outcome.RETRY_NOW:
                        break
            return executed
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def _execute(self, operation_id: int) -> Outcome:
        try:
            job = self._claim(operation_id)
        except Exception:
            log.exception("could not start operation %d", operation_id)
            return Outcome.SKIPPED
        if job is None:
            return Outcome.SKIPPED
        result = _Result()
        try:
            adapter = self._adapter(job.connection_id)
            result.vendor_code = self._call(adapter, job)
        except VendorError as exc:
            result.error = exc
        except MangodeskError as exc:  # no password in the keyring, provider not shipped
            result.error = PermanentError(exc.message, exc.fix)
        except Exception as exc:
            log.exception("operation %d: unexpected failure in the %s adapter", operation_id,
                          job.connection_kind)
            result.unexpected = True
            result.error = PermanentError(
                f"Mangodesk hit an unexpected error ({type(exc).__name__}) while talking to "
                "the lock provider.",
                "Send the log file (mangodesk.log) to support, then press Retry now.",
            )
        return self._settle(job, result)

    def _claim(self, operation_id: int) -> _Job | None:
        """Mark the operation running (committed before the call) and read what it needs.
        Column reads and UPDATE statements, not ORM objects: this runs once per call and is
        serialised, so its cost bounds the throughput of a burst."""
        now = self.clock.now()
        with self._write_lock, self.db.transaction() as session:
            row = session.execute(
                select(Operation.status, Operation.kind, Operation.attempts, Operation.payload,
                       AccessCode.id, AccessCode.code, AccessCode.vendor_ref,
                       AccessCode.valid_from, AccessCode.valid_to, AccessCode.guest_name,
                       AccessCode.unit_id, AccessCode.booking_id, AccessCode.last_error,
                       AccessCode.state, Lock.id, Lock.name, Lock.vendor_lock_id,
                       Lock.connection_id, Connection.kind, Booking.guest_email,
                       AccessCode.vendor_valid_from, AccessCode.vendor_valid_to,
                       AccessCode.sent_windows, AccessCode.mobile_key_sent_to, Unit.name)
                .join(AccessCode, Operation.access_code_id == AccessCode.id)
                .join(Lock, AccessCode.lock_id == Lock.id)
                .join(Connection, Lock.connection_id == Connection.id)
                .outerjoin(Booking, AccessCode.booking_id == Booking.id)
                .outerjoin(Unit, AccessCode.unit_id == Unit.id)
                .where(Operation.id == operation_id)
            ).first()
            if row is None:
                return None
            (status, kind, attempts, payload, code_id, pin, vendor_ref, valid_from, valid_to,
             guest_name, unit_id, booking_id, last_error, state, lock_id, lock_name,
             vendor_lock_id, connection_id, connection_kind, booking_email, vendor_valid_from,
             vendor_valid_to, sent_windows, mobile_key_sent_to, unit_name) = row
            if status != OperationStatus.QUEUED:
                return None
            # Staff may type the address for a hand-made mobile key: it wins over the booking's.
            guest_email = (payload.get("guest_email") or mobile_key_sent_to or booking_email)
            siblings = session.execute(
                select(Operation.id, Operation.kind, Operation.status, Operation.attempts)
                .where(Operation.access_code_id == code_id, Operation.id != operation_id)
            ).all()
            if any(other_id < operation_id and other_status in OPEN_STATUSES
                   for other_id, _, other_status, _ in siblings):
                return None  # an earlier step for this code is still open: it goes first
            create_was_tried = any(
                other_kind == OperationKind.CREATE and other_attempts > 0
                for _, other_kind, _, other_attempts in siblings
            ) or (kind == OperationKind.CREATE and attempts > 0)
            claimed = _rowcount(session.execute(
                update(Operation)
                .where(Operation.id == operation_id, Operation.status == OperationStatus.QUEUED)
                .values(status=OperationStatus.RUNNING, attempts=attempts + 1, updated_at=now,
                        claimed_by=self.holder)
                .execution_options(synchronize_session=False)))
            if not claimed:
                return None  # another process claimed it between our read and our write
            sent = _sent_from_json(sent_windows)
            code_values: dict[str, Any] = {"attempts": attempts + 1}
            if kind == OperationKind.CREATE:
                # Committed before the call: after a lost reply or a crash, a code on the lock
                # with this PIN and this window is recognised as ours, and nothing else is.
                sent = (*sent, (pin, valid_from, valid_to))
                code_values["sent_windows"] = _sent_to_json(sent)
            session.execute(
                update(AccessCode).where(AccessCode.id == code_id)
                .values(**code_values).execution_options(synchronize_session=False))
            caps = capabilities_for_kind(self.vendors, str(connection_kind))
            return _Job(
                operation_id=operation_id,
                kind=OperationKind(kind),
                code_id=code_id,
                connection_id=connection_id,
                connection_kind=str(connection_kind),
                lock_id=lock_id,
                lock_name=lock_name,
                unit_id=unit_id,
                booking_id=booking_id,
                had_trouble=last_error is not None or state == CodeState.FAILED,
                vendor_lock_id=vendor_lock_id,
                pin=pin,
                vendor_ref=vendor_ref,
                valid_from=valid_from,
                valid_to=valid_to,
                guest_name=guest_name,
                guest_email=guest_email,
                label=f"Mangodesk {code_id}",
                check_lock_first=bool(payload.get("check_lock_first")),
                create_was_tried=create_was_tried,
                attempts=attempts + 1,
                cleanup=bool(payload.get(CLEANUP)),
                vendor_valid_from=vendor_valid_from,
                vendor_valid_to=vendor_valid_to,
                sent=sent,
                granularity=max(caps.time_granularity, timedelta(minutes=1)),
                place=self._place(str(connection_kind), unit_name, lock_name),
                ends_stay=bool(payload.get("ends_stay")),
                live_start_is_vendor_now=caps.live_start_is_vendor_now,
                claimed_at=now,
            )

    def _place(self, connection_kind: str, unit_name: str | None, lock_name: str) -> str:
        return place_of(self.vendors, connection_kind, unit_name, lock_name)

    def _adapter(self, connection_id: int) -> VendorAdapter:
        with self._adapters_lock:
            adapter = self._adapters.get(connection_id)
            if adapter is None:
                with self.db.session() as session:
                    connection = session.get(Connection, connection_id)
                    if connection is None:
                        raise NotFoundError("The lock provider connection was removed.")
                    adapter = adapter_for(connection, self.vendors, self.secrets)
                self._adapters[connection_id] = adapter
            return adapter

    def forget_adapter(self, connection_id: int) -> None:
        """Drop a cached adapter (its connection's settings or password changed)."""
        with self._adapters_lock:
            adapter = self._adapters.pop(connection_id, None)
        if adapter is not None:
            adapter.close()

    def _call(self, adapter: VendorAdapter, job: _Job) -> VendorCode | None:
        if job.kind == OperationKind.CREATE:
            if job.check_lock_first:
                found = self._find_on_lock(adapter, job)
                if found is not None:
                    log.info("code %d was already on the lock (a lost reply): %s", job.code_id,
                             mask_code(found.pin))
                    return self._bring_to_window(adapter, job, found)
            return adapter.create_code(job.vendor_lock_id, CodeRequest(
                valid_from=job.valid_from, valid_to=job.valid_to, pin=job.pin,
                guest_name=job.guest_name, guest_email=job.guest_email, label=job.label,
            ))
        if job.kind == OperationKind.UPDATE:
            if job.vendor_ref is None:
                raise PermanentError("The code cannot be changed: it was never created on the "
                                     "lock.", "Press Retry now to create it.")
            held = VendorCode(job.vendor_ref, job.pin,
                              job.vendor_valid_from or job.valid_from,
                              job.vendor_valid_to or job.valid_to, job.label)
            if job.check_lock_first:
                # The last update's answer was lost: what the vendor holds is unknown. Not
                # seeing it proves nothing; the update itself then says if it is gone.
                found = self._find_on_lock(adapter, job)
                if found is not None:
                    held = _with_known_window(found, held)
            return adapter.update_code(job.vendor_lock_id, held, job.valid_from, job.valid_to)
        self._revoke(adapter, job)
        return None

    def _revoke(self, adapter: VendorAdapter, job: _Job) -> None:
        """Done only when the vendor confirms, says the code is gone, or a read-back shows
        it gone; anything uncertain raises and the operation stays open."""
        if job.vendor_ref is None:
            if not (job.create_was_tried or job.check_lock_first):
                return None  # never sent to the vendor: nothing can be on the lock
            found = self._find_on_lock(adapter, job)
            if found is None:
                return None
            target = found
        else:
            target = VendorCode(job.vendor_ref, job.pin, job.vendor_valid_from or job.valid_from,
                                job.vendor_valid_to or job.valid_to, job.label)
        try:
            adapter.revoke_code(job.vendor_lock_id, target)
        except AlreadyGoneError:
            log.info("code %d was already gone from the lock", job.code_id)
        except AmbiguousError:
            if self._find_on_lock(adapter, job) is not None:
                raise
            log.info("code %d: the revoke's answer was lost; the read-back shows it gone",
                     job.code_id)
        return None

    def _bring_to_window(self, adapter: VendorAdapter, job: _Job,
                         found: VendorCode) -> VendorCode:
        """An adopted code keeps the window it was created with; the code may have moved
        since (the date change was folded into the create): send the current one."""
        held = found
        if found.valid_from is None or found.valid_to is None:
            window = _matching_sent(found, job)
            if window is None:
                return found  # recognised by ref or label, window unknown: leave it
            held = replace(found, valid_from=window[0], valid_to=window[1])
        assert held.valid_from is not None and held.valid_to is not None
        if _same_window(held.valid_from, held.valid_to, job.valid_from, job.valid_to, job):
            return found
        log.info("code %d: moving the adopted code to its current window", job.code_id)
        return adapter.update_code(job.vendor_lock_id, held, job.valid_from, job.valid_to)

    @staticmethod
    def _find_on_lock(adapter: VendorAdapter, job: _Job) -> VendorCode | None:
        """Read the lock back. A code is ours only by the reference we stored, our label, or
        the exact PIN and window of a create we sent: never by PIN alone, so a stranger's
        code that happens to share the PIN is left alone."""
        candidates = adapter.list_codes(job.vendor_lock_id)
        for candidate in candidates:
            if job.vendor_ref is not None and candidate.vendor_ref == job.vendor_ref:
                return candidate
        for candidate in candidates:
            if candidate.name and (candidate.name == job.label
                                   or candidate.name.startswith(job.label + " ")):
                return candidate
            if _matching_sent(candidate, job) is not None:
                return candidate
            if job.pin is None and _same_mobile_key(candidate, job):
                return candidate
        return None

    # ------------------------------------------------------------------ outcomes

    def _settle(self, job: _Job, result: _Result) -> Outcome:
        now = self.clock.now()
        events: list[Event] = []
        if result.error is None:
            with self._write_lock, self.db.transaction() as session:
                outcome = self._succeeded(session, job, result.vendor_code, now, events)
            for event in events:
                self.events.publish(event)
            return outcome
        with self._write_lock, self.db.transaction() as session:
            row = session.execute(
                select(Operation, AccessCode, Lock)
                .join(AccessCode, Operation.access_code_id == AccessCode.id)
                .join(Lock, AccessCode.lock_id == Lock.id)
                .where(Operation.id == job.operation_id)
            ).first()
            if row is None:
                return Outcome.SKIPPED
            operation, code, _ = row
            outcome = self._failed(session, operation, code, job, result, now, events)
        for event in events:
            self.events.publish(event)
        return outcome

    def _succeeded(self, session: Any, job: _Job, vendor_code: VendorCode | None,
                   now: datetime, events: list[Event]) -> Outcome:
        """Record success with plain statements (see :meth:`_claim` for why)."""
        fast = {"synchronize_session": False}
        done = session.execute(
            update(Operation)
            .where(Operation.id == job.operation_id, Operation.status == OperationStatus.RUNNING)
            .values(status=OperationStatus.DONE, last_error=None, last_error_class=None,
                    updated_at=now).execution_options(**fast))
        if _rowcount(done) == 0:
            return Outcome.SKIPPED  # reset by someone else meanwhile (e.g. Retry now)
        values: dict[str, Any] = {"last_error": None, "updated_at": now}
        ended = False  # the stay is over on the lock: the code is expired, not active
        if job.kind == OperationKind.REVOKE and job.cleanup:
            verb = "over; deleted to free a slot on"
        elif job.kind == OperationKind.REVOKE:
            values["state"] = CodeState.EXPIRED if job.ends_stay else CodeState.REVOKED
            verb = "ended early on" if job.ends_stay else "removed from"
        else:
            verb = "created on" if job.kind == OperationKind.CREATE else "updated on"
            values["vendor_valid_from"] = job.valid_from
            values["vendor_valid_to"] = job.valid_to
            ended = (job.kind == OperationKind.UPDATE
                     and job.valid_to <= now + job.granularity)
            if ended:
                verb = "ended early on"
            if vendor_code is not None:
                values["vendor_ref"] = vendor_code.vendor_ref
                if vendor_code.pin:
                    values["code"] = vendor_code.pin
                if vendor_code.mobile_key_sent_to:
                    values["mobile_key_sent_to"] = vendor_code.mobile_key_sent_to
        session.execute(update(AccessCode).where(AccessCode.id == job.code_id).values(**values)
                        .execution_options(**fast))
        if ended:
            session.execute(
                update(AccessCode)
                .where(AccessCode.id == job.code_id, AccessCode.state.in_(
                    (CodeState.PENDING, CodeState.FAILED, CodeState.SCHEDULED,
                     CodeState.ACTIVE)))
                .values(state=CodeState.EXPIRED).execution_options(**fast))
        elif job.kind != OperationKind.REVOKE:
            # Active only if nothing newer happened meanwhile (a revoke queued, an expiry).
            session.execute(
                update(AccessCode)
                .where(AccessCode.id == job.code_id, AccessCode.state.in_(
                    (CodeState.PENDING, CodeState.FAILED, CodeState.SCHEDULED)))
                .values(state=CodeState.ACTIVE).execution_options(**fast))
        state, pin = session.execute(
            select(AccessCode.state, AccessCode.code).where(AccessCode.id == job.code_id)).one()
        if job.had_trouble and clear_alert(session, f"code:{job.code_id}", now) is not None:
            events.append(Event(EventKind.ALERT_CLEARED, data={"code_id": job.code_id}))
        session.execute(insert(AuditEvent).values(
            at=now, actor=audit.AUTOMATION, action=f"code.{job.kind.value}",
            subject_kind="access_code", subject_id=job.code_id,
            summary=f"Code {mask_code(pin)} {verb} the lock {job.lock_name} after "
                    f"{job.attempts} attempt(s).",
            after={"state": str(state)}))
        log.info("operation %d (%s) done for code %d %s", job.operation_id, job.kind,
                 job.code_id, mask_code(pin))
        events.append(Event(EventKind.CODE_CHANGED, subject_id=job.code_id, data={
            "state": str(state), "lock_id": job.lock_id, "unit_id": job.unit_id,
            "booking_id": job.booking_id}))
        return Outcome.DONE

    def _failed(self, session: Any, operation: Operation, code: AccessCode, job: _Job,
                result: _Result, now: datetime, events: list[Event]) -> Outcome:
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
            return self._pin_conflict(session, operation, code, job, error, now, events)
        if error_class == ErrorClass.ALREADY_GONE and kind == OperationKind.UPDATE:
            if code.origin != CodeOrigin.BOOKING:
                return self._deleted_outside(session, operation, code, job, now, events)
            return self._replace_deleted(session, operation, code, job, now, events)
        if error_class == ErrorClass.ALREADY_GONE and kind == OperationKind.CREATE:
            # An adopted code vanished before it could be moved: read back and create again.
            operation.payload = {**operation.payload, "check_lock_first": True}
            error_class = ErrorClass.TRANSIENT
        if result.unexpected:
            # A bug, not a vendor hiccup: say so at once instead of retrying it 30 times.
            if kind != OperationKind.REVOKE or job.vendor_ref is None:
                operation.payload = {**operation.payload, "check_lock_first": True}
            return self._give_up(session, operation, code, job, error, now, events)
        if error_class == ErrorClass.AMBIGUOUS:
            operation.payload = {**operation.payload, "check_lock_first": True}
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

    def _sign_in_needed(self, session: Any, operation: Operation, code: AccessCode, job: _Job,
                        error: VendorError, now: datetime, events: list[Event]) -> Outcome:
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
        with self._adapters_lock:
            self._adapters.pop(job.connection_id, None)
        events.append(code_event(code))
        return Outcome.RETRY_LATER

    def _deleted_outside(self, session: Any, operation: Operation, code: AccessCode, job: _Job,
                         now: datetime, events: list[Event]) -> Outcome:
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
            session, actor=audit.AUTOMATION, action="code.deleted_outside",
            subject_kind="access_code", subject_id=code.id, now=now,
            summary=f"Passcode {mask_code(code.code)} was deleted outside Mangodesk.",
            before=before, after={"state": str(code.state)})
        if is_new:
            events.append(alert_event(alert.id, AlertSeverity.WARNING, message))
        events.append(code_event(code))
        return Outcome.DONE

    def _replace_deleted(self, session: Any, operation: Operation, code: AccessCode, job: _Job,
                         now: datetime, events: list[Event]) -> Outcome:
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
        enqueue(session, code, OperationKind.CREATE, now,
                {"reason": "the code was deleted outside Mangodesk", "replaces_deleted": True})
        code.state = CodeState.PENDING
        who = code.guest_name or "The guest"
        message = (f"{who}'s door code changed: code {mask_code(old_pin)} on {job.place} was "
                   "deleted outside Mangodesk, so Mangodesk is creating a replacement.")
        alert, is_new = raise_alert(
            session, dedupe_key=f"code:{code.id}:replaced", severity=AlertSeverity.WARNING,
            subject_kind=AlertSubject.CODE, subject_id=code.id, message=message,
            fix="Tell the guest the code shown for this booking once it is active.", now=now)
        audit.record(
            session, actor=audit.AUTOMATION, action="code.replace_deleted",
            subject_kind="access_code", subject_id=code.id, now=now,
            summary=f"Code {mask_code(old_pin)} was deleted outside Mangodesk; creating a "
                    "replacement.")
        if is_new:
            events.append(alert_event(alert.id, AlertSeverity.WARNING, message))
        events.append(code_event(code))
        self.wake()  # the replacement goes out at once, not at the next tick
        return Outcome.RETRY_LATER

    def _next_attempt(self, now: datetime, retry_after: float | None) -> datetime:
        jitter = self.config.jitter.total_seconds()
        delay = self.config.retry_interval + timedelta(
            seconds=self._random.uniform(-jitter, jitter) if jitter else 0.0
        )
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        return now + max(delay, timedelta(0))

    def _pin_conflict(self, session: Any, operation: Operation, code: AccessCode, job: _Job,
                      error: VendorError, now: datetime, events: list[Event]) -> Outcome:
        conflicts = int(operation.payload.get("pin_conflicts", 0)) + 1
        operation.payload = {**operation.payload, "pin_conflicts": conflicts}
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
            session, actor=audit.AUTOMATION, action="code.new_pin", subject_kind="access_code",
            subject_id=code.id, now=now,
            summary=f"The lock already had code {mask_code(old)}; picked {mask_code(new_pin)}.",
        )
        if operation.payload.get("replaces_code_id") is not None:
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

    def _give_up(self, session: Any, operation: Operation, code: AccessCode, job: _Job,
                 error: VendorError, now: datetime, events: list[Event]) -> Outcome:
        """Stop trying and say so: the alert never promises retries that will not happen."""
        kind = OperationKind(operation.kind)
        before = {"state": str(code.state)}
        operation.status = OperationStatus.FAILED
        code.state = CodeState.FAILED
        who = code.guest_name or "the guest"
        place = job.place or code.lock.name
        reason = _without_retry_promises(error.message)
        vendor_fix = _without_retry_promises(error.fix or "")
        critical = kind == OperationKind.REVOKE and bool(
            operation.payload.get("guest_must_not_enter"))
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
            session, actor=audit.AUTOMATION, action=f"code.{kind.value}_failed",
            subject_kind="access_code", subject_id=code.id, now=now,
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

    # ------------------------------------------------------------------ staff and recovery

    def retry_now(self, code_id: int, actor: str) -> None:
        """Run the code's operation again at once with fresh attempts (see :mod:`.retry`)."""
        with self._write_lock:
            retry_code(self.db, self.clock, self.events, code_id, actor)
        self.wake()

    def recover_interrupted(self) -> int:
        """Operations left ``running`` by a holder that is gone (a crash, or a leader whose
        lease this process took over): their outcome is unknown, so queue them again and
        make the lock be read back before anything is created, changed or removed. Only
        the lease holder calls this; its own calls in flight are left alone."""
        now = self.clock.now()
        with self._write_lock, self.db.transaction() as session:
            stale = list(session.scalars(
                select(Operation).where(Operation.status == OperationStatus.RUNNING,
                                        or_(Operation.claimed_by.is_(None),
                                            Operation.claimed_by != self.holder))))
            for operation in stale:
                operation.status = OperationStatus.QUEUED
                operation.next_attempt_at = now
                operation.updated_at = now
                operation.last_error_class = str(ErrorClass.AMBIGUOUS)
                operation.last_error = "Interrupted while talking to the lock provider."
                operation.payload = {**operation.payload, "check_lock_first": True}
        if stale:
            log.warning("%d operation(s) were interrupted; the locks will be read back first",
                        len(stale))
        return len(stale)

    # ------------------------------------------------------------------ scheduling

    def tick(self) -> int:
        """Plan, then run what is due. Safe to call from any thread; ticks never overlap."""
        with self._tick_lock:
            if self._stopping.is_set():
                return 0
            if not self._follow_leadership():
                return 0
            try:
                self.plan_and_enqueue()
            except Exception:
                log.exception("planning failed; operations already queued still run")
            return self.run_due()

    def _follow_leadership(self) -> bool:
        """Take or keep the leadership; when it changes hands, say so, and on gaining it
        recover what the previous leader left running (it is gone: its session or lease
        ended)."""
        leading = self.hold_lease()
        with self._leadership_lock:
            if leading == self._leading:
                return leading
            if leading:
                self.recover_interrupted()
            self._leading = leading
        log.info("this process %s the automation", "now runs" if leading else
                 "stands by: another Mangodesk on this database runs")
        self.events.publish(Event(EventKind.ENGINE_STATE, data={"leading": leading}))
        return leading

    def _watch_leadership(self) -> None:
        """The leadership timer (its own thread): keep it, or take it over from a desk that
        died, and then tick at once rather than at the next interval."""
        if self._stopping.is_set():
            return
        was_leading = self._leading
        if self._follow_leadership() and not was_leading:
            self.wake()

    def _may_issue(self) -> bool:
        """False once this process knows it lost the leadership: start no more calls.
        (Batches run without ticking, as tests do, have no leadership to lose.)"""
        return self._leading is None or (self._leading and self.leadership.held)

    def hold_lease(self) -> bool:
        """Take or keep the leadership; False while another process holds it. Several
        desks (or the desk window and the headless service) may share one database, and
        exactly one of them may plan and call vendors."""
        return self.leadership.acquire()

    def _renew_lease_quietly(self) -> None:
        """Keep the leadership through a long batch (only if we hold it: tests run batches
        without ticking)."""
        try:
            self.leadership.renew()
        except Exception:
            log.exception("could not renew the engine lease")

    def release_lease(self) -> None:
        self.leadership.release()

    def _safe_tick(self) -> None:
        try:
            self.tick()
        except Exception:
            log.exception("engine tick failed")

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        """Recover from a crash, then tick periodically (the first tick at once: catch-up)."""
        from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        if self._scheduler is not None:
            return
        self._stopping.clear()
        if getattr(self._pool, "_shutdown", False):
            self._pool = self._new_pool()
        # No recovery here: another process may lead and have calls in flight. The first
        # tick that gains the lease recovers what a dead holder left running.
        self._leading = None
        scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": JobExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        scheduler.add_job(self._safe_tick, "interval", id=TICK_JOB_ID,
                          seconds=self.config.tick_interval.total_seconds(),
                          next_run_time=datetime.now(UTC))
        for name, (job, seconds) in self._periodic.items():
            scheduler.add_job(job, "interval", id=name, seconds=seconds,
                              next_run_time=datetime.now(UTC))
        scheduler.start()
        self._scheduler = scheduler
        self._watch = LeadershipWatch(self._watch_leadership, self.leadership.attempt_every)
        self._watch.start()
        self.events.publish(Event(EventKind.ENGINE_STATE, data={"running": True}))
        log.info("engine started")

    def add_periodic_job(self, name: str, func: Callable[[], object], seconds: float, *,
                         leader_only: bool = False) -> None:
        """Run ``func`` every ``seconds`` while the engine runs (the PMS sync hooks in here).
        A ``leader_only`` job runs only in the process holding the engine lease: with several
        desks on one database, guest mail is sent once and the PMS credits are spent once."""

        def guarded() -> None:
            self.run_periodic(name, func, leader_only=leader_only)

        self._periodic[name] = (guarded, seconds)
        if self._scheduler is not None:
            self._scheduler.add_job(guarded, "interval", id=name, seconds=seconds,
                                    replace_existing=True, next_run_time=datetime.now(UTC))

    def run_periodic(self, name: str, func: Callable[[], object], *,
                     leader_only: bool = False) -> bool:
        """One run of a periodic job; False when skipped because another process leads."""
        try:
            if leader_only and not self.hold_lease():
                return False
            func()
        except Exception:
            log.exception("periodic job %s failed", name)
        return True

    def wake(self) -> None:
        """Tick as soon as possible (after a staff action queued something)."""
        if self._scheduler is None:
            return
        self._scheduler.add_job(self._safe_tick, id=WAKE_JOB_ID, replace_existing=True,
                                next_run_time=datetime.now(UTC))

    def stop(self, wait_seconds: float | None = None) -> bool:
        """Stop ticking; wait up to the bound for calls in flight; leave the rest queued.
        Returns True when nothing was left in flight."""
        bound = (self.config.shutdown_wait.total_seconds() if wait_seconds is None
                 else wait_seconds)
        self._stopping.set()
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()
        with self._idle:
            idle = self._idle.wait_for(lambda: self._inflight == 0, timeout=bound)
        self._pool.shutdown(wait=idle, cancel_futures=True)
        if idle:
            with self._adapters_lock:
                adapters, self._adapters = list(self._adapters.values()), {}
            for adapter in adapters:
                try:
                    adapter.close()
                except Exception:
                    log.exception("closing an adapter failed")
        else:
            log.warning("stopped with calls still in flight; they will be checked on next start")
        try:
            self.release_lease()
        except Exception:
            log.exception("could not release the engine lease; it expires by itself")
        self.events.publish(Event(EventKind.ENGINE_STATE, data={"running": False}))
        return idle


_RETRY_PROMISE = re.compile(
    r"[^.!?]*\b(keeps? trying|try again|tries again|will retry|retries by itself|"
    r"picks? another (PIN|code) automatically)\b[^.!?]*[.!?]?\s*", re.IGNORECASE)


def _without_retry_promises(text: str) -> str:
    """A vendor's wording is written for a retry; once the engine gave up it is false."""
    return _RETRY_PROMISE.sub("", text).strip()


def _sent_to_json(sent: tuple[tuple[str | None, datetime, datetime], ...]) -> list[Any]:
    return [[pin, start.isoformat(), end.isoformat()] for pin, start, end in sent]


def _sent_from_json(raw: Any) -> tuple[tuple[str | None, datetime, datetime], ...]:
    if not isinstance(raw, list):
        return ()
    return tuple((pin, datetime.fromisoformat(start), datetime.fromisoformat(end))
                 for pin, start, end in raw)


def _matching_sent(candidate: VendorCode, job: _Job) -> tuple[datetime, datetime] | None:
    """The window of a create we sent with exactly this PIN and window (vendors round to
    their granularity), or None: a PIN alone proves nothing."""
    if candidate.pin is None or candidate.valid_from is None or candidate.valid_to is None:
        return None
    for pin, start, end in job.sent:
        if pin == candidate.pin and _same_window(candidate.valid_from, candidate.valid_to,
                                                 start, end, job):
            return start, end
    return None


def _same_window(held_from: datetime, held_to: datetime, start: datetime, end: datetime,
                 job: _Job) -> bool:
    """The vendor holds the window we sent, to its granularity. Where the vendor documents
    that a code created late starts at its own "now" (Smartair check-in), a start that has
    already passed inside our window is ours too (a later, future start is another stay's or
    an old window's); the end must still be exact."""
    if abs(held_to - end) >= job.granularity:
        return False
    if abs(held_from - start) < job.granularity:
        return True
    return (job.live_start_is_vendor_now and job.claimed_at is not None
            and start <= held_from <= job.claimed_at and held_from < end)


def _with_known_window(found: VendorCode, fallback: VendorCode) -> VendorCode:
    """The code as read back, with the recorded window where the vendor reports none."""
    return replace(found, valid_from=found.valid_from or fallback.valid_from,
                   valid_to=found.valid_to or fallback.valid_to,
                   name=found.name or fallback.name)


def _same_mobile_key(candidate: VendorCode, job: _Job) -> bool:
    """A mobile key carries no label of ours (Flexipass): recognise it by the guest's email
    and the exact window of a create we sent, like a PIN (another key for the same guest,
    e.g. from an earlier stay, is not ours)."""
    if not (candidate.mobile_key_sent_to and job.guest_email):
        return False
    if candidate.mobile_key_sent_to.casefold() != job.guest_email.casefold():
        return False
    if candidate.valid_from is None or candidate.valid_to is None:
        return True  # the vendor shows no window: the email on this lock is all there is
    return any(_same_window(candidate.valid_from, candidate.valid_to, start, end, job)
               for _, start, end in job.sent)


__all__ = ["DryRunStep", "Engine", "EngineConfig", "Outcome"]
