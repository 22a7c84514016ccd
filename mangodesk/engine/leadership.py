"""Which process runs the automation when several desks share one database, and how fast
another takes over when it dies.

Exactly one process may plan and call lock providers. It is the one holding the
*leadership*:

- On PostgreSQL, a session-level advisory lock held on a connection of its own (not from
  the pool, which recycles connections). When the leader's process dies, the server ends its
  session and drops the lock at once; the other desks try to take it every couple of seconds,
  so one of them leads again within seconds. Losing that connection means losing the
  leadership: the leader notices at its next check and stops starting calls.
- On SQLite (one PC), a lease row with a short term, renewed on its own timer so a long
  tick cannot let it lapse; a crashed holder blocks the others for at most the term.

:class:`LeadershipWatch` is that timer: a thread of its own that keeps the leadership (or
keeps trying to take it), independent of the engine's tick and its scheduler's threads.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from mangodesk.domain.clock import Clock
from mangodesk.store.db import Database
from mangodesk.store.models import EngineLease
from mangodesk.store.pgconn import dedicated_connection, is_postgresql

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

ATTEMPT_EVERY = timedelta(seconds=2)  # a standby tries, and the leader checks, this often
LEASE_TERM = timedelta(seconds=10)  # SQLite: how long a crashed holder blocks the others
LEASE_ID = 1
# PostgreSQL: a leader whose lock was not confirmed for this long starts no more calls. It is
# shorter than the time the server takes to drop a silent desk's session (about 7 s, see
# mangodesk.store.pgconn): a leader cut off from the server stops before another can start.
CONFIRM_WITHIN = timedelta(seconds=5)
# The advisory lock's key: "mangodsk" as a 64-bit number. Advisory locks are per database,
# so hotels sharing one server never block each other.
ADVISORY_KEY = int.from_bytes(b"mangodsk", "big")
LEADER_NAME_PREFIX = "mangodesk leader "  # the leader's connection in pg_stat_activity


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


class Leadership(Protocol):
    """Take, keep and hand back the right to run the automation."""

    holder: str
    attempt_every: timedelta

    @property
    def held(self) -> bool:
        """True while this process leads, as far as it knows now (no database call)."""

    def acquire(self) -> bool:
        """Take the leadership, or keep it if already held; False while another leads."""

    def renew(self) -> bool:
        """Keep the leadership if held (nothing is taken); returns :attr:`held`."""

    def release(self) -> None:
        """Hand the leadership back at once (a clean stop: another desk takes over)."""


class LeaseLeadership:
    """The SQLite lease: one row naming the holder and when its claim runs out."""

    def __init__(self, db: Database, holder: str, clock: Clock, *,
                 term: timedelta = LEASE_TERM, attempt_every: timedelta = ATTEMPT_EVERY,
                 serialise: AbstractContextManager[Any] | None = None) -> None:
        self.db = db
        self.holder = holder
        self.clock = clock
        self.term = term
        self.attempt_every = attempt_every
        # The engine's in-process write lock: a lease write never slips between a read and a
        # write of the planner or a worker on the same file.
        self._serialise: AbstractContextManager[Any] = serialise or contextlib.nullcontext()
        self._held = False
        self._confirmed_at = 0.0  # time.monotonic() of the last successful take or renewal

    @property
    def held(self) -> bool:
        """Held, and confirmed recently enough that no other desk can have taken it: a
        renewal that keeps failing (a locked or vanished file) ends it before the term."""
        fresh = time.monotonic() - self._confirmed_at < (self.term - self.attempt_every
                                                          ).total_seconds()
        return self._held and fresh

    def acquire(self) -> bool:
        try:
            taken = self._take()
        except SQLAlchemyError as exc:
            log.warning("could not take or renew the engine lease: %s", exc)
            return self.held
        self._held = taken
        if taken:
            self._confirmed_at = time.monotonic()
        return taken

    def _take(self) -> bool:
        now = self.clock.now()
        expires = now + self.term
        with self._serialise, self.db.transaction() as session:
            if self._update(session, expires, may_take=True):
                return True
            if session.get(EngineLease, LEASE_ID) is not None:
                return False
        try:
            with self.db.transaction() as session:
                session.add(EngineLease(id=LEASE_ID, holder=self.holder, expires_at=expires))
        except IntegrityError:
            return False  # another process created it first
        return True

    def _update(self, session: Session, expires: Any, *, may_take: bool) -> bool:
        mine = EngineLease.holder == self.holder
        condition = (mine | (EngineLease.expires_at <= self.clock.now())) if may_take else mine
        return bool(_rowcount(session.execute(
            update(EngineLease).where(EngineLease.id == LEASE_ID, condition)
            .values(holder=self.holder, expires_at=expires)
            .execution_options(synchronize_session=False))))

    def renew(self) -> bool:
        if not self._held:
            return False
        try:
            with self._serialise, self.db.transaction() as session:
                kept = self._update(session, self.clock.now() + self.term, may_take=False)
        except SQLAlchemyError as exc:
            log.warning("could not renew the engine lease: %s", exc)
            return self.held
        self._held = kept
        if kept:
            self._confirmed_at = time.monotonic()
        else:
            log.warning("the engine lease was taken over by another Mangodesk")
        return self.held

    def release(self) -> None:
        self._held = False
        with self._serialise, self.db.transaction() as session:
            session.execute(
                update(EngineLease)
                .where(EngineLease.id == LEASE_ID, EngineLease.holder == self.holder)
                .values(expires_at=self.clock.now())
                .execution_options(synchronize_session=False))


class AdvisoryLockLeadership:
    """PostgreSQL: ``pg_try_advisory_lock`` on a connection of its own, kept open."""

    def __init__(self, url: Any, holder: str, *, attempt_every: timedelta = ATTEMPT_EVERY,
                 stale_after: timedelta = CONFIRM_WITHIN, key: int = ADVISORY_KEY) -> None:
        self.url = url
        self.holder = holder
        self.attempt_every = attempt_every
        self.stale_after = stale_after
        self.key = key
        self._connection: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._held = False
        self._confirmed_at = 0.0

    @property
    def held(self) -> bool:
        """Held, and the connection holding it answered recently (a check that hangs on a
        dead network ends the leadership rather than keeping it)."""
        fresh = time.monotonic() - self._confirmed_at < self.stale_after.total_seconds()
        return self._held and fresh

    def acquire(self) -> bool:
        import psycopg

        with self._lock:
            if self._held and self._still_held():
                return True
            try:
                connection = self._connect()
                row = connection.execute("SELECT pg_try_advisory_lock(%s)",
                                         (self.key,)).fetchone()
            except (psycopg.Error, OSError) as exc:
                log.warning("could not reach the database to take the automation over: %s",
                            exc)
                self._drop()
                return False
            self._held = bool(row and row[0])
            if self._held:
                self._confirmed_at = time.monotonic()
            return self._held

    def renew(self) -> bool:
        with self._lock:
            return self._held and self._still_held()

    def release(self) -> None:
        import psycopg

        with self._lock:
            if self._connection is not None and self._held:
                with contextlib.suppress(psycopg.Error, OSError):
                    self._connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            self._drop()

    def _connect(self) -> psycopg.Connection[Any]:
        if self._connection is None or self._connection.closed:
            self._connection = dedicated_connection(self.url, LEADER_NAME_PREFIX + self.holder)
        return self._connection

    def _still_held(self) -> bool:
        """Ask the server whether this session still holds the lock (it does while the
        session lives); a connection that fails means the leadership is gone."""
        import psycopg

        assert self._connection is not None
        try:
            row = self._connection.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() AND granted AND objsubid = 1 "
                "AND classid = %s::bigint::oid AND objid = %s::bigint::oid)",
                (self.key >> 32, self.key & 0xFFFFFFFF)).fetchone()
        except (psycopg.Error, OSError) as exc:
            log.warning("lost the database connection that holds the automation (%s); "
                        "stopping new lock calls until it is back", exc)
            self._drop()
            return False
        if not (row and row[0]):
            log.warning("the automation lock is no longer held by this Mangodesk")
            self._held = False
            return False
        self._confirmed_at = time.monotonic()
        return True

    def _drop(self) -> None:
        self._held = False
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


def leadership_for(db: Database, holder: str, clock: Clock, *,
                   serialise: AbstractContextManager[Any] | None = None) -> Leadership:
    """The advisory lock on PostgreSQL; the lease everywhere else."""
    if is_postgresql(db.engine.url):
        return AdvisoryLockLeadership(db.engine.url, holder)
    return LeaseLeadership(db, holder, clock, serialise=serialise)


_LEADER_NAME = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.classid = CAST(:high AS bigint)::oid AND l.objid = CAST(:low AS bigint)::oid "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def current_leader(db: Database, clock: Clock) -> str | None:
    """Who runs the automation on this database now (its holder name), or None."""
    if is_postgresql(db.engine.url):
        with db.session() as session:
            name = session.execute(_LEADER_NAME, {"high": ADVISORY_KEY >> 32,
                                                  "low": ADVISORY_KEY & 0xFFFFFFFF}).scalar()
        if not name:
            return None
        return str(name).removeprefix(LEADER_NAME_PREFIX)
    with db.session() as session:
        lease = session.get(EngineLease, LEASE_ID)
        if lease is None or lease.expires_at <= clock.now():
            return None
        return lease.holder




class LeadershipWatch:
    """Runs ``check`` every ``every`` on a thread of its own until stopped."""

    def __init__(self, check: Callable[[], object], every: timedelta,
                 name: str = "engine-leadership") -> None:
        self._check = check
        self._every = every.total_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._check()
            except Exception:
                log.exception("checking the automation's leadership failed")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)


__all__ = ["ATTEMPT_EVERY", "LEASE_TERM", "AdvisoryLockLeadership", "Leadership",
           "LeadershipWatch", "LeaseLeadership", "current_leader", "leadership_for"]
