"""Running a batch of due operations on a bounded pool of worker threads.

One task per serialisation key (a lock, or a TTLock gateway) runs that key's operations
strictly one after another; at most ``calls_at_once(kind)`` tasks per provider account run at
once (its vendor's ``CallLimits``, see :mod:`.limits`), so a vendor never sees more parallel
calls than it allows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta

from mangodesk.engine.claims import Due
from mangodesk.engine.config import EngineConfig, Outcome

log = logging.getLogger(__name__)


class WorkerPool:
    """The worker threads and what runs on them. ``execute`` runs one operation and says
    how it ended; ``keep_alive`` is called every ``keep_alive_every`` while a long batch runs
    (it keeps the leadership), and no operation starts once ``may_issue`` says False (this
    process lost the leadership: another desk now runs the automation)."""

    def __init__(self, config: EngineConfig, execute: Callable[[int], Outcome],
                 keep_alive: Callable[[], object], keep_alive_every: timedelta,
                 may_issue: Callable[[], bool],
                 calls_at_once: Callable[[str], int | None]) -> None:
        self.config = config
        self._calls_at_once = calls_at_once
        self._execute = execute
        self._keep_alive = keep_alive
        self._keep_alive_every = keep_alive_every.total_seconds()
        self._may_issue = may_issue
        self._executor = self._new_executor()
        self._shut_down = False
        self._stopping = threading.Event()
        self._inflight = 0
        self._idle = threading.Condition()

    def _new_executor(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.config.worker_threads,
                                  thread_name_prefix="engine-worker")

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def reopen(self) -> None:
        """Accept work again after :meth:`stop` (a fresh executor if the old one is shut)."""
        self._stopping.clear()
        if self._shut_down:
            self._executor = self._new_executor()
            self._shut_down = False

    def run(self, due: list[Due]) -> int:
        """Run ``due`` and wait for it; returns how many operations ran."""
        groups: dict[str, list[Due]] = defaultdict(list)
        for item in due:
            groups[item.serial_key].append(item)
        waiting: dict[int, deque[list[Due]]] = defaultdict(deque)
        most_at_once: dict[int, int | None] = {}
        for items in groups.values():
            first = items[0]
            waiting[first.connection_id].append(sorted(items, key=lambda d: d.operation_id))
            most_at_once[first.connection_id] = self._calls_at_once(first.connection_kind)
        running: dict[Future[int], int] = {}
        busy: dict[int, int] = defaultdict(int)
        executed = 0

        def has_room(connection_id: int) -> bool:
            bound = most_at_once[connection_id]
            return bound is None or busy[connection_id] < bound

        def submit_ready() -> None:
            for connection_id, queue in waiting.items():
                while queue and has_room(connection_id) and not self._stopping.is_set():
                    future = self._executor.submit(self._run_group, queue.popleft())
                    running[future] = connection_id
                    busy[connection_id] += 1

        try:
            submit_ready()
        except RuntimeError:  # the executor was shut down by stop()
            return 0
        renewed = time.monotonic()
        while running:
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            if time.monotonic() - renewed > self._keep_alive_every:
                renewed = time.monotonic()
                self._keep_alive()
            for future in finished:
                busy[running.pop(future)] -= 1
                if not future.cancelled():
                    executed += future.result()
            try:
                submit_ready()
            except RuntimeError:
                break
        return executed

    def _run_group(self, items: list[Due]) -> int:
        """One serialisation key's operations, strictly one after another."""
        with self._idle:
            self._inflight += 1
        try:
            executed = 0
            for item in items:
                for _ in range(self.config.max_pin_conflicts + 1):
                    if self._stopping.is_set() or not self._may_issue():
                        return executed
                    outcome = self._execute(item.operation_id)
                    if outcome != Outcome.SKIPPED:
                        executed += 1
                    if outcome != Outcome.RETRY_NOW:
                        break
            return executed
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def halt(self) -> None:
        """Take no more work; operations not started stay queued."""
        self._stopping.set()

    def stop(self, wait_seconds: float) -> bool:
        """Halt, then wait up to ``wait_seconds`` for calls in flight. True when nothing
        was left in flight (the threads are then joined)."""
        self.halt()
        with self._idle:
            idle = self._idle.wait_for(lambda: self._inflight == 0, timeout=wait_seconds)
        self._executor.shutdown(wait=idle, cancel_futures=True)
        self._shut_down = True
        return idle
