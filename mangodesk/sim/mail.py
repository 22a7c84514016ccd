"""A local mail sink for the demo: a real SMTP server on loopback (aiosmtpd) that keeps
every message it accepts, so a person can see the check-in email a guest would get."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class MailSink:
    """Accepts everything; ``received`` holds the parsed messages in arrival order."""

    received: list[EmailMessage] = field(default_factory=list)
    # When each message of ``received`` arrived (UTC), same order.
    arrived: list[datetime] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None

    @property
    def port(self) -> int:
        assert self.controller is not None
        return int(self.controller.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        if isinstance(message, EmailMessage):
            with self.lock:
                self.received.append(message)
                self.arrived.append(datetime.now(UTC))
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.received)

    def entries(self, after: int = 0) -> list[tuple[datetime, EmailMessage]]:
        """(arrival time, message) of every message from index ``after`` on: a view that
        has shown ``after`` of them asks only for the new ones."""
        with self.lock:
            return list(zip(self.arrived[after:], self.received[after:], strict=True))

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_for_demo() -> MailSink:
    sink = MailSink()
    sink.controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    sink.controller.start()
    return sink
