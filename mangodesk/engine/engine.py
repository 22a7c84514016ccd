"""The engine: plans on a tick, runs the outbox on a bounded pool, retries, alerts.

Every intent is committed (access code + operation) before a vendor is called, and every
outcome is committed after, so a crash loses nothing: when a process gains the leadership,
operations a gone holder left ``running`` are treated as ambiguous and the lock is read back
first (see :mod:`.calls` for when a code on the lock is ours).

:class:`Engine` is the façade the front ends use; the work is done by its collaborators:
:class:`~.claims.Claims` (due operations, claiming, crash recovery), :mod:`.calls` (vendor
calls and read-back), :class:`~.settle.Settler` (outcomes and their alerts), :mod:`.leadership`
(which process leads: an advisory lock on PostgreSQL, a lease row elsewhere, kept on a timer
of its own), :class:`~.workers.WorkerPool` (the worker threads) and
:class:`~.scheduling.TickScheduler` (APScheduler). Adapters come from the
:class:`~.adapters.AdapterPool` shared with the services. Database writes from the engine are
serialised by one in-process lock so the planner never races a worker; the workers' claims
and outcomes that arrive together share one transaction (group commit, :mod:`.batching`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from mangodesk.domain.clock import Clock
from mangodesk.domain.errors import MangodeskError
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.engine import calls
from mangodesk.engine.adapters import AdapterPool
from mangodesk.engine.batching import GroupCommit
from mangodesk.engine.claims import Claims
from mangodesk.engine.config import EngineConfig, Outcome
from mangodesk.engine.dryrun import DryRunStep, simulate
from mangodesk.engine.leadership import Leadership, LeadershipWatch, leadership_for
from mangodesk.engine.limits import calls_at_once
from mangodesk.engine.passes import plan_changed, plan_everything
from mangodesk.engine.retry import retry_code
from mangodesk.engine.scheduling import TickScheduler
from mangodesk.engine.settle import CallResult, Settler
from mangodesk.engine.snapshot import load_snapshot
from mangodesk.engine.workers import WorkerPool
from mangodesk.store.db import Database
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import PermanentError, VendorError
from mangodesk.vendors.registry import VendorRegistry

log = logging.getLogger(__name__)


class Engine:
    """``adapters`` is the process's shared pool (the composition root passes it); without
    one the engine builds its own and closes it on stop."""

    def __init__(
        self,
        db: Database,
        vendors: VendorRegistry,
        secrets: SecretStore,
        clock: Clock,
        events: EventBus,
        config: EngineConfig | None = None,
        *,
        adapters: AdapterPool | None = None,
    ) -> None:
        self.db = db
        self.vendors = vendors
        self.secrets = secrets
        self.clock = clock
        self.events = events
        self.config = config or EngineConfig()
        self.paused = False
        self._owns_adapters = adapters is None
        self.adapters = adapters or AdapterPool(db, vendors, secrets)
        holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        write_lock = threading.RLock()
        self._write_lock = write_lock
        self._batch_lock = threading.Lock()
        self._tick_lock = threading.Lock()
        self._leading: bool | None = None
        # When this process last planned, and last planned everything (None: not yet, or
        # another process may have planned since: the next pass is a full one).
        self._planned_at: datetime | None = None
        self._full_planned_at: datetime | None = None
        self._leadership_lock = threading.Lock()
        self.leadership: Leadership = leadership_for(db, holder, clock, serialise=write_lock)
        self._watch: LeadershipWatch | None = None
        # Workers' claims and outcomes share transactions when they arrive together.
        self.commits = GroupCommit(db, write_lock)
        self.claims = Claims(db, vendors, clock, self.config, self.commits, holder)
        self.settler = Settler(vendors, clock, events, self.config, self.commits,
                               forget_adapter=self.adapters.replace, wake=self.wake)
        self.workers = WorkerPool(self.config, self._execute,
                                  keep_alive=self._renew_leadership_quietly,
                                  keep_alive_every=self.leadership.attempt_every,
                                  may_issue=self._may_issue,
                                  calls_at_once=lambda kind: calls_at_once(
                                      vendors, kind, self.config))
        self.scheduler = TickScheduler(self.tick, self.config.tick_interval)

    @property
    def holder(self) -> str:
        """This process's name in the leadership and in the operations it claims."""
        return self.leadership.holder

    @holder.setter
    def holder(self, name: str) -> None:
        self.leadership.holder = name
        self.claims.holder = name

    # ------------------------------------------------------------------ planning

    def plan_and_enqueue(self, *, full: bool = False) -> int:
        """Run the planner and queue its operations. Returns how many. A full pass the first
        time (and after the leadership changed hands, the clock went back, or
        ``full_plan_interval``), else only what changed or came due since the last pass."""
        if self.paused:
            return 0
        now = self.clock.now()
        with self._write_lock:
            since, full_at = self._planned_at, self._full_planned_at
            full = (full or since is None or full_at is None or now < since
                    or now - full_at >= self.config.full_plan_interval)
            with self.db.transaction() as session:
                if full or since is None:
                    result = plan_everything(session, self.vendors, now)
                else:
                    result = plan_changed(session, self.vendors, now, since)
            self._planned_at = now
            if result.full:
                self._full_planned_at = now
        applied = result.applied
        for event in applied.events:
            self.events.publish(event)
        if applied.operations:
            log.info("planned %d operation(s)", applied.operations)
        return applied.operations

    def dry_run(self, until: datetime) -> list[DryRunStep]:
        """Everything automation would do from now until ``until``, in time order."""
        now = self.clock.now()
        with self.db.session() as session:
            snapshot = load_snapshot(session, self.vendors, now, horizon=until)
        # Staff ask this before switching automation on: show it as if it were on.
        snapshot.properties = {key: replace(prop, automation_enabled=True)
                               for key, prop in snapshot.properties.items()}
        return simulate(snapshot, now, until)

    # ------------------------------------------------------------------ executing

    def run_due(self, now: datetime | None = None) -> int:
        """Run every operation due at ``now`` and wait for them. Returns how many ran."""
        with self._batch_lock:
            due = self.claims.load_due(now or self.clock.now())
            return self.workers.run(due) if due else 0

    def _execute(self, operation_id: int) -> Outcome:
        """Claim one operation, call the vendor, record the outcome."""
        try:
            job = self.claims.claim(operation_id)
        except Exception:
            log.exception("could not start operation %d", operation_id)
            return Outcome.SKIPPED
        if job is None:
            return Outcome.SKIPPED
        result = CallResult()
        try:
            with self.adapters.use(job.connection_id) as adapter:
                result.vendor_code = calls.call(adapter, job)
        except VendorError as exc:
            result.error = exc
        except MangodeskError as exc:  # no password in the keyring, provider not shipped
            result.error = PermanentError(exc.message, exc.fix)
        except Exception as exc:
            log.exception("operation %d: unexpected failure in the %s adapter", operation_id,
                          job.connection_kind)
            result.unexpected = True
            result.error = PermanentError(
                f"Mangodesk hit an unexpected error ({type(exc).__name__}) while talking to "
                "the lock provider.",
                "Send the log file (mangodesk.log) to support, then press Retry now.",
            )
        return self.settler.settle(job, result)

    # ------------------------------------------------------------------ staff and recovery

    def retry_now(self, code_id: int, actor: str) -> None:
        """Run the code's operation again at once with fresh attempts (see :mod:`.retry`)."""
        with self._write_lock:
            retry_code(self.db, self.clock, self.events, code_id, actor)
        self.wake()

    def recover_interrupted(self) -> int:
        """Queue again what a gone holder left running (see :meth:`.Claims.recover_interrupted`)."""
        return self.claims.recover_interrupted()

    # ------------------------------------------------------------------ leading and ticking

    def tick(self) -> int:
        """Plan, then run what is due. Safe to call from any thread; ticks never overlap."""
        with self._tick_lock:
            if self.workers.stopping:
                return 0
            if not self._follow_leadership() or self.workers.stopping:
                return 0  # stopped while taking the lease: stop() lets it go after us
            try:
                self.plan_and_enqueue()
            except Exception:
                log.exception("planning failed; operations already queued still run")
            return self.run_due()

    def _follow_leadership(self) -> bool:
        """Take or keep the leadership; when it changes hands, say so, and on gaining it
        recover what the previous leader left running (it is gone: its session or lease
        ended)."""
        leading = self.hold_lease()
        with self._leadership_lock:
            if leading == self._leading:
                return leading
            if leading:
                self.recover_interrupted()
            self._leading = leading
            self._planned_at = None
        log.info("this process %s the automation", "now runs" if leading else
                 "stands by: another Mangodesk on this database runs")
        self.events.publish(Event(EventKind.ENGINE_STATE, data={"leading": leading}))
        return leading

    def _watch_leadership(self) -> None:
        """The leadership timer (its own thread): keep it, or take it over from a desk that
        died, and then tick at once rather than at the next interval."""
        if self.workers.stopping:
            return
        was_leading = self._leading
        if self._follow_leadership() and not was_leading:
            self.wake()

    def _may_issue(self) -> bool:
        """False once this process knows it lost the leadership: start no more calls.
        (Batches run without ticking, as tests do, have no leadership to lose.)"""
        return self._leading is None or (self._leading and self.leadership.held)

    def hold_lease(self) -> bool:
        """Take or keep the leadership; False while another process holds it. Several
        desks (or the desk window and the headless service) may share one database, and
        exactly one of them may plan and call vendors."""
        return self.leadership.acquire()

    def _renew_leadership_quietly(self) -> None:
        """Keep the leadership through a long batch (only if we hold it: tests run batches
        without ticking)."""
        try:
            self.leadership.renew()
        except Exception:
            log.exception("could not renew the engine lease")

    def release_lease(self) -> None:
        self.leadership.release()

    @property
    def running(self) -> bool:
        return self.scheduler.running

    def start(self) -> None:
        """Tick periodically (the first tick at once: catch-up)."""
        if self.scheduler.running:
            return
        self.workers.reopen()
        # No recovery here: another process may lead and have calls in flight. The first
        # tick that gains the lease recovers what a dead holder left running.
        self._leading = None
        self.scheduler.start()
        self._watch = LeadershipWatch(self._watch_leadership, self.leadership.attempt_every)
        self._watch.start()
        self.events.publish(Event(EventKind.ENGINE_STATE, data={"running": True}))
        log.info("engine started")

    def add_periodic_job(self, name: str, func: Callable[[], object], seconds: float, *,
                         leader_only: bool = False) -> None:
        """Run ``func`` every ``seconds`` while the engine runs (the PMS sync hooks in here).
        A ``leader_only`` job runs only in the process holding the engine lease: with several
        desks on one database, guest mail is sent once and the PMS credits are spent once."""

        def guarded() -> None:
            self.run_periodic(name, func, leader_only=leader_only)

        self.scheduler.add_periodic(name, guarded, seconds)

    def run_periodic(self, name: str, func: Callable[[], object], *,
                     leader_only: bool = False) -> bool:
        """One run of a periodic job; False when skipped because another process leads."""
        try:
            if leader_only and not self.hold_lease():
                return False
            func()
        except Exception:
            log.exception("periodic job %s failed", name)
        return True

    def wake(self) -> None:
        """Tick as soon as possible (after a staff action queued something)."""
        self.scheduler.wake()

    def stop(self, wait_seconds: float | None = None) -> bool:
        """Stop ticking; wait up to the bound for calls in flight; leave the rest queued.
        Returns True when nothing was left in flight."""
        bound = (self.config.shutdown_wait.total_seconds() if wait_seconds is None
                 else wait_seconds)
        deadline = time.monotonic() + bound
        self.workers.halt()
        self.scheduler.stop()
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()
        # The scheduler does not wait for a tick under way: wait for it here, or it could
        # take the lease again after the release below (another desk then waits a whole
        # lease term) or plan after "stopped". Ticks that start from now on see the halt.
        if self._tick_lock.acquire(timeout=bound):
            self._tick_lock.release()
        idle = self.workers.stop(max(0.0, deadline - time.monotonic()))
        if not idle:
            log.warning("stopped with calls still in flight; they will be checked on next start")
        elif self._owns_adapters:
            self.adapters.close()
        try:
            self.release_lease()
        except Exception:
            log.exception("could not release the engine lease; it expires by itself")
        self.events.publish(Event(EventKind.ENGINE_STATE, data={"running": False}))
        return idle


__all__ = ["DryRunStep", "Engine", "EngineConfig", "Outcome"]
