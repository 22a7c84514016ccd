"""Hear every desk's commits on PostgreSQL: ``LISTEN`` on a connection of its own.

Migration ``0009_failover`` makes every commit that changes codes, operations, alerts, links,
bookings (and the activity log, locks, connections, the last sync) send ``NOTIFY`` on
:data:`CHANNEL`. :class:`ChangeListener` waits for those on a thread and moves a counter;
the desk's change counter (:mod:`mangodesk.services.changes`) reads the counter the way it
reads SQLite's ``PRAGMA data_version``. While the connection is down the listener says so
(``listening`` is False) and reconnects every few seconds; the counter then moves once,
since commits made meanwhile were not heard.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from mangodesk.store.pgconn import dedicated_connection

log = logging.getLogger(__name__)

CHANNEL = "mangodesk_changes"  # the migration's trigger function notifies this channel
RECONNECT_SECONDS = 2.0
WAIT_SLICE_SECONDS = 0.5  # how long one wait for notifications lasts before checking stop


class ChangeListener:
    """Counts notifications on :data:`CHANNEL`, on a daemon thread, until closed."""

    def __init__(self, url: Any, *, name: str = "mangodesk desk changes") -> None:
        self._url = url
        self._name = name
        self._count = 0
        self._count_lock = threading.Lock()
        self._listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="change-listener", daemon=True)
        self._thread.start()

    @property
    def count(self) -> int:
        """Moves with every notification heard (and once after each (re)connection)."""
        with self._count_lock:
            return self._count

    @property
    def listening(self) -> bool:
        """True while subscribed: no commit can go unheard."""
        return self._listening.is_set()

    def wait_listening(self, timeout: float) -> bool:
        return self._listening.wait(timeout)

    def _bump(self) -> None:
        with self._count_lock:
            self._count += 1

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            connection = None
            try:
                connection = dedicated_connection(self._url, self._name)
                connection.execute(f"LISTEN {CHANNEL}")
                self._bump()  # whatever was committed while nobody listened
                self._listening.set()
                while not self._stop.is_set():
                    for _ in connection.notifies(timeout=WAIT_SLICE_SECONDS):
                        self._bump()
            except (psycopg.Error, OSError) as exc:
                log.warning("not hearing other desks' changes (%s); trying again", exc)
            finally:
                self._listening.clear()
                if connection is not None:
                    try:
                        connection.close()
                    except Exception:
                        log.debug("closing the change listener's connection failed",
                                  exc_info=True)
            self._stop.wait(RECONNECT_SECONDS)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(WAIT_SLICE_SECONDS * 4)
