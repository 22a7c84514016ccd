"""The engine's knobs and the words its collaborators share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

SIGN_IN_NEEDED = "Sign-in needed:"  # Connection.status_message prefix: its codes wait


@dataclass(frozen=True)
class EngineConfig:
    retry_interval: timedelta = timedelta(minutes=5)
    jitter: timedelta = timedelta(seconds=30)  # each retry lands within ±jitter of the interval
    max_attempts: int = 30
    max_pin_conflicts: int = 5
    tick_interval: timedelta = timedelta(seconds=30)
    # Ticks plan only what changed or came due; a full pass this often is the safety net.
    full_plan_interval: timedelta = timedelta(hours=1)
    # Threads are cheap next to a vendor's latency: enough for every TTLock gateway of a
    # large hotel to be busy at once. Each account is bounded by its vendor's CallLimits.
    worker_threads: int = 64
    per_connection_concurrency: int = 0  # 0: the vendor's limit; a number only lowers it
    shutdown_wait: timedelta = timedelta(seconds=10)
    batch_size: int = 1000  # due operations taken per run; the rest wait for the next tick

    @classmethod
    def from_settings(cls, settings: Any) -> EngineConfig:
        """Read the engine's knobs from :class:`mangodesk.settings.Settings`."""
        return cls(
            retry_interval=timedelta(minutes=settings.retry_interval_minutes),
            max_attempts=settings.max_attempts,
            tick_interval=timedelta(seconds=settings.tick_seconds),
            worker_threads=settings.worker_threads,
            per_connection_concurrency=settings.per_connection_concurrency,
        )


class Outcome(StrEnum):
    DONE = "done"
    RETRY_LATER = "retry_later"
    RETRY_NOW = "retry_now"  # a PIN conflict: a new PIN is ready, try at once
    GAVE_UP = "gave_up"
    SKIPPED = "skipped"  # not ours to run now (cancelled, or an earlier step still open)
