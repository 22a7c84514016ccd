"""All services of one context, built together; the GUI and CLI reach everything from here."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mangodesk.services.activity import AlertService, AuditService
from mangodesk.services.comms import CommsService
from mangodesk.services.connections import ConnectionService
from mangodesk.services.links import LinkService
from mangodesk.services.messages import MessageService
from mangodesk.services.passcodes import PasscodeService
from mangodesk.services.units import UnitService
from mangodesk.services.writeback import CodeWriteBack

if TYPE_CHECKING:
    from mangodesk.app import Context

log = logging.getLogger(__name__)


class Services:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.connections = ConnectionService(context)
        self.units = UnitService(context)
        self.links = LinkService(context)
        self.passcodes = PasscodeService(context)
        self.messages = MessageService(context)
        self.comms = CommsService(context)
        self.alerts = AlertService(context)
        self.audit = AuditService(context)
        self.write_back = CodeWriteBack(context)
        # The lifecycle engine, when this process runs it (set by the front end).
        self.engine: Any = None

    def wake_engine(self) -> None:
        """Staff changed something: let a running engine act on it now, not at the next tick."""
        if self.engine is not None:
            self.engine.wake()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.stop()
            self.engine = None
