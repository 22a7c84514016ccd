"""The lifecycle engine as the desk sees it: running or not, paused or not.

The engine is built and started by :func:`start_engine`; the window only talks to this
wrapper, so a desk without an engine (tests, or an engine that failed to start) still works
and says so in the status bar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mangodesk.app import Context

log = logging.getLogger(__name__)


class EngineControl:
    def __init__(self, engine: Any | None = None, problem: str | None = None,
                 closers: list[Callable[[], None]] | None = None) -> None:
        self.engine = engine
        self.problem = problem
        self._closers = closers or []

    @property
    def available(self) -> bool:
        return self.engine is not None

    @property
    def paused(self) -> bool:
        return bool(getattr(self.engine, "paused", False)) if self.engine is not None else False

    def set_paused(self, paused: bool) -> None:
        engine = self.engine
        if engine is None:
            return
        method = getattr(engine, "pause" if paused else "resume", None)
        if callable(method):
            method()
        else:
            engine.paused = paused

    def describe(self) -> str:
        if self.engine is None:
            return "Automation: off on this desk" if self.problem is None \
                else "Automation: not running"
        return "Automation: paused" if self.paused else "Automation: on"

    def start_pms_sync(self, context: Context) -> bool:
        """After Beds24 was connected from the window: sync on the engine's schedule from
        now on (no restart needed). False without an engine or a PMS."""
        if self.engine is None:
            return False
        from mangodesk.app import schedule_pms_sync

        close_sync = schedule_pms_sync(context, self.engine)
        if close_sync is None:
            return False
        self._closers.append(close_sync)
        return True

    def close(self) -> None:
        """Release what the engine's periodic jobs hold (the PMS client); call after the
        engine stopped (``Context.close`` stops it)."""
        for close in self._closers:
            close()
        self._closers = []


def start_engine(context: Context) -> EngineControl:
    """Build and start the engine, with the PMS sync when a PMS is connected (the same
    helpers ``mangodesk run`` uses); a failure here is logged and shown in the status bar,
    and never stops the window opening."""
    from mangodesk.always_on import Heartbeat
    from mangodesk.app import attach_engine, detach_engine, may_run_automation, schedule_pms_sync

    closers: list[Callable[[], None]] = []
    try:
        if not may_run_automation(context):
            # The desk role of a shared database: the service runs the automation.
            log.info("this desk's database login does not run the automation")
            return EngineControl(None)
        engine = attach_engine(context)
        heartbeat = Heartbeat(context, engine, "desk")
        heartbeat.start()
        closers.append(heartbeat.stop)
        close_sync = schedule_pms_sync(context, engine)
        if close_sync is not None:
            closers.append(close_sync)
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        engine.start()
    except Exception as exc:
        log.exception("the lifecycle engine could not start")
        detach_engine(context)
        for close in closers:
            close()
        return EngineControl(None, problem=str(exc))
    return EngineControl(engine, closers=closers)
