"""Taking work from the outbox: which operations are due, claiming one before its vendor
call (committed first, so a crash loses nothing), and recovering what a gone holder left
running.

Claiming uses column reads and conditional UPDATE statements, not ORM objects: it runs once
per call and is serialised, so its cost bounds the throughput of a burst, and the
``WHERE status = 'queued'`` makes two processes unable to claim the same operation. Claims
that arrive together share one committed transaction (group commit, :mod:`.batching`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from mangodesk.domain.clock import Clock
from mangodesk.domain.types import CodeState, ConnectionStatus, OperationKind, OperationStatus
from mangodesk.engine.batching import GroupCommit
from mangodesk.engine.config import SIGN_IN_NEEDED, EngineConfig
from mangodesk.engine.outbox import OPEN_STATUSES, OperationPayload, payload_of, set_payload
from mangodesk.engine.snapshot import capabilities_for_kind
from mangodesk.store.db import Database
from mangodesk.store.models import AccessCode, Booking, Connection, Lock, Operation, Unit
from mangodesk.vendors.base import ErrorClass
from mangodesk.vendors.registry import VendorRegistry, place_of

log = logging.getLogger(__name__)

SentWindow = tuple[str | None, datetime, datetime]  # (PIN, from, to) of a create we sent


@dataclass(frozen=True)
class Due:
    operation_id: int
    code_id: int
    connection_id: int
    serial_key: str  # operations with the same key run one after another
    connection_kind: str  # the provider, whose CallLimits bound the account


@dataclass(frozen=True)
class Job:
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
    sent: tuple[SentWindow, ...] = ()
    granularity: timedelta = timedelta(minutes=1)
    place: str = ""  # the unit and lock as staff know them, for messages
    ends_stay: bool = False  # a revoke that ends a stay early: the code becomes expired
    live_start_is_vendor_now: bool = False  # see Capabilities.live_start_is_vendor_now
    claimed_at: datetime | None = None  # the engine's "now" when it took the operation


def _rowcount(result: Any) -> int:
    """Rows an UPDATE touched (the ORM's Result type hides the cursor's count)."""
    return int(result.rowcount)


class Claims:
    """The outbox as the engine's workers see it. ``holder`` names this process in the rows
    it claims, so recovery after a take-over leaves this process's own calls alone."""

    def __init__(self, db: Database, vendors: VendorRegistry, clock: Clock,
                 config: EngineConfig, commits: GroupCommit, holder: str) -> None:
        self.db = db
        self.vendors = vendors
        self.clock = clock
        self.config = config
        self.holder = holder
        self._commits = commits

    def load_due(self, now: datetime) -> list[Due]:
        with self.db.session() as session:
            rows = session.execute(
                select(Operation.id, Operation.access_code_id, Lock.connection_id, Lock.id,
                       Lock.serial_key, Connection.kind)
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
                Due(op_id, code_id, connection_id,
                    f"{connection_id}:{serial_key}" if serial_key else f"lock:{lock_id}",
                    str(kind))
                for op_id, code_id, connection_id, lock_id, serial_key, kind in rows
            ]

    def claim(self, operation_id: int) -> Job | None:
        """Mark the operation running (committed before the call) and read what it needs;
        None when it is not ours to run now. The transaction may be shared with other
        workers' claims and outcomes (group commit); it is committed before this returns."""
        return self._commits.run(lambda session: self.claim_in(session, operation_id))

    def claim_in(self, session: Session, operation_id: int) -> Job | None:
        """:meth:`claim`'s work inside the caller's transaction."""
        now = self.clock.now()
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
        (status, kind, attempts, raw_payload, code_id, pin, vendor_ref, valid_from,
         valid_to, guest_name, unit_id, booking_id, last_error, state, lock_id, lock_name,
         vendor_lock_id, connection_id, connection_kind, booking_email, vendor_valid_from,
         vendor_valid_to, sent_windows, mobile_key_sent_to, unit_name) = row
        if status != OperationStatus.QUEUED:
            return None
        payload = OperationPayload.from_json(raw_payload)
        # Staff may type the address for a hand-made mobile key: it wins over the booking's.
        guest_email = payload.guest_email or mobile_key_sent_to or booking_email
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
        sent = sent_from_json(sent_windows)
        code_values: dict[str, Any] = {"attempts": attempts + 1}
        if kind == OperationKind.CREATE:
            # Committed before the call: after a lost reply or a crash, a code on the lock
            # with this PIN and this window is recognised as ours, and nothing else is.
            sent = (*sent, (pin, valid_from, valid_to))
            code_values["sent_windows"] = sent_to_json(sent)
        session.execute(
            update(AccessCode).where(AccessCode.id == code_id)
            .values(**code_values).execution_options(synchronize_session=False))
        caps = capabilities_for_kind(self.vendors, str(connection_kind))
        return Job(
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
            check_lock_first=payload.check_lock_first,
            create_was_tried=create_was_tried,
            attempts=attempts + 1,
            cleanup=payload.cleanup,
            vendor_valid_from=vendor_valid_from,
            vendor_valid_to=vendor_valid_to,
            sent=sent,
            granularity=max(caps.time_granularity, timedelta(minutes=1)),
            place=place_of(self.vendors, str(connection_kind), unit_name, lock_name),
            ends_stay=payload.ends_stay,
            live_start_is_vendor_now=caps.live_start_is_vendor_now,
            claimed_at=now,
        )

    def recover_interrupted(self) -> int:
        """Operations left ``running`` by a holder that is gone (a crash, or a leader whose
        lease this process took over): their outcome is unknown, so queue them again and
        make the lock be read back before anything is created, changed or removed. Only
        the lease holder calls this; its own calls in flight are left alone."""
        stale = self._commits.run(self._requeue_interrupted)
        if stale:
            log.warning("%d operation(s) were interrupted; the locks will be read back first",
                        stale)
        return stale

    def _requeue_interrupted(self, session: Session) -> int:
        now = self.clock.now()
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
            set_payload(operation, payload_of(operation).but(check_lock_first=True))
        return len(stale)


def sent_to_json(sent: tuple[SentWindow, ...]) -> list[Any]:
    return [[pin, start.isoformat(), end.isoformat()] for pin, start, end in sent]


def sent_from_json(raw: Any) -> tuple[SentWindow, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple((pin, datetime.fromisoformat(start), datetime.fromisoformat(end))
                 for pin, start, end in raw)
