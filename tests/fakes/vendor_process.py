"""A vendor simulator (TTLock, Inlet, Flexipass or TESA Smartair) in its own process, for kill
tests of the real service.

Unlike the in-process simulators' latency and hangs, this one carries every write out and
then holds the answer ``--latency`` seconds: a service killed in that pause made a change
whose answer it never saw. On SIGTERM it writes what every door enforces to
``--state-file`` as JSON: ``{vendor lock id: [[PIN, start ISO, end ISO], ...]}`` (the PIN
is null for a Flexipass mobile key; Smartair lists the live check-in and every pre-check-in
of a room).

Run: ``python -m tests.fakes.vendor_process --vendor ttlock --port-file P --state-file S
--locks N``; the port file then holds the connect wizard's values as JSON. Lock ids are
:func:`lock_id` of 1..N (TTLock: each lock with its own gateway; Smartair: room ids, over
HTTPS with a self-signed certificate whose fingerprint the values pin).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from mangodesk.domain.clock import SystemClock
from mangodesk.sim.base import LoopbackServer
from mangodesk.sim.flexipass import FlexipassSimulator
from mangodesk.sim.inlet import _PIN_AND_MOBILE, InletSimulator
from mangodesk.sim.jsonapi import _JsonApiHandler
from mangodesk.sim.smartair import DEMO_OPERATOR, DEMO_PASSWORD, Fault, SimRoom, SmartairSimulator
from mangodesk.sim.ttlock import TTLockSimulator, _Handler
from mangodesk.vendors import flexipass as flexipass_adapter
from mangodesk.vendors import inlet_contract as wire
from mangodesk.vendors.flexipass import contract as flexipass_contract
from mangodesk.vendors.inlet import TOKEN_FIELD

LOCK_BASE = 30_000_000
GATEWAY_BASE = 7_000_000
SMARTAIR_ROOM_BASE = 500  # Smartair door ids are integers, and not the room numbers
SMARTAIR_WRITES = frozenset({"precheckin", "checkin", "precheckinModifyDate",
                             "precheckinCancel", "checkinModifyDate", "checkout"})

Doors = dict[str, list[list[str]]]
Start = Callable[[], tuple[str, Callable[[], None]]]  # serve; base URL and how to stop


def lock_id(vendor: str, n: int) -> str:
    if vendor == "ttlock":
        return str(LOCK_BASE + n)
    if vendor == "smartair":
        return str(SMARTAIR_ROOM_BASE + n)
    return f"{vendor}-{n:03d}"


def _loopback(handler: type[BaseHTTPRequestHandler]) -> Start:
    def start() -> tuple[str, Callable[[], None]]:
        server = LoopbackServer(handler).start()
        return server.base_url, server.stop
    return start


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


class _TTLockAnswerLate(_Handler):
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


class _JsonAnswerLate(_JsonApiHandler):
    latency = 0.0

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, payload = self.sim.handle(self.command, self.path,
                                          self.headers.get(self.sim.auth_header), body)
        if self.command != "GET":
            time.sleep(self.latency)
        self._reply(status, payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


def _ttlock(locks: int, latency: float) -> tuple[Start, Callable[[str], dict[str, str]],
                                                  Callable[[], Doors]]:
    sim = TTLockSimulator(SystemClock(), populate=False)
    for n in range(1, locks + 1):
        gateway = sim.add_gateway(GATEWAY_BASE + n, f"G2_{n:04d}").gateway_id
        sim.add_lock(LOCK_BASE + n, f"Room {n:03d}", gateways={gateway: -60})

    def values(base_url: str) -> dict[str, str]:
        return {"username": sim.username, "password": sim.password,
                "client_id": sim.client_id, "client_secret": sim.client_secret,
                "api_base": base_url, "hotel_timezone": "UTC"}

    def doors() -> Doors:
        return {str(lock): [[c.pwd, _iso_ms(c.lock_start_ms), _iso_ms(c.lock_end_ms)]
                            for c in sim.codes_on(lock) if c.on_lock] for lock in sim.locks}

    handler = type("TTLockAnswerLate", (_TTLockAnswerLate,), {"sim": sim, "latency": latency})
    return _loopback(handler), values, doors


def _inlet(locks: int, latency: float) -> tuple[Start, Callable[[str], dict[str, str]],
                                                 Callable[[], Doors]]:
    sim = InletSimulator(locks=[
        wire.InletLock(lock_id("inlet", n), f"Room {n:03d}", "Salto KS", "Main building",
                       "Floor 1", True, 90, _PIN_AND_MOBILE) for n in range(1, locks + 1)])

    def values(base_url: str) -> dict[str, str]:
        return {TOKEN_FIELD: sim.token, "base_url": base_url}

    def doors() -> Doors:
        held: Doors = {}
        for granted in sim.grants.values():
            grant = granted.grant
            assert grant.start is not None and grant.end is not None
            held.setdefault(granted.lock_id, []).append(
                [str(grant.code_formatted), grant.start.astimezone(UTC).isoformat(),
                 grant.end.astimezone(UTC).isoformat()])
        return held

    handler = type("InletAnswerLate", (_JsonAnswerLate,), {"sim": sim, "latency": latency})
    return _loopback(handler), values, doors


def _flexipass(locks: int, latency: float) -> tuple[Start, Callable[[str], dict[str, str]],
                                                     Callable[[], Doors]]:
    sim = FlexipassSimulator(doors=[
        flexipass_contract.FlexipassDoor(lock_id("flexipass", n), f"Room {n:03d}", False,
                                         "VingCard Visionline") for n in range(1, locks + 1)])

    def values(base_url: str) -> dict[str, str]:
        return {flexipass_adapter.USERNAME_FIELD: sim.username,
                flexipass_adapter.PASSWORD_FIELD: sim.password,
                flexipass_adapter.COMPANY_TOKEN_FIELD: sim.company_token,
                flexipass_adapter.TIME_ZONE_FIELD: "UTC", "base_url": base_url}

    def doors() -> Doors:
        held: Doors = {}
        for key in sim.keys.values():  # wall-clock times in the connection's zone: UTC
            held.setdefault(key.door, []).append(
                [None, key.check_in.replace(tzinfo=UTC).isoformat(),  # type: ignore[list-item]
                 key.check_out.replace(tzinfo=UTC).isoformat()])
        return held

    handler = type("FlexipassAnswerLate", (_JsonAnswerLate,), {"sim": sim, "latency": latency})
    return _loopback(handler), values, doors


class _SmartairAnswerLate(SmartairSimulator):
    """Carries every write out, then holds the answer (the lock is released meanwhile)."""

    latency = 0.0

    def handle_guests(self, operation: str, params: dict[str, object],
                      fault: Fault | None) -> str:
        answer = super().handle_guests(operation, params, fault)
        if operation in SMARTAIR_WRITES:
            time.sleep(self.latency)
        return answer


def _smartair(locks: int, latency: float) -> tuple[Start, Callable[[str], dict[str, str]],
                                                    Callable[[], Doors]]:
    sim = _SmartairAnswerLate(rooms=[
        SimRoom(SMARTAIR_ROOM_BASE + n, f"Room {n:03d}", "Floor 1") for n in range(1, locks + 1)])
    sim.latency = latency

    def start() -> tuple[str, Callable[[], None]]:
        sim.start()
        return sim.address, sim.stop

    def values(address: str) -> dict[str, str]:
        return {"server_address": address, "operator_name": DEMO_OPERATOR,
                "operator_password": DEMO_PASSWORD,
                "pinned_sha256": sim.certificate_fingerprint or ""}

    def doors() -> Doors:
        held: Doors = {}
        for door_id in sim.rooms:
            for _, stay in sim.stays(door_id):  # the live check-in and every pre-check-in
                held.setdefault(str(door_id), []).append(
                    [stay.pin, stay.start.isoformat(), stay.end.isoformat()])
        return held

    return start, values, doors


def serve(vendor: str, port_file: Path, state_file: Path, locks: int, latency: float) -> None:
    build = {"ttlock": _ttlock, "inlet": _inlet, "flexipass": _flexipass,
             "smartair": _smartair}[vendor]
    start, values, doors = build(locks, latency)
    base_url, stop_server = start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    temporary = port_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(values(base_url)), encoding="utf-8")
    temporary.replace(port_file)  # appears complete
    try:
        stop.wait()
    finally:
        stop_server()
        state_file.write_text(json.dumps(doors()), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vendor", choices=("ttlock", "inlet", "flexipass", "smartair"),
                        default="ttlock")
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--locks", type=int, default=60)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    serve(args.vendor, args.port_file, args.state_file, args.locks, args.latency)


if __name__ == "__main__":
    main()
