"""The fake lock provider over loopback HTTP, for tests that need it in another process.

The server keeps codes per lock in memory (so it outlives the engine process it serves) and
sleeps ``latency`` *after* storing a code and before answering: a client killed during
that sleep has created a code whose reply it never saw, which is the crash the engine
must survive. Run it with ``python -m tests.fakes.http_vendor --port-file PATH``.

``SPEC`` is the provider the engine process loads as an installed plug-in (the
``mangodesk.providers`` entry point of the distribution in ``tests/fakes/provider_site``,
put on its PYTHONPATH); its connection's settings carry ``base_url``.

Wire format (invented, JSON): GET/POST /locks/<lock>/codes, PATCH/DELETE
/locks/<lock>/codes/<ref>, GET /stats (creates, PINs and windows per lock). 409 = PIN taken,
404 = no such code.
"""

from __future__ import annotations

import argparse
import itertools
import json
import signal
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx

from mangodesk.domain.pinrules import PinRules
from mangodesk.domain.types import VendorKind
from mangodesk.sim.base import LoopbackServer
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    Capabilities,
    CodeConflictError,
    CodeRequest,
    ConnectionConfig,
    ConnectionReport,
    LockDetails,
    LockInfo,
    PermanentError,
    ProviderSpec,
    SentCodeMatcher,
    TransientError,
    VendorCode,
)

# --------------------------------------------------------------------------- server


class _State:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.lock = threading.Lock()
        self.codes: dict[str, dict[str, dict[str, Any]]] = {}
        self.refs = itertools.count(1)
        self.creates = 0


def make_handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, status: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any] | None:
            """The request's JSON, or None when it did not arrive whole (the client was
            killed mid-request): a real server would not act on half a request either."""
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            if len(data) != length:
                return None
            try:
                body = json.loads(data or b"{}")
            except ValueError:
                return None
            return body if isinstance(body, dict) else None

        def _parts(self) -> list[str]:
            return [p for p in self.path.split("/") if p]

        def do_GET(self) -> None:
            parts = self._parts()
            with state.lock:
                if parts == ["stats"]:
                    self._reply(200, {"creates": state.creates, "codes": {
                        lock: [c["pin"] for c in codes.values()]
                        for lock, codes in state.codes.items()}, "windows": {
                        lock: [[c["pin"], c["valid_from"], c["valid_to"]]
                               for c in codes.values()]
                        for lock, codes in state.codes.items()}})
                    return
                codes = list(state.codes.get(parts[1], {}).values())
            self._reply(200, codes)

        def do_POST(self) -> None:
            lock = self._parts()[1]
            body = self._body()
            if body is None or "pin" not in body:
                self._reply(400, {"error": "incomplete request"})
                return
            with state.lock:
                on_lock = state.codes.setdefault(lock, {})
                if any(c["pin"] == body["pin"] for c in on_lock.values()):
                    conflict = True
                else:
                    conflict = False
                    ref = f"r{next(state.refs)}"
                    code = {**body, "ref": ref}
                    on_lock[ref] = code
                    state.creates += 1
            if conflict:
                self._reply(409, {"error": "pin exists"})
                return
            time.sleep(state.latency)  # stored, not yet answered: the window for lost replies
            self._reply(201, code)

        def do_PATCH(self) -> None:
            _, lock, _, ref = self._parts()
            body = self._body()
            if body is None:
                self._reply(400, {"error": "incomplete request"})
                return
            with state.lock:
                code = state.codes.get(lock, {}).get(ref)
                if code is not None:
                    code.update(body)
            time.sleep(state.latency)
            self._reply(404 if code is None else 200, code)

        def do_DELETE(self) -> None:
            _, lock, _, ref = self._parts()
            with state.lock:
                gone = state.codes.get(lock, {}).pop(ref, None) is None
            time.sleep(state.latency)
            self._reply(404 if gone else 204)

    return Handler


def serve(port_file: Path, latency: float) -> None:
    server = LoopbackServer(make_handler(_State(latency))).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(server.port), encoding="utf-8")
    tmp.replace(port_file)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


# --------------------------------------------------------------------------- adapter


class HttpFakeAdapter(SentCodeMatcher):
    kind = VendorKind.TTLOCK
    capabilities = Capabilities(automated=True, pin_rules=PinRules())

    def __init__(self, config: ConnectionConfig) -> None:
        self._client = httpx.Client(base_url=str(config.settings["base_url"]), timeout=10)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, url, **kwargs)
        except httpx.ConnectError as exc:
            raise TransientError("The fake lock server cannot be reached.") from exc
        except httpx.TransportError as exc:
            raise AmbiguousError("The fake lock server did not answer.") from exc

    @staticmethod
    def _code(data: dict[str, Any]) -> VendorCode:
        return VendorCode(data["ref"], data["pin"], datetime.fromisoformat(data["valid_from"]),
                          datetime.fromisoformat(data["valid_to"]), data.get("label"))

    def test_connection(self) -> ConnectionReport:
        return ConnectionReport(ok=True, summary="Fake HTTP locks.")

    def list_locks(self) -> list[LockInfo]:
        return []

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        return LockDetails(items=(("Lock", vendor_lock_id),))

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        response = self._send("GET", f"/locks/{vendor_lock_id}/codes")
        return [self._code(item) for item in response.json()]

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        response = self._send("POST", f"/locks/{vendor_lock_id}/codes", json={
            "pin": request.pin, "valid_from": request.valid_from.isoformat(),
            "valid_to": request.valid_to.isoformat(), "label": request.label})
        if response.status_code == 409:
            raise CodeConflictError("That code already exists on the lock.")
        if response.status_code >= 400:
            raise PermanentError(f"The fake lock server refused ({response.status_code}).")
        return self._code(response.json())

    def update_code(self, vendor_lock_id: str, code: VendorCode, valid_from: datetime,
                    valid_to: datetime) -> VendorCode:
        response = self._send("PATCH", f"/locks/{vendor_lock_id}/codes/{code.vendor_ref}",
                              json={"valid_from": valid_from.isoformat(),
                                    "valid_to": valid_to.isoformat()})
        if response.status_code == 404:
            raise AlreadyGoneError("The code is not on the lock any more.")
        return self._code(response.json())

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        response = self._send("DELETE", f"/locks/{vendor_lock_id}/codes/{code.vendor_ref}")
        if response.status_code == 404:
            raise AlreadyGoneError("The code is not on the lock.")

    def close(self) -> None:
        self._client.close()


SPEC = ProviderSpec(kind=VendorKind.TTLOCK, display_name="Fake HTTP locks (tests)", fields=(),
                    capabilities=HttpFakeAdapter.capabilities, factory=HttpFakeAdapter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    serve(args.port_file, args.latency)


if __name__ == "__main__":
    main()
