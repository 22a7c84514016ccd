"""What every service shares: the context, the current instant, and audit + event helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mangodesk.domain.events import Event, EventKind
from mangodesk.domain.types import AuditAction, AuditSubject
from mangodesk.store import audit

if TYPE_CHECKING:
    from datetime import datetime

    from mangodesk.app import Context


class ServiceBase:
    def __init__(self, context: Context) -> None:
        self._ctx = context

    @property
    def ctx(self) -> Context:
        return self._ctx

    def now(self) -> datetime:
        return self._ctx.clock.now()

    def audit(
        self,
        session: Session,
        action: AuditAction,
        subject_kind: AuditSubject,
        subject_id: int | None,
        summary: str,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> None:
        audit.record(
            session,
            actor=actor or self._ctx.actor,
            action=action,
            subject_kind=subject_kind,
            subject_id=subject_id,
            summary=summary,
            now=self.now(),
            before=before,
            after=after,
        )

    def changed(self, kind: EventKind = EventKind.DATA_CHANGED, subject_id: int | None = None,
                **data: Any) -> None:
        self._ctx.events.publish(Event(kind, subject_id, dict(data)))
