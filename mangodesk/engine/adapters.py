"""One live adapter per lock-provider connection, shared by the engine and the services.

A vendor adapter holds a signed-in HTTP client (and, for TTLock, the gateway serialisation a
vendor needs), so every part of the process uses the same one instead of building copies. A
change of a connection's settings or password :meth:`~AdapterPool.replace`\\ s its adapter:
the next use builds a fresh one from the database and the keyring, and the old one is closed
as soon as nobody is using it (a call in flight finishes on the adapter it started with).
Each connection's request pacer (its vendor's ``requests_per_second``) outlives its adapters,
so a rebuilt adapter, the engine and the services all share the account's one budget.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mangodesk.domain.errors import NotFoundError
from mangodesk.engine.limits import RequestPacer, call_limits_of
from mangodesk.engine.resolve import adapter_for
from mangodesk.store.db import Database
from mangodesk.store.models import Connection
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import VendorAdapter
from mangodesk.vendors.registry import VendorRegistry

log = logging.getLogger(__name__)


@dataclass
class _Entry:
    adapter: VendorAdapter
    users: int = 0
    retired: bool = False  # replaced or the pool closed: close it when the last user leaves


class AdapterPool:
    """Builds each connection's adapter on first use and owns it until it is replaced or
    the pool is closed. Thread-safe: engine workers and desk background tasks share it."""

    def __init__(self, db: Database, vendors: VendorRegistry, secrets: SecretStore) -> None:
        self.db = db
        self.vendors = vendors
        self.secrets = secrets
        self._entries: dict[int, _Entry] = {}
        self._lock = threading.Lock()
        self._building: dict[int, threading.Lock] = {}
        self._pacers: dict[int, RequestPacer] = {}

    def adapter(self, connection_id: int) -> VendorAdapter:
        """The connection's adapter, built on first use. Raises :class:`NotFoundError` when
        the connection is gone, and what the provider's factory raises (no password in the
        keyring, provider not shipped)."""
        with self._lock:
            entry = self._entries.get(connection_id)
            if entry is not None:
                return entry.adapter
            building = self._building.setdefault(connection_id, threading.Lock())
        with building:  # one build per connection, without holding up the others
            with self._lock:
                entry = self._entries.get(connection_id)
                if entry is not None:
                    return entry.adapter
            adapter = self._build(connection_id)
            with self._lock:
                self._entries[connection_id] = _Entry(adapter)
            return adapter

    @contextmanager
    def use(self, connection_id: int) -> Iterator[VendorAdapter]:
        """The connection's adapter for one piece of work: a :meth:`replace` meanwhile does
        not close it under the caller's feet."""
        while True:
            adapter = self.adapter(connection_id)
            with self._lock:
                entry = self._entries.get(connection_id)
                if entry is not None and entry.adapter is adapter:
                    entry.users += 1
                    break
            # replaced between the build and here: take the new one
        try:
            yield adapter
        finally:
            with self._lock:
                entry.users -= 1
                closing = entry.retired and entry.users == 0
            if closing:
                _close(adapter)

    def replace(self, connection_id: int) -> None:
        """The connection's settings or credentials changed (or it was removed): forget its
        adapter; the next use builds a new one. The old one is closed once idle."""
        with self._lock:
            entry = self._entries.pop(connection_id, None)
            if entry is None:
                return
            entry.retired = True
            closing = entry.users == 0
        if closing:
            _close(entry.adapter)

    def connection_ids(self) -> list[int]:
        """The connections that have a live adapter now."""
        with self._lock:
            return sorted(self._entries)

    def close(self) -> None:
        """Close every adapter (those in use as soon as their call returns)."""
        for connection_id in self.connection_ids():
            self.replace(connection_id)

    def _build(self, connection_id: int) -> VendorAdapter:
        with self.db.session() as session:
            connection = session.get(Connection, connection_id)
            if connection is None:
                raise NotFoundError("The lock provider connection was removed.")
            return adapter_for(connection, self.vendors, self.secrets,
                               pace=self._pacer(connection_id, str(connection.kind)))

    def _pacer(self, connection_id: int, kind: str) -> RequestPacer | None:
        per_second = call_limits_of(self.vendors, kind).requests_per_second
        if per_second is None:
            return None
        with self._lock:
            return self._pacers.setdefault(connection_id, RequestPacer(per_second))


def _close(adapter: VendorAdapter) -> None:
    try:
        adapter.close()
    except Exception:
        log.exception("closing a lock provider's adapter failed")
