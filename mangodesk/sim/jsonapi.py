"""The part every JSON-over-HTTP vendor simulator shares (Inlet, Flexipass): start and stop
on loopback, and the faults tests inject — an error status, or a request that never gets an
answer, optionally after it was carried out (a lost reply)."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Self
from urllib.parse import urlsplit

from mangodesk.sim.base import LoopbackServer


@dataclass
class Fault:
    status: int | None = None  # answer with this HTTP status
    hang: bool = False  # never answer (until released)
    after_apply: bool = False  # carry the request out first (the answer is lost)
    path: str | None = None  # only a request to this path (None: the next request)
    reply: tuple[int, bytes] | None = None  # answer with this status and these raw bytes


class JsonApiSimulator:
    """Subclasses say who they are (``vendor_name``, ``auth_header``), what a simulated
    failure looks like (``failure_body``) and how a request is answered (``handle``)."""

    vendor_name = "vendor"
    auth_header = "Authorization"

    def __init__(self) -> None:
        self._faults: deque[Fault] = deque()
        self._state = threading.Lock()
        self._release = threading.Event()
        self._server: LoopbackServer | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        handler = type("Handler", (_JsonApiHandler,), {"sim": self})
        self._server = LoopbackServer(handler).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"the {self.vendor_name} simulator is not running")
        return self._server.base_url

    # ------------------------------------------------------------------ faults

    def fail_next(self, status: int = 503, count: int = 1, *, path: str | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` without carrying them out."""
        with self._state:
            self._faults.extend(Fault(status=status, path=path) for _ in range(count))

    def hang_next(self, *, after_apply: bool = False, path: str | None = None) -> None:
        """Never answer the next request; with ``after_apply`` it is carried out first."""
        with self._state:
            self._faults.append(Fault(hang=True, after_apply=after_apply, path=path))

    def reply_next(self, status: int, body: bytes, *, after_apply: bool = False,
                   path: str | None = None) -> None:
        """Answer the next request with ``status`` and the raw ``body`` (HTML, a 2xx that
        says failure, nonsense); with ``after_apply`` it is carried out first."""
        with self._state:
            self._faults.append(Fault(reply=(status, body), after_apply=after_apply, path=path))

    def release_hung(self) -> None:
        self._release.set()

    def next_fault(self, path: str) -> Fault | None:
        """Take the first queued fault meant for a request to ``path``."""
        with self._state:
            for fault in self._faults:
                if fault.path is None or fault.path == path:
                    self._faults.remove(fault)
                    return fault
            return None

    def wait_released(self) -> None:
        self._release.wait()

    # ------------------------------------------------------------------ for subclasses

    def failure_body(self) -> Any:
        return {"error": "ServerError", "message": "Simulated failure"}

    def handle(self, method: str, url: str, auth: str | None, body: Any) -> tuple[int, Any]:
        raise NotImplementedError


class _JsonApiHandler(BaseHTTPRequestHandler):
    sim: JsonApiSimulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        fault = self.sim.next_fault(urlsplit(self.path).path)
        if fault is not None and fault.status is not None:
            self._reply(fault.status, self.sim.failure_body())
            return
        if fault is not None and not fault.after_apply and (fault.hang or fault.reply):
            self._answer_with(fault)
            return
        status, payload = self.sim.handle(
            self.command, self.path, self.headers.get(self.sim.auth_header), body
        )
        if fault is not None and (fault.hang or fault.reply):
            self._answer_with(fault)
            return
        self._reply(status, payload)

    def _answer_with(self, fault: Fault) -> None:
        if fault.reply is None:
            self._hang()
            return
        status, data = fault.reply
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _hang(self) -> None:
        self.sim.wait_released()
        self.close_connection = True

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode() if status != 204 else b""
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve
