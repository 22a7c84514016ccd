"""What every service shares: its explicit dependencies, the current instant, and audit +
event helpers.

Services never see the composition root (``mangodesk.app``): it hands each one a
:class:`ServiceDeps` with exactly the parts services use, so the layers stay one-way and a
test can build a service from plain parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from mangodesk.domain.clock import Clock
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.domain.types import AuditAction, AuditSubject
from mangodesk.engine.adapters import AdapterPool
from mangodesk.settings import Settings
from mangodesk.store import audit
from mangodesk.store.db import Database
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.registry import VendorRegistry

if TYPE_CHECKING:
    from datetime import datetime


class EnginePort(Protocol):
    """What services ask of the lifecycle engine running in this process."""

    def wake(self) -> None:
        """Act on waiting operations now, not at the next tick."""

    def stop(self) -> object:
        """Stop working (the process is closing)."""


class EngineSlot:
    """The engine when this process runs one (the GUI, ``mangodesk run``), else empty. The
    front end fills it after the services exist; services only nudge it through here."""

    def __init__(self) -> None:
        self.engine: EnginePort | None = None

    def wake(self) -> None:
        if self.engine is not None:
            self.engine.wake()

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()
            self.engine = None


@dataclass
class ServiceDeps:
    """Everything a service may use, built once by the composition root. (It also has the
    parts :func:`mangodesk.pms.connect.build_beds24_sync` asks for.)"""

    db: Database
    secrets: SecretStore
    clock: Clock
    events: EventBus
    vendors: VendorRegistry
    settings: Settings  # the profile's, as staff last saved them (read when used)
    actor: str  # who staff actions are recorded as in the audit trail
    adapters: AdapterPool  # one adapter per connection, shared with the engine
    engine: EngineSlot = field(default_factory=EngineSlot)


class ServiceBase:
    def __init__(self, deps: ServiceDeps) -> None:
        self.deps = deps
        self.db = deps.db
        self.secrets = deps.secrets
        self.vendors = deps.vendors
        self.events = deps.events
        self.actor = deps.actor
        self.engine = deps.engine
        self.adapters = deps.adapters

    def now(self) -> datetime:
        return self.deps.clock.now()

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
            actor=actor or self.actor,
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
        self.events.publish(Event(kind, subject_id, dict(data)))
