"""The one way the GUI runs anything that may block: a worker thread does the work, and the
result or the error comes back on the GUI thread (like Anki's ``QueryOp``).

Every service call that may talk to a vendor or the PMS goes through :meth:`TaskRunner.run`.
Widgets are never touched from the worker: the worker only emits a signal of a relay object
that lives on the GUI thread, and the callbacks run there.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Signal

from mangodesk.domain.errors import MangodeskError

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Pending:
    on_success: Callable[[Any], None]
    on_failure: Callable[[Exception], None] | None
    owner: QObject | None
    label: str


class TaskRunner(QObject):
    """Runs blocking calls off the GUI thread; reports how many are running (for a busy
    indicator) and delivers each outcome on the GUI thread."""

    busy_changed = Signal(int, str)  # running count, label of the newest running task
    _delivered = Signal(int, bool, object)  # token, ok, result or exception (worker → GUI)

    def __init__(self, parent: QObject | None = None, *, max_workers: int = 4) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=max_workers,
                                            thread_name_prefix="mangodesk-ui")
        self._pending: dict[int, _Pending] = {}
        self._tokens = itertools.count(1)
        self._gui_thread = threading.get_ident()
        self._closed = False
        self.default_failure: Callable[[Exception], None] = _log_failure
        self._delivered.connect(self._deliver)

    @property
    def running(self) -> int:
        return len(self._pending)

    def run(
        self,
        work: Callable[[], T],
        on_success: Callable[[T], None],
        on_failure: Callable[[Exception], None] | None = None,
        *,
        owner: QObject | None = None,
        label: str = "Working…",
    ) -> None:
        """Run ``work`` on a worker; then ``on_success(result)`` or ``on_failure(error)`` on
        the GUI thread. If ``owner`` (a dialog, say) was deleted meanwhile, nothing is called."""
        if threading.get_ident() != self._gui_thread:
            raise RuntimeError("TaskRunner.run must be called from the GUI thread")
        if self._closed:
            return
        token = next(self._tokens)
        self._pending[token] = _Pending(on_success, on_failure, owner, label)
        self.busy_changed.emit(len(self._pending), label)
        self._executor.submit(self._work, token, work)

    def _work(self, token: int, work: Callable[[], Any]) -> None:
        try:
            result = work()
        except Exception as exc:
            if not isinstance(exc, MangodeskError):
                # Staff are told to "send the log file": the traceback must be in it.
                pending = self._pending.get(token)
                log.error("background task “%s” failed unexpectedly",
                          pending.label if pending else "?", exc_info=exc)
            self._emit(token, False, exc)
        else:
            self._emit(token, True, result)

    def _emit(self, token: int, ok: bool, value: object) -> None:
        if self._closed or not shiboken6.isValid(self):
            return
        self._delivered.emit(token, ok, value)

    def _deliver(self, token: int, ok: bool, value: object) -> None:
        pending = self._pending.pop(token, None)
        remaining = next(reversed(self._pending.values())).label if self._pending else ""
        self.busy_changed.emit(len(self._pending), remaining)
        if pending is None:
            return
        if pending.owner is not None and not shiboken6.isValid(pending.owner):
            return
        if ok:
            pending.on_success(value)
            return
        assert isinstance(value, Exception)
        handler = pending.on_failure or self.default_failure
        handler(value)

    def shutdown(self) -> None:
        """Stop taking work; forget callbacks of calls still in flight (they finish alone)."""
        self._closed = True
        self._pending.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _log_failure(error: Exception) -> None:
    log.error("background task failed: %s", error)
