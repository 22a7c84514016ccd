"""Engine and service events, re-emitted on the GUI thread, and the one "data changed"
signal every open view follows.

The :class:`~mangodesk.domain.events.EventBus` calls subscribers on the publisher's thread
(an engine worker, the sync job). The relay lives on the GUI thread; emitting its signal
from another thread queues the call, so slots always run on the GUI thread. Another process
on the same database (the always-on service, a CLI) publishes nothing here: the relay also
polls a cheap change counter and says ``data_changed`` when it moves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.services.changes import ChangeCounter

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 400  # another process's change shows within a second


class EventRelay(QObject):
    received = Signal(object)  # Event
    data_changed = Signal()  # anything that may change the grid: code, link, alert, sync

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._from_any_thread)
        self.received.connect(self._on_event)
        self._counter: ChangeCounter | None = None
        self._token: object = None

    def watch(self, counter: ChangeCounter, interval_ms: int = POLL_INTERVAL_MS) -> None:
        """Poll ``counter`` on the GUI thread; ``data_changed`` whenever its token moves."""
        self._counter = counter
        self._token = counter.token()
        self._poll = QTimer(self)
        self._poll.setInterval(interval_ms)
        self._poll.timeout.connect(self._check_counter)
        self._poll.start()

    def _check_counter(self) -> None:
        if self._counter is None:
            return
        try:
            token = self._counter.token()
        except Exception as exc:  # a locked or vanished file: try again on the next tick
            log.warning("could not read the database change counter: %s", exc)
            return
        if token != self._token:
            self._token = token
            self.data_changed.emit()

    def _from_any_thread(self, event: Event) -> None:
        self.received.emit(event)

    def _on_event(self, event: Event) -> None:
        if event.kind != EventKind.SYNC_PROGRESS:
            self.data_changed.emit()

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._counter is not None:
            self._poll.stop()
            self._counter.close()
            self._counter = None
