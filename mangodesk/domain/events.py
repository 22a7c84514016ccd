"""A thread-safe stream of things that happened, for the GUI and the CLI to observe.

Publishers run on any thread (engine workers, the sync job). Subscribers are called on the
publisher's thread; the GUI subscribes through a relay that re-emits on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    CODE_CHANGED = "code_changed"
    ALERT_RAISED = "alert_raised"
    ALERT_CLEARED = "alert_cleared"
    OPERATION_FAILED = "operation_failed"
    SYNC_PROGRESS = "sync_progress"
    SYNC_FINISHED = "sync_finished"
    ENGINE_STATE = "engine_state"
    DATA_CHANGED = "data_changed"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    subject_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it again."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber failed for %s", event.kind)
