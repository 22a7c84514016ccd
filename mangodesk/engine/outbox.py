"""Writing intent before acting: an operation row is committed before any vendor call.

Services and the planner call :func:`enqueue` inside the same transaction that changes the
access code, so a crash either loses both or keeps both; the executor then carries it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mangodesk.domain.types import CodeState, OperationKind, OperationStatus
from mangodesk.store.models import AccessCode, Operation

OPEN_STATUSES = (OperationStatus.QUEUED, OperationStatus.RUNNING)


@dataclass(frozen=True)
class OperationPayload:
    """What an operation carries besides its kind: why it was queued and what the engine
    learnt while running it. Stored as JSON in ``Operation.payload``; rows written by older
    versions read back with defaults for what they lack, and unknown keys are ignored."""

    reason: str | None = None  # the planner's or staff's words, for the audit trail
    replaces_code_id: int | None = None  # a create that replaces this code (new lock, reissue)
    replaces_deleted: bool = False  # a create replacing a code deleted in the vendor's app
    guest_must_not_enter: bool = False  # a revoke whose failure is critical
    cleanup: bool = False  # delete an expired code to free a lock slot; it stays expired
    ends_stay: bool = False  # this update/revoke ends a stay that is already over
    check_lock_first: bool = False  # the last answer was lost: read the lock back first
    pin_conflicts: int = 0  # PINs the lock refused as taken (a retry starts afresh)
    guest_email: str | None = None  # typed by staff for a mobile key; wins over the booking's

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> OperationPayload:
        data = raw if isinstance(raw, Mapping) else {}
        return cls(
            reason=_text(data.get("reason")),
            replaces_code_id=_whole(data.get("replaces_code_id")),
            replaces_deleted=bool(data.get("replaces_deleted")),
            guest_must_not_enter=bool(data.get("guest_must_not_enter")),
            cleanup=bool(data.get("cleanup")),
            ends_stay=bool(data.get("ends_stay")),
            check_lock_first=bool(data.get("check_lock_first")),
            pin_conflicts=_whole(data.get("pin_conflicts")) or 0,
            guest_email=_text(data.get("guest_email")),
        )

    def to_json(self) -> dict[str, Any]:
        """Only what differs from the defaults, so rows stay as small as today's."""
        defaults = OperationPayload()
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != getattr(defaults, f.name)}

    def but(self, **changes: Any) -> OperationPayload:
        """A copy with ``changes`` (the payload itself never changes in place)."""
        return replace(self, **changes)


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def payload_of(operation: Operation) -> OperationPayload:
    return OperationPayload.from_json(operation.payload)


def set_payload(operation: Operation, payload: OperationPayload) -> None:
    operation.payload = payload.to_json()


def open_operations(session: Session, code_id: int) -> list[Operation]:
    return list(
        session.scalars(
            select(Operation)
            .where(Operation.access_code_id == code_id, Operation.status.in_(OPEN_STATUSES))
            .order_by(Operation.id)
        )
    )


def enqueue(
    session: Session,
    code: AccessCode,
    kind: OperationKind,
    now: datetime,
    payload: OperationPayload | None = None,
) -> Operation:
    """Queue ``kind`` for ``code``. A queued (not yet running) update or create is superseded:
    a newer intent replaces an older one so the vendor sees only the latest window."""
    for existing in open_operations(session, code.id):
        if existing.status != OperationStatus.QUEUED:
            continue
        if kind == OperationKind.REVOKE and existing.kind == OperationKind.CREATE and not (
            code.vendor_ref
        ):
            existing.status = OperationStatus.CANCELLED
            existing.updated_at = now
        elif kind == OperationKind.UPDATE and existing.kind in (
            OperationKind.UPDATE,
            OperationKind.CREATE,
        ):
            # The pending create/update will read the code's current window when it runs.
            existing.next_attempt_at = min(existing.next_attempt_at, now)
            existing.updated_at = now
            return existing
        elif kind == OperationKind.REVOKE and existing.kind == OperationKind.UPDATE:
            existing.status = OperationStatus.CANCELLED
            existing.updated_at = now
    operation = Operation(
        access_code_id=code.id,
        kind=kind,
        status=OperationStatus.QUEUED,
        payload=(payload or OperationPayload()).to_json(),
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(operation)
    if kind == OperationKind.REVOKE:
        code.state = CodeState.REVOKING
    elif code.state != CodeState.ACTIVE:
        code.state = CodeState.PENDING
    code.updated_at = now
    session.flush()
    return operation
