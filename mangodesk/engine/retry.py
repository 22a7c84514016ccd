"""The one "Retry now": used by the desk, the CLI and the engine itself.

It works on a code that failed (its operation gave up) and on a code still waiting for its
next retry; either way the operation runs again at once with a fresh set of attempts and,
for a create, a fresh budget of PIN conflicts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mangodesk.domain.clock import Clock
from mangodesk.domain.errors import NotFoundError, ValidationError, mask_code
from mangodesk.domain.events import Event, EventBus
from mangodesk.domain.types import (
    AuditAction,
    AuditSubject,
    CodeState,
    OperationKind,
    OperationStatus,
)
from mangodesk.engine.outbox import payload_of, set_payload
from mangodesk.engine.planning import code_event
from mangodesk.store import audit
from mangodesk.store.db import Database
from mangodesk.store.models import AccessCode, Operation


def retry_in_session(session: Session, code: AccessCode, now: datetime, actor: str) -> Event:
    """Queue ``code``'s operation to run at once with fresh attempts; returns the event to
    publish after commit. Raises :class:`ValidationError` when there is nothing to retry."""
    operation = session.scalars(
        select(Operation).where(Operation.access_code_id == code.id)
        .order_by(Operation.id.desc())
    ).first()
    if operation is None:
        raise ValidationError("There is nothing to retry for this code.")
    if operation.status == OperationStatus.RUNNING:
        raise ValidationError("Mangodesk is talking to the lock provider about this code "
                              "right now; wait a moment.")
    waiting = operation.status == OperationStatus.QUEUED
    failed = (operation.status == OperationStatus.FAILED
              and code.state == CodeState.FAILED)
    if not (waiting or failed):
        raise ValidationError("This code has not failed and is not waiting for a retry, so "
                              "there is nothing to retry.")
    before = {"state": str(code.state)}
    operation.status = OperationStatus.QUEUED
    operation.attempts = 0
    operation.next_attempt_at = now
    operation.updated_at = now
    # What counted earlier failures starts afresh.
    set_payload(operation, payload_of(operation).but(pin_conflicts=0))
    if failed:
        code.state = (CodeState.REVOKING if operation.kind == OperationKind.REVOKE
                      else CodeState.PENDING)
    code.attempts = 0
    code.updated_at = now
    audit.record(
        session, actor=actor, action=AuditAction.CODE_RETRY, subject_kind=AuditSubject.CODE,
        subject_id=code.id, now=now,
        summary=f"Retry now for code {mask_code(code.code)}.",
        before=before, after={"state": str(code.state)},
    )
    return code_event(code)


def retry_code(db: Database, clock: Clock, events: EventBus, code_id: int, actor: str) -> None:
    """Retry now, in its own transaction (the engine and tests; the desk goes through
    :meth:`mangodesk.services.passcodes.PasscodeService.retry_now`)."""
    with db.transaction() as session:
        code = session.get(AccessCode, code_id)
        if code is None:
            raise NotFoundError("That code no longer exists.")
        event = retry_in_session(session, code, clock.now(), actor)
    events.publish(event)
