"""Between the pure planner and the database: write the planned intent.

:func:`apply_actions` turns planned actions into access-code rows and queued operations in
the caller's transaction, so intent and outbox are committed together before any vendor
call. What the planner reads is in :mod:`.snapshot`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mangodesk.domain.errors import mask_code
from mangodesk.domain.events import Event, EventKind
from mangodesk.domain.pinrules import PinRules
from mangodesk.domain.pins import NoFreePinError, generate_pin, pin_problem, prefix_clash
from mangodesk.domain.planner import (
    CreateCode,
    ExpireCode,
    IssueBlocked,
    PlannedAction,
    RevokeCode,
    UpdateWindow,
)
from mangodesk.domain.types import (
    CURRENT_CODE_STATES,
    ENDED_CODE_STATES,
    AlertSeverity,
    AlertSubject,
    AuditAction,
    AuditSubject,
    CodeOrigin,
    CodeState,
    OperationKind,
    OperationStatus,
)
from mangodesk.engine.outbox import (
    OperationPayload,
    enqueue,
    open_operations,
    payload_of,
    set_payload,
)
from mangodesk.engine.snapshot import NOT_AUTOMATED, Snapshot
from mangodesk.store import audit
from mangodesk.store.alerts import clear_alert, raise_alert
from mangodesk.store.models import (
    AccessCode,
    Connection,
    Lock,
    Operation,
    Unit,
)
from mangodesk.vendors.base import PinScope
from mangodesk.vendors.registry import default_specs

log = logging.getLogger(__name__)

@dataclass
class Applied:
    """What one planning pass changed, for the caller to publish after the commit."""

    events: list[Event] = field(default_factory=list)
    operations: int = 0


_DEFAULT_SCOPES: dict[str, PinScope] = {}


def pin_scope_of_lock(session: Session, lock_id: int) -> PinScope:
    """The scope the shipped provider of this lock checks a new PIN in."""
    if not _DEFAULT_SCOPES:
        _DEFAULT_SCOPES.update({str(spec.kind): spec.capabilities.pin_scope
                                for spec in default_specs()})
    kind = session.scalar(select(Connection.kind).join(Lock, Lock.connection_id == Connection.id)
                          .where(Lock.id == lock_id))
    return _DEFAULT_SCOPES.get(str(kind), PinScope.LOCK_LIVE)


@dataclass(frozen=True)
class PinHolder:
    """A code that already has a PIN where the vendor will check a new one."""

    code_id: int
    pin: str
    description: str  # "Ada Smith's code on Room 101 (12 Jun 15:00 to 14 Jun 11:00 UTC)"


def pin_holders(session: Session, lock_id: int, start: datetime | None, end: datetime | None,
                except_id: int | None = None, *,
                scope: PinScope | None = None) -> list[PinHolder]:
    """Every code the vendor compares a new PIN on ``lock_id`` against: the lock's live codes
    overlapping the window (most vendors), every code stored on the lock, expired ones
    included (TTLock), or overlapping codes on any lock of the same site (Smartair).
    Without a window: every live code in scope."""
    scope = scope or pin_scope_of_lock(session, lock_id)
    query = (select(AccessCode, Lock.name, Unit.name)
             .join(Lock, Lock.id == AccessCode.lock_id)
             .outerjoin(Unit, Unit.id == AccessCode.unit_id)
             .where(AccessCode.code.is_not(None)))
    if scope == PinScope.LOCK_ALL:
        # Expired codes stay stored on the lock until deleted; a revoked one is gone.
        query = query.where(AccessCode.lock_id == lock_id,
                            AccessCode.state != CodeState.REVOKED)
    else:
        if scope == PinScope.SITE_OVERLAPPING:
            site = select(Lock.connection_id).where(Lock.id == lock_id).scalar_subquery()
            query = query.where(Lock.connection_id == site)
        else:
            query = query.where(AccessCode.lock_id == lock_id)
        query = query.where(AccessCode.state.not_in(ENDED_CODE_STATES))
        if start is not None and end is not None:
            query = query.where(AccessCode.valid_from < end, AccessCode.valid_to > start)
    holders = []
    for code, lock_name, unit_name in session.execute(query.order_by(AccessCode.id)):
        if code.id == except_id or not code.code:
            continue
        whose = f"{code.guest_name}'s code" if code.guest_name else f"code number {code.id}"
        where = unit_name or lock_name
        if unit_name and unit_name != lock_name:
            where = f"{unit_name} ({lock_name})"
        state = code.state
        when = ("expired, still stored on the lock" if state == CodeState.EXPIRED else
                f"{code.valid_from:%d %b %H:%M} to {code.valid_to:%d %b %H:%M} UTC")
        holders.append(PinHolder(code.id, code.code, f"{whose} on {where} ({when})"))
    return holders


def taken_pins(session: Session, lock_id: int, start: datetime, end: datetime,
               except_id: int | None = None, *, scope: PinScope | None = None) -> set[str]:
    """PINs a new code on the lock must avoid, in the scope the vendor checks (see
    :func:`pin_holders`): ours, manual and imported codes alike."""
    return {holder.pin for holder in pin_holders(session, lock_id, start, end, except_id,
                                                 scope=scope)}


def choose_pin(rules: PinRules, taken: set[str], wanted: str | None) -> tuple[str, bool]:
    """Keep ``wanted`` if the lock allows it and it is free, else generate one.
    Returns (pin, kept)."""
    if wanted is not None and wanted not in taken and pin_problem(
        wanted, rules, allow_weak=True
    ) is None and not (rules.forbid_prefix_overlap and prefix_clash(wanted, taken)):
        return wanted, True
    return generate_pin(rules, taken), False


def apply_actions(
    session: Session,
    actions: Iterable[PlannedAction],
    snapshot: Snapshot,
    now: datetime,
    actor: str = audit.AUTOMATION,
) -> Applied:
    applied = Applied()
    for action in actions:
        if isinstance(action, CreateCode):
            _create(session, action, snapshot, now, actor, applied)
        elif isinstance(action, UpdateWindow):
            _update(session, action, now, actor, applied)
        elif isinstance(action, RevokeCode):
            _revoke(session, action, now, actor, applied)
        elif isinstance(action, ExpireCode):
            _expire(session, action, snapshot, now, actor, applied)
        else:
            _blocked(session, action, now, applied)
    return applied


def code_event(code: AccessCode, **extra: Any) -> Event:
    return Event(
        EventKind.CODE_CHANGED,
        subject_id=code.id,
        data={"state": str(code.state), "lock_id": code.lock_id, "unit_id": code.unit_id,
              "booking_id": code.booking_id, **extra},
    )


def alert_event(alert_id: int, severity: AlertSeverity, message: str) -> Event:
    return Event(EventKind.ALERT_RAISED, subject_id=alert_id,
                 data={"severity": str(severity), "message": message})


def _create(session: Session, action: CreateCode, snapshot: Snapshot, now: datetime,
            actor: str, applied: Applied) -> None:
    caps = snapshot.capabilities.get(action.lock_id, NOT_AUTOMATED)
    pin: str | None = None
    kept = action.pin is not None
    if caps.pin_rules is not None and not caps.vendor_generates_pin and not caps.mobile_key:
        taken = taken_pins(session, action.lock_id, action.valid_from, action.valid_to,
                           except_id=action.replaces_code_id, scope=caps.pin_scope)
        try:
            pin, kept = choose_pin(caps.pin_rules, taken, action.pin)
        except NoFreePinError as exc:
            _blocked(session, IssueBlocked(action.booking_id, action.unit_id, action.lock_id,
                                           exc.message, exc.fix or ""), now, applied)
            return
    code = AccessCode(
        unit_id=action.unit_id,
        lock_id=action.lock_id,
        origin=CodeOrigin.BOOKING,
        booking_id=action.booking_id,
        code=pin,
        valid_from=action.valid_from,
        valid_to=action.valid_to,
        guest_name=action.guest_name,
        state=CodeState.PENDING,
        managed=True,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(code)
    session.flush()
    enqueue(session, code, OperationKind.CREATE, now,
            OperationPayload(reason=action.reason, replaces_code_id=action.replaces_code_id))
    applied.operations += 1
    unit = snapshot.unit_names.get(action.unit_id, f"unit {action.unit_id}")
    audit.record(
        session, actor=actor, action=AuditAction.CODE_PLAN_CREATE, subject_kind=AuditSubject.CODE,
        subject_id=code.id, now=now,
        summary=f"Queued a code {mask_code(pin)} for {action.guest_name or 'the guest'} "
                f"on {unit}: {action.reason}",
        after={"code": mask_code(pin), "valid_from": action.valid_from.isoformat(),
               "valid_to": action.valid_to.isoformat(), "state": str(code.state)},
    )
    clear_alert(session, f"issue:{action.booking_id}:{action.unit_id}", now)
    applied.events.append(code_event(code))
    if action.replaces_code_id is not None and (action.guest_must_be_told or not kept) and (
        pin is not None
    ):
        message = (f"{action.guest_name or 'The guest'} gets a new door code for {unit}: "
                   "the old code could not be kept.")
        alert, is_new = raise_alert(
            session, dedupe_key=f"code:{code.id}:new-pin", severity=AlertSeverity.WARNING,
            subject_kind=AlertSubject.CODE, subject_id=code.id, message=message,
            fix="Tell the guest the new code once it shows as active.", now=now,
        )
        if is_new:
            applied.events.append(alert_event(alert.id, AlertSeverity.WARNING, message))


def _still_ours(code: AccessCode | None) -> bool:
    """Re-checked at write time: staff may have revoked or unmanaged it since the snapshot."""
    return code is not None and code.managed and code.state in CURRENT_CODE_STATES


def _update(session: Session, action: UpdateWindow, now: datetime, actor: str,
            applied: Applied) -> None:
    code = session.get(AccessCode, action.code_id)
    if code is None or not _still_ours(code):
        return
    before = {"valid_from": code.valid_from.isoformat(), "valid_to": code.valid_to.isoformat()}
    code.valid_from = action.valid_from
    code.valid_to = action.valid_to
    code.updated_at = now
    if code.vendor_ref is not None or open_operations(session, code.id):
        operation = enqueue(session, code, OperationKind.UPDATE, now,
                            OperationPayload(reason=action.reason, ends_stay=action.ends_stay))
        if action.ends_stay and not payload_of(operation).ends_stay:
            # folded into a queued one
            set_payload(operation, payload_of(operation).but(ends_stay=True))
        applied.operations += 1
    # else: nothing is on the lock yet (a failed create): "Retry now" uses the new window.
    audit.record(
        session, actor=actor, action=AuditAction.CODE_PLAN_UPDATE, subject_kind=AuditSubject.CODE,
        subject_id=code.id, now=now, summary=f"New dates for code {mask_code(code.code)}: "
        f"{action.reason}", before=before,
        after={"valid_from": action.valid_from.isoformat(),
               "valid_to": action.valid_to.isoformat()},
    )
    applied.events.append(code_event(code))


def _revoke(session: Session, action: RevokeCode, now: datetime, actor: str,
            applied: Applied) -> None:
    code = session.get(AccessCode, action.code_id)
    if code is None or not _still_ours(code):
        return
    before = {"state": str(code.state)}
    enqueue(session, code, OperationKind.REVOKE, now, OperationPayload(
        reason=action.reason, guest_must_not_enter=action.guest_must_not_enter,
        ends_stay=action.ends_stay))
    applied.operations += 1
    audit.record(
        session, actor=actor, action=AuditAction.CODE_PLAN_REVOKE, subject_kind=AuditSubject.CODE,
        subject_id=code.id, now=now,
        summary=f"Revoking code {mask_code(code.code)}: {action.reason}",
        before=before, after={"state": str(code.state)},
    )
    applied.events.append(code_event(code))


def _expire(session: Session, action: ExpireCode, snapshot: Snapshot, now: datetime,
            actor: str, applied: Applied) -> None:
    code = session.get(AccessCode, action.code_id)
    if code is None or not _still_ours(code):
        return
    operations = open_operations(session, code.id)
    if any(payload_of(operation).ends_stay for operation in operations):
        return  # the code is being ended on the lock; it expires once the vendor has it
    before = {"state": str(code.state)}
    for operation in operations:
        if operation.status == OperationStatus.QUEUED:
            operation.status = OperationStatus.CANCELLED
            operation.updated_at = now
    code.state = CodeState.EXPIRED
    code.updated_at = now
    caps = snapshot.capabilities.get(code.lock_id)
    if caps is not None and caps.max_codes_per_lock is not None and code.vendor_ref:
        # Expired codes stay stored on such locks (TTLock: 250 slots) until deleted, and a
        # full lock refuses new guests: delete ours once it is over. The code stays expired.
        session.add(Operation(
            access_code_id=code.id, kind=OperationKind.REVOKE, status=OperationStatus.QUEUED,
            payload=OperationPayload(cleanup=True).to_json(), attempts=0, next_attempt_at=now,
            created_at=now, updated_at=now,
        ))
    audit.record(
        session, actor=actor, action=AuditAction.CODE_EXPIRE, subject_kind=AuditSubject.CODE,
        subject_id=code.id, now=now,
        summary=f"Code {mask_code(code.code)} expired: {action.reason}",
        before=before, after={"state": str(code.state)},
    )
    applied.events.append(code_event(code))


def _blocked(session: Session, action: IssueBlocked, now: datetime, applied: Applied) -> None:
    alert, is_new = raise_alert(
        session, dedupe_key=f"issue:{action.booking_id}:{action.unit_id}",
        severity=AlertSeverity.WARNING, subject_kind=AlertSubject.LOCK,
        subject_id=action.lock_id, message=action.message, fix=action.fix, now=now,
    )
    if is_new:
        applied.events.append(alert_event(alert.id, AlertSeverity.WARNING, action.message))
