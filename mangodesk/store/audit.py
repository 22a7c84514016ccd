"""The audit trail: who did what, when. Codes are masked before they get here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mangodesk.domain.types import AuditAction, AuditSubject
from mangodesk.store.models import AuditEvent

AUTOMATION = "automation"


def record(
    session: Session,
    *,
    actor: str,
    action: AuditAction,
    subject_kind: AuditSubject,
    subject_id: int | None,
    summary: str,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        at=now,
        actor=actor,
        action=action,
        subject_kind=subject_kind,
        subject_id=subject_id,
        summary=summary,
        before=before,
        after=after,
    )
    session.add(event)
    return event
