"""The engine lease: one row that says which process plans and calls vendors.

Several desks (or the desk window and the headless service) may share one database, and
exactly one of them may run the automation. The holder renews the row every tick; a crashed
holder blocks the others until its term runs out.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from mangodesk.domain.clock import Clock
from mangodesk.store.db import Database
from mangodesk.store.models import EngineLease

log = logging.getLogger(__name__)

LEASE_ID = 1
MIN_LEASE = timedelta(seconds=10)  # how long a crashed holder blocks the others, at least


def _rowcount(result: Any) -> int:
    """Rows an UPDATE touched (the ORM's Result type hides the cursor's count)."""
    return int(result.rowcount)


class DatabaseLease:
    """``acquire()`` takes or renews the lease, ``renew()`` keeps it through a long batch,
    ``release()`` hands it back at once; ``held`` is what the last acquire found."""

    def __init__(self, db: Database, clock: Clock, tick_interval: timedelta, holder: str,
                 write_lock: threading.RLock) -> None:
        self.db = db
        self.clock = clock
        self.holder = holder
        self._term = max(3 * tick_interval, MIN_LEASE)
        self._write_lock = write_lock
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self) -> bool:
        """Take or renew the lease; False while another process holds it."""
        self._held = self._take()
        return self._held

    def _take(self) -> bool:
        now = self.clock.now()
        expires = now + self._term
        with self._write_lock, self.db.transaction() as session:
            taken = _rowcount(session.execute(
                update(EngineLease)
                .where(EngineLease.id == LEASE_ID,
                       (EngineLease.holder == self.holder) | (EngineLease.expires_at <= now))
                .values(holder=self.holder, expires_at=expires)
                .execution_options(synchronize_session=False)))
            if taken:
                return True
            if session.get(EngineLease, LEASE_ID) is not None:
                return False
        try:
            with self.db.transaction() as session:
                session.add(EngineLease(id=LEASE_ID, holder=self.holder, expires_at=expires))
        except IntegrityError:
            return False  # another process created it first
        return True

    def renew(self) -> None:
        """Keep the lease through a long batch (only if we hold it: tests run batches
        without ticking). Never raises: a failed renewal only shortens the term."""
        try:
            with self._write_lock, self.db.transaction() as session:
                session.execute(
                    update(EngineLease)
                    .where(EngineLease.id == LEASE_ID, EngineLease.holder == self.holder)
                    .values(expires_at=self.clock.now() + self._term)
                    .execution_options(synchronize_session=False))
        except Exception:
            log.exception("could not renew the engine lease")

    def release(self) -> None:
        with self._write_lock, self.db.transaction() as session:
            session.execute(
                update(EngineLease)
                .where(EngineLease.id == LEASE_ID, EngineLease.holder == self.holder)
                .values(expires_at=self.clock.now())
                .execution_options(synchronize_session=False))
        self._held = False
