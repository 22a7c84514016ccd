"""What every simulator shares: a loopback HTTP server in a background thread, and the
description the demo mode uses to connect to it."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mangodesk.domain.types import VendorKind


class _BackloggedServer(ThreadingHTTPServer):
    """The standard library listens with a backlog of 5: a burst of connections from the
    engine (one per TTLock gateway at once) overflows it, and a connection the kernel then
    drops looks to the client like a lost answer."""

    request_queue_size = 128


class LoopbackServer:
    """Serve ``handler_class`` on 127.0.0.1 (port 0 = any free port) in a daemon thread."""

    def __init__(
        self,
        handler_class: type[BaseHTTPRequestHandler],
        *,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._server = _BackloggedServer(("127.0.0.1", port), handler_class)
        self._server.daemon_threads = True
        self.scheme = "http"
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    @property
    def server(self) -> ThreadingHTTPServer:
        return self._server

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"sim-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


@dataclass
class DemoVendor:
    """A running simulator and the wizard values that connect to it."""

    kind: VendorKind
    display_name: str
    values: dict[str, str]  # exactly what the connect wizard would collect (secrets included)
    stop: Callable[[], None]
    settings: dict[str, str] = field(default_factory=dict)  # extra non-secret settings
