"""The engine's clock work on APScheduler: the periodic tick, a wake-up tick after a staff
action, and the periodic jobs others hook in (PMS sync, guest mail)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

TICK_JOB_ID = "engine-tick"
WAKE_JOB_ID = "engine-wake"


class TickScheduler:
    """Runs ``tick`` every ``interval`` (the first at once: catch-up) while started, plus the
    jobs added with :meth:`add_periodic`. Errors in a job are logged, never raised."""

    def __init__(self, tick: Callable[[], object], interval: timedelta) -> None:
        self._tick = tick
        self._interval = interval
        self._scheduler: Any = None
        self._periodic: dict[str, tuple[Callable[[], object], float]] = {}

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    @property
    def periodic_jobs(self) -> dict[str, tuple[Callable[[], object], float]]:
        """Name → (job, seconds) of the periodic jobs, run while started."""
        return self._periodic

    def start(self) -> bool:
        """Start ticking; False when already started."""
        from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        if self._scheduler is not None:
            return False
        scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": JobExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        scheduler.add_job(self._safe_tick, "interval", id=TICK_JOB_ID,
                          seconds=self._interval.total_seconds(),
                          next_run_time=datetime.now(UTC))
        for name, (job, seconds) in self._periodic.items():
            scheduler.add_job(job, "interval", id=name, seconds=seconds,
                              next_run_time=datetime.now(UTC))
        scheduler.start()
        self._scheduler = scheduler
        return True

    def add_periodic(self, name: str, job: Callable[[], object], seconds: float) -> None:
        self._periodic[name] = (job, seconds)
        if self._scheduler is not None:
            self._scheduler.add_job(job, "interval", id=name, seconds=seconds,
                                    replace_existing=True, next_run_time=datetime.now(UTC))

    def wake(self) -> None:
        """Tick as soon as possible; nothing when not started."""
        if self._scheduler is None:
            return
        self._scheduler.add_job(self._safe_tick, id=WAKE_JOB_ID, replace_existing=True,
                                next_run_time=datetime.now(UTC))

    def stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)

    def _safe_tick(self) -> None:
        try:
            self._tick()
        except Exception:
            log.exception("engine tick failed")
