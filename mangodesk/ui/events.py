"""Engine and service events, re-emitted on the GUI thread.

The :class:`~mangodesk.domain.events.EventBus` calls subscribers on the publisher's thread
(an engine worker, the sync job). The relay lives on the GUI thread; emitting its signal
from another thread queues the call, so slots always run on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from mangodesk.domain.events import Event, EventBus, EventKind


class EventRelay(QObject):
    received = Signal(object)  # Event
    data_changed = Signal()  # anything that may change the grid: code, link, alert, sync

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._from_any_thread)
        self.received.connect(self._on_event)

    def _from_any_thread(self, event: Event) -> None:
        self.received.emit(event)

    def _on_event(self, event: Event) -> None:
        if event.kind != EventKind.SYNC_PROGRESS:
            self.data_changed.emit()

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
