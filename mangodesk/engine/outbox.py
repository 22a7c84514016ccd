"""Writing intent before acting: an operation row is committed before any vendor call.

Services and the planner call :func:`enqueue` inside the same transaction that changes the
access code, so a crash either loses both or keeps both; the executor then carries it out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mangodesk.domain.types import CodeState, OperationKind, OperationStatus
from mangodesk.store.models import AccessCode, Operation

OPEN_STATUSES = (OperationStatus.QUEUED, OperationStatus.RUNNING)


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
    payload: dict[str, Any] | None = None,
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
        payload=payload or {},
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(operation)
    if kind == OperationKind.REVOKE:
        code.state = CodeState.REVOKING
    elif code.state not in (CodeState.ACTIVE,):
        code.state = CodeState.PENDING
    code.updated_at = now
    session.flush()
    return operation
