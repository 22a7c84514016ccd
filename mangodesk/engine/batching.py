"""Group commit: many threads' small write transactions run as one.

Every worker claims an operation before its vendor call and settles it after, each a short
transaction under the engine's write lock; in a burst those commits, one after another,
bound the throughput. Here a thread submits its unit of work and blocks; the first thread
that finds no batch running becomes the combiner: it takes every pending request (up to
``max_batch``), runs them in one transaction under the write lock, commits, and hands each
caller its own result or its own exception, then leaves the next batch to a waiting thread.
Nothing sleeps to wait for company: a lone thread's work runs at once, as a batch of one.

Each caller still returns only after its work is committed, so the crash guarantees of the
single transactions hold: a claim is durable before its call, an outcome before the worker
moves on. Each item of a larger batch runs in its own SAVEPOINT, so one item's exception
undoes only that item and reaches only its caller; a failed commit reaches every caller.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.orm import Session

from mangodesk.store.db import Database

T = TypeVar("T")
# Eight items per commit already save seven commits in eight; a larger batch saves few more
# but holds the write lock longer, makes its first caller wait for more work that is not its
# own, undoes more when its commit fails, and shows other desks outcomes in coarser steps.
MAX_BATCH = 8


class _Request(Generic[T]):
    """One caller's work and, once its batch ended, what it gave."""

    __slots__ = ("done", "error", "value", "work")

    def __init__(self, work: Callable[[Session], T]) -> None:
        self.work = work
        self.done = False
        self.value: T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return cast(T, self.value)


class GroupCommit:
    """Runs submitted units of work in shared transactions; see the module's docstring.
    ``write_lock`` is the lock every engine write holds, so a batch never races the planner.
    A thread must not submit while holding ``write_lock`` (it would wait for a combiner that
    waits for it)."""

    def __init__(self, db: Database, write_lock: threading.RLock,
                 max_batch: int = MAX_BATCH) -> None:
        self._db = db
        self._write_lock = write_lock
        self.max_batch = max_batch  # 1: a transaction per item, as before group commit
        self._pending: deque[_Request[Any]] = deque()
        self._state = threading.Condition()
        self._combining = False
        self.batches = 0  # transactions run, for figures and tests
        self.largest = 0  # the most items one of them held

    @property
    def waiting(self) -> int:
        """Requests submitted and not yet taken into a batch."""
        with self._state:
            return len(self._pending)

    def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in a committed transaction, probably shared with other
        threads' work; returns its result or raises its exception (or the commit's)."""
        request = _Request(work)
        with self._state:
            self._pending.append(request)
            while self._combining and not request.done:
                self._state.wait()
            if request.done:
                return request.outcome()
            self._combining = True
        try:
            while not request.done:
                with self._write_lock:  # those who arrive while it is busy join this batch
                    with self._state:
                        batch = [self._pending.popleft()
                                 for _ in range(min(self.max_batch, len(self._pending)))]
                    self._run_batch(batch)
                with self._state:
                    for finished in batch:
                        finished.done = True
                    self._state.notify_all()
        finally:
            with self._state:
                self._combining = False
                self._state.notify_all()
        return request.outcome()

    def _run_batch(self, batch: list[_Request[Any]]) -> None:
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        try:
            with self._db.batch_transaction(savepoints=len(batch) > 1) as session:
                if len(batch) == 1:
                    batch[0].value = batch[0].work(session)  # its exception sinks only itself
                else:
                    for request in batch:
                        try:
                            with session.begin_nested():
                                request.value = request.work(session)
                        except Exception as exc:
                            request.error = exc
        except BaseException as exc:  # the commit (or the session) failed: all of it is undone
            for request in batch:
                if request.error is None:
                    request.error = exc
                    request.value = None
