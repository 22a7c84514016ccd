"""The lifecycle engine as the desk sees it: running or not, paused or not.

The engine (``mangodesk.engine.engine.Engine``) is built by :func:`start_engine` when that
module exists; the window only talks to this wrapper, so a desk without an engine (another
desk runs it, or it is not installed) still works and says so.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from typing import Any

from mangodesk.app import Context

log = logging.getLogger(__name__)


class EngineControl:
    def __init__(self, engine: Any | None = None, problem: str | None = None) -> None:
        self.engine = engine
        self.problem = problem

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

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()


def start_engine(context: Context) -> EngineControl:
    """Build and start the engine if this version has one; never fails the GUI start."""
    try:
        module = importlib.import_module("mangodesk.engine.engine")
    except ImportError:
        return EngineControl(None)
    try:
        engine_class = module.Engine
        config_class = getattr(module, "EngineConfig", None)
        kwargs: dict[str, Any] = {}
        parameters = inspect.signature(engine_class).parameters
        available = {"db": context.db, "vendors": context.vendors, "secrets": context.secrets,
                     "clock": context.clock, "events": context.events,
                     "context": context, "settings": context.settings}
        for name in parameters:
            if name in available:
                kwargs[name] = available[name]
        if "config" in parameters and config_class is not None:
            from_settings = getattr(config_class, "from_settings", None)
            kwargs["config"] = (from_settings(context.settings) if callable(from_settings)
                                else config_class())
        engine = engine_class(**kwargs)
        engine.start()
    except Exception as exc:
        log.exception("the lifecycle engine could not start")
        return EngineControl(None, problem=str(exc))
    context.services.engine = engine
    return EngineControl(engine)
