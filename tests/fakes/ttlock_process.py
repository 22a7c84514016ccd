"""The TTLock simulator in its own process, for kill tests of the real service.

Unlike the in-process simulator's latency (which waits *before* carrying a call out), this
one carries a call out and then holds the answer ``--latency`` seconds: a service killed in
that pause made a change whose answer it never saw. On SIGTERM it writes what every door
enforces to ``--state-file`` as JSON: ``{lock id: [[PIN, start ms, end ms, on lock], ...]}``.

Run: ``python -m tests.fakes.ttlock_process --port-file P --state-file S --locks N``; the
port file then holds the connect wizard's values as JSON (``api_base`` included). Lock ids
are ``LOCK_BASE + 1 .. LOCK_BASE + N``, each with its own gateway.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from mangodesk.domain.clock import SystemClock
from mangodesk.sim.base import LoopbackServer
from mangodesk.sim.ttlock import TTLockSimulator, _Handler

LOCK_BASE = 30_000_000
GATEWAY_BASE = 7_000_000


class _AnswerLate(_Handler):
    latency = 0.0

    def _serve(self) -> None:
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length).decode("utf-8", "replace")
            params.update({k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()})
        status, payload, _ = self.sim.handle(self.command, url.path, params)
        if url.path.startswith("/v3/keyboardPwd/"):
            time.sleep(self.latency)  # carried out; the answer is still on its way
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve


def serve(port_file: Path, state_file: Path, locks: int, latency: float) -> None:
    sim = TTLockSimulator(SystemClock(), populate=False)
    for n in range(1, locks + 1):
        gateway = sim.add_gateway(GATEWAY_BASE + n, f"G2_{n:04d}").gateway_id
        sim.add_lock(LOCK_BASE + n, f"Room {n:03d}", gateways={gateway: -60})
    handler = type("AnswerLate", (_AnswerLate,), {"sim": sim, "latency": latency})
    server = LoopbackServer(handler).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    values = {"username": sim.username, "password": sim.password, "client_id": sim.client_id,
              "client_secret": sim.client_secret, "api_base": server.base_url}
    temporary = port_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(values), encoding="utf-8")
    temporary.replace(port_file)  # appears complete: what the connect wizard needs
    try:
        stop.wait()
    finally:
        server.stop()
        state = {str(lock): [[c.pwd, c.lock_start_ms, c.lock_end_ms, c.on_lock]
                             for c in sim.codes_on(lock)] for lock in sim.locks}
        state_file.write_text(json.dumps(state), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--locks", type=int, default=60)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    serve(args.port_file, args.state_file, args.locks, args.latency)


if __name__ == "__main__":
    main()
