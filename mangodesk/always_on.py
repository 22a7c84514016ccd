"""The always-on service's own parts, built from the composition root's :class:`Context`: the
heartbeat row every process that runs the automation keeps fresh, and the health endpoint on
127.0.0.1 that monitoring tools poll (what they report comes from
:mod:`mangodesk.services.service_status`)."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, update

from mangodesk import __version__
from mangodesk.domain.events import Event, EventKind
from mangodesk.services.service_status import (
    CRITICAL,
    HEARTBEAT_SECONDS,
    STOPPED_ROWS_KEPT,
    ServiceStatus,
    read_status,
)
from mangodesk.store.models import ServiceProcess

if TYPE_CHECKING:
    from mangodesk.app import Context
    from mangodesk.engine.engine import Engine

log = logging.getLogger(__name__)

HEALTH_HOST = "127.0.0.1"


class Heartbeat:
    """This process's row in ``service_process``, kept fresh from the engine's scheduler (so
    "last tick" means the engine is alive) and stamped on every leadership change."""

    def __init__(self, context: Context, engine: Engine, kind: str,
                 health_url: str | None = None) -> None:
        self.context = context
        self.engine = engine
        self.kind = kind
        self.holder = getattr(engine, "holder", f"{socket.gethostname()}:{os.getpid()}")
        self.health_url = health_url
        self.leading = False
        self._lock = threading.Lock()
        self._unsubscribe = context.events.subscribe(self._on_event)

    def start(self) -> None:
        now = self.context.clock.now()
        with self.context.db.transaction() as session:
            session.execute(delete(ServiceProcess).where(
                (ServiceProcess.holder == self.holder)
                | (ServiceProcess.seen_at < now - STOPPED_ROWS_KEPT)))
            session.add(ServiceProcess(
                holder=self.holder, kind=self.kind, host=socket.gethostname(),
                pid=os.getpid(), version=__version__, started_at=now, seen_at=now,
                last_tick_at=None, leading=False, health_url=self.health_url))
        interval = min(HEARTBEAT_SECONDS, self.context.settings.tick_seconds)
        self.engine.add_periodic_job("heartbeat", self.beat, interval)

    def _on_event(self, event: Event) -> None:
        if event.kind == EventKind.ENGINE_STATE and "leading" in event.data:
            self.leading = bool(event.data["leading"])
            self.beat()

    def beat(self) -> None:
        now = self.context.clock.now()
        with self._lock, self.context.db.transaction() as session:
            session.execute(update(ServiceProcess).where(ServiceProcess.holder == self.holder)
                            .values(seen_at=now, last_tick_at=now, leading=self.leading,
                                    stopped_at=None)
                            .execution_options(synchronize_session=False))

    def stop(self) -> None:
        self._unsubscribe()
        try:
            with self._lock, self.context.db.transaction() as session:
                session.execute(update(ServiceProcess)
                                .where(ServiceProcess.holder == self.holder)
                                .values(stopped_at=self.context.clock.now(), leading=False)
                                .execution_options(synchronize_session=False))
        except Exception:
            log.exception("could not record that this process stopped")


def status_for(context: Context) -> ServiceStatus:
    """The status with this profile's settings (tick and sync intervals)."""
    settings = context.settings
    return read_status(context.db, context.clock.now(), tick_seconds=settings.tick_seconds,
                       sync_interval_minutes=settings.sync_interval_minutes)


class HealthServer:
    """``GET /health`` on 127.0.0.1: the status as JSON, HTTP 200 when ok or warning, 503 when
    critical (what most monitoring tools alert on without parsing the body)."""

    def __init__(self, context: Context, port: int) -> None:
        self.context = context
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/health", "/status", "/"):
                    self._send(404, {"error": "not found; try /health"})
                    return
                try:
                    status = status_for(outer.context)
                except Exception as exc:
                    log.exception("health check failed")
                    self._send(503, {"status": "critical", "level": CRITICAL,
                                     "problems": [f"The database cannot be read "
                                                  f"({type(exc).__name__})."]})
                    return
                self._send(503 if status.level == CRITICAL else 200, status.as_dict())

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body, default=str).encode("utf-8")
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("health: " + format, *args)

        self._server = ThreadingHTTPServer((HEALTH_HOST, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="health-endpoint", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/health"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
