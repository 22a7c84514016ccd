"""All services of one context, built together from their explicit dependencies; the GUI and
CLI reach everything from here."""

from __future__ import annotations

import logging

from mangodesk.services.activity import AlertService, AuditService
from mangodesk.services.base import EnginePort, ServiceDeps
from mangodesk.services.comms import CommsService
from mangodesk.services.connections import ConnectionService
from mangodesk.services.desk import DeskStatusService
from mangodesk.services.links import LinkService
from mangodesk.services.messages import MessageService
from mangodesk.services.passcodes import PasscodeService
from mangodesk.services.pms import PmsService
from mangodesk.services.units import UnitService
from mangodesk.services.writeback import CodeWriteBack

log = logging.getLogger(__name__)


class Services:
    def __init__(self, deps: ServiceDeps) -> None:
        self.deps = deps
        self.connections = ConnectionService(deps)
        self.units = UnitService(deps)
        self.links = LinkService(deps)
        self.passcodes = PasscodeService(deps)
        self.messages = MessageService(deps)
        self.comms = CommsService(deps, self.messages)
        self.alerts = AlertService(deps)
        self.audit = AuditService(deps)
        self.write_back = CodeWriteBack(deps, self.messages)
        self.pms = PmsService(deps)
        self.desk = DeskStatusService(deps, self.alerts, self.connections, self.pms)

    @property
    def engine(self) -> EnginePort | None:
        """The lifecycle engine, when this process runs it (set by the front end)."""
        return self.deps.engine.engine

    @engine.setter
    def engine(self, engine: EnginePort | None) -> None:
        self.deps.engine.engine = engine

    def wake_engine(self) -> None:
        """Staff changed something: let a running engine act on it now, not at the next tick."""
        self.deps.engine.wake()

    def close(self) -> None:
        self.deps.engine.stop()
