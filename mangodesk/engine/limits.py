"""Keeping each provider account within what its vendor takes (``CallLimits``): how many
calls run at once for one account, and how fast requests start.

Calls through one serialisation key run one after another in the worker pool; this module
adds the per-account bounds on top. A configured limit may only lower a vendor's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mangodesk.domain.errors import NotFoundError
from mangodesk.domain.types import VendorKind
from mangodesk.engine.config import EngineConfig
from mangodesk.vendors.base import CallLimits
from mangodesk.vendors.registry import VendorRegistry

# A provider the registry does not know has declared nothing: one call at a time.
UNKNOWN_PROVIDER_LIMITS = CallLimits(calls_at_once=1)


def call_limits_of(vendors: VendorRegistry, kind: str) -> CallLimits:
    try:
        return vendors.spec(VendorKind(kind)).call_limits
    except (NotFoundError, ValueError):
        return UNKNOWN_PROVIDER_LIMITS


def calls_at_once(vendors: VendorRegistry, kind: str, config: EngineConfig) -> int | None:
    """Calls one account of ``kind`` may have in flight: the vendor's limit, lowered by
    ``config.per_connection_concurrency`` when that is set (0: the vendor's); None: no
    bound but the pool's threads."""
    declared = call_limits_of(vendors, kind).calls_at_once
    configured = config.per_connection_concurrency or None
    if declared is None or configured is None:
        return declared or configured
    return min(declared, configured)


class RequestPacer:
    """Starts the requests to one account at least ``1 / per_second`` apart, across
    threads: in any second at most ``per_second`` of them start. A caller waits for its slot
    in the order it asked."""

    def __init__(self, per_second: float, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._gap = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next_start = float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + self._gap
        if start > now:
            self._sleep(start - now)
