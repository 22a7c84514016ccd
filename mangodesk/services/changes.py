"""A cheap "has the database changed?" token, so every open view follows changes made by the
engine on its thread and by another process (the always-on service, a CLI) on the same
database, without a push channel.

SQLite keeps ``PRAGMA data_version``: a number that moves whenever *another* connection
commits. A connection kept only for this never writes, so every commit anywhere moves it;
reading it costs microseconds and touches no table. Only when it moved is a fingerprint of
what the desk shows read (a few aggregates over indexed columns), so the engine renewing its
lease every tick does not reload every view. On PostgreSQL a listener hears every desk's
commits to the tables the desk shows (``LISTEN``/``NOTIFY``, :mod:`mangodesk.store.notify`):
the number heard is the token, so any such change, a booking's new dates included, moves it
without a query. While the listener is not connected, and on other databases, the
fingerprint is read each time.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from mangodesk.store.models import (
    AccessCode,
    Alert,
    AuditEvent,
    Booking,
    Connection,
    Lock,
    Operation,
    SyncState,
    UnitLink,
)
from mangodesk.store.notify import ChangeListener


class ChangeCounter:
    """``token()`` returns a value that differs whenever the database changed since the last
    call that returned a different one. Not thread-safe: one reader (the desk's GUI thread)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite: sqlite3.Connection | None = None
        self.listener: ChangeListener | None = None
        self._version: Any = None
        self._fingerprint: Any = None
        url = make_url(str(engine.url))
        path = url.database if url.get_backend_name() == "sqlite" else None
        if path and path != ":memory:" and not path.startswith("file:"):
            self._sqlite = sqlite3.connect(path, timeout=1, check_same_thread=False,
                                           isolation_level=None)
        elif url.get_backend_name() == "postgresql":
            self.listener = ChangeListener(engine.url)

    def token(self) -> Any:
        if self._sqlite is not None:
            row = self._sqlite.execute("PRAGMA data_version").fetchone()
            version = row[0] if row else None
            if version == self._version:
                return self._fingerprint
            self._version = version
        elif self.listener is not None and self.listener.listening:
            return ("heard", self.listener.count)
        self._fingerprint = self.fingerprint()
        return self._fingerprint

    def fingerprint(self) -> tuple[Any, ...]:
        """What the views show, summed up: codes and their outbox, alerts, the activity log,
        locks, links, connections' status and the last sync."""
        def one(column: Any) -> Any:
            return select(column).scalar_subquery()

        with self._engine.connect() as conn:
            row = conn.execute(select(
                one(func.max(AccessCode.updated_at)), one(func.count(AccessCode.id)),
                one(func.max(Operation.updated_at)), one(func.max(AuditEvent.id)),
                one(func.max(Alert.id)), one(func.count(Alert.acknowledged_at)),
                one(func.count(Alert.cleared_at)), one(func.count(Lock.id)),
                one(func.count(UnitLink.id)), one(func.max(UnitLink.id)), one(func.max(Booking.id)),
                one(func.max(SyncState.last_attempt_at)),
            )).one()
            statuses = conn.execute(select(Connection.id, Connection.status,
                                           Connection.status_message)
                                    .order_by(Connection.id)).all()
            return (*row, tuple(tuple(s) for s in statuses))

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
