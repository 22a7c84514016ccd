"""A local Inlet: the lock list and PIN grants, following the assumed wire contract.

It speaks exactly what :mod:`mangodesk.vendors.inlet_contract` describes, enforces Inlet's
72-hour rule, and can inject faults: token rejected, HTTP 5xx, a hang before or after the
request is carried out (a lost answer), and locks going offline. Tests drive it through the
Python API; the demo mode starts it with :func:`start_for_demo`.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.types import VendorKind
from mangodesk.sim.base import DemoVendor
from mangodesk.sim.jsonapi import JsonApiSimulator
from mangodesk.vendors import inlet_contract as wire
from mangodesk.vendors.inlet import TOKEN_FIELD

DEMO_TOKEN = "demo-inlet-property-token"

_PIN_AND_MOBILE = (wire.ACCESS_CODE, wire.ACCESS_MOBILE_KEY)


def demo_locks() -> list[wire.InletLock]:
    """A mixed portfolio: several lock systems, some without a keypad, one lock offline."""

    def lock(lock_id: str, name: str, system: str, location: str, group: str,
             access: tuple[str, ...], *, online: bool = True,
             battery: int | None = None) -> wire.InletLock:
        return wire.InletLock(lock_id, name, system, location, group, online, battery, access)

    return [
        lock("salto-101", "Room 101", "Salto KS", "Main building", "Floor 1", _PIN_AND_MOBILE,
             battery=87),
        lock("salto-102", "Room 102", "Salto KS", "Main building", "Floor 1", _PIN_AND_MOBILE,
             battery=64),
        lock("salto-103", "Room 103", "Salto KS", "Main building", "Floor 1", _PIN_AND_MOBILE,
             battery=91),
        lock("dk-201", "Room 201", "dormakaba exivo", "Main building", "Floor 2",
             (wire.ACCESS_CODE,)),
        lock("dk-202", "Room 202", "dormakaba exivo", "Main building", "Floor 2",
             (wire.ACCESS_CODE,), online=False),
        lock("igloo-a", "Apartment A", "igloohome", "Garden houses", "Apartments",
             (wire.ACCESS_CODE,), battery=45),
        lock("2n-gate", "Front gate", "2N", "Main building", "Common doors",
             (wire.ACCESS_CODE, wire.ACCESS_UNLOCK)),
        lock("dana-studio", "Garden studio", "Danalock", "Garden houses", "Apartments",
             (wire.ACCESS_MOBILE_KEY,), battery=72),
        lock("evva-staff", "Staff room", "EVVA AirKey", "Main building", "Back office",
             (wire.ACCESS_MOBILE_KEY, wire.ACCESS_URL_KEY)),
        lock("assa-entrance", "Main entrance", "ASSA ABLOY", "Main building", "Common doors",
             (wire.ACCESS_UNLOCK,)),
        lock("paxton-parking", "Parking barrier", "Paxton Net2", "Car park", "Common doors",
             (wire.ACCESS_UNLOCK,)),
    ]


@dataclass(frozen=True)
class SimGrant:
    lock_id: str
    grant: wire.InletGrant
    email: str | None


class InletSimulator(JsonApiSimulator):
    """Inlet's partner API on 127.0.0.1. Thread-safe; inspect ``grants`` in tests."""

    vendor_name = "Inlet"
    auth_header = wire.AUTH_HEADER

    def __init__(
        self,
        *,
        token: str = DEMO_TOKEN,
        locks: list[wire.InletLock] | None = None,
        clock: Clock | None = None,
        seed: int = 7,
    ) -> None:
        super().__init__()
        self.token = token
        self.clock = clock or SystemClock()
        self.auth_rejected = False
        self.requests: list[tuple[str, str]] = []
        initial = locks if locks is not None else demo_locks()
        self._locks = {lock.lock_id: lock for lock in initial}
        self._grants: dict[str, SimGrant] = {}
        self._random = random.Random(seed)

    # ------------------------------------------------------------------ test API

    @property
    def grants(self) -> dict[str, SimGrant]:
        with self._state:
            return dict(self._grants)

    def delete_in_app(self, reference_id: str) -> None:
        """Staff remove the grant in Inlet's own portal (Mangodesk is not told)."""
        with self._state:
            del self._grants[reference_id]

    def set_online(self, lock_id: str, online: bool) -> None:
        with self._state:
            self._locks[lock_id] = replace(self._locks[lock_id], online=online)

    def failure_body(self) -> Any:
        return wire.error_body("ServerError", "Simulated failure")

    # ------------------------------------------------------------------ request handling

    def handle(self, method: str, url: str, auth: str | None,
               body: Any) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(url)
        path, query = parts.path, parse_qs(parts.query)
        with self._state:
            self.requests.append((method, path))
            if self.auth_rejected or wire.token_from_header(auth) != self.token:
                return 401, wire.error_body(wire.ERR_UNAUTHORIZED, "Invalid or expired token")
            if method == "GET" and path == wire.LOCKS_PATH:
                return 200, {wire.LOCKS_KEY: [wire.lock_to_json(x) for x in self._locks.values()]}
            if path == wire.GRANT_ACCESS_PATH:
                if method == "POST":
                    return self._create(body)
                if method == "GET":
                    lock_id = (query.get(wire.GRANTS_QUERY_LOCK) or [""])[0]
                    grants = [g.grant for g in self._grants.values() if g.lock_id == lock_id]
                    return 200, {wire.GRANTS_KEY: [wire.grant_to_json(g) for g in grants]}
            prefix = wire.grant_path("")
            if path.startswith(prefix) and len(path) > len(prefix):
                reference_id = path[len(prefix):]
                if method == "PUT":
                    return self._update(reference_id, body)
                if method == "DELETE":
                    return self._revoke(reference_id)
            return 404, wire.error_body(wire.ERR_INVALID, f"No route for {method} {path}")

    def _lock_problem(self, lock_id: str) -> tuple[int, dict[str, Any]] | None:
        lock = self._locks.get(lock_id)
        if lock is None:
            return 404, wire.error_body(wire.ERR_LOCK_NOT_FOUND, f"Unknown lock {lock_id}")
        if lock.online is False:
            return 409, wire.error_body(wire.ERR_LOCK_OFFLINE, f"Lock {lock.name} is offline")
        return None

    def _window(self, body: Any) -> tuple[datetime, datetime] | None:
        try:
            start = wire.parse_instant(str(body[wire.GRANT_START]))
            end = wire.parse_instant(str(body[wire.GRANT_END]))
        except (KeyError, TypeError, ValueError):
            return None
        return (start, end) if end > start else None

    def _create(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or body.get(wire.GRANT_OPERATION) != wire.ACCESS_CODE:
            return 400, wire.error_body(wire.ERR_INVALID, "operation must be 'code'")
        lock_id = str(body.get(wire.GRANT_LOCK_ID, ""))
        problem = self._lock_problem(lock_id)
        if problem is not None:
            return problem
        if not self._locks[lock_id].takes_pin:
            return 422, wire.error_body(wire.ERR_NOT_PIN_CAPABLE, "Lock has no keypad")
        window = self._window(body)
        if window is None:
            return 400, wire.error_body(wire.ERR_INVALID, "startTime/endTime missing or invalid")
        if window[0] - self.clock.now() > timedelta(hours=wire.MAX_LEAD_HOURS):
            return 422, wire.error_body(wire.ERR_TOO_EARLY, "Booking starts more than 72h ahead")
        grant = wire.InletGrant(
            reference_id=uuid.UUID(int=self._random.getrandbits(128), version=4).hex,
            code_formatted=self._new_pin(lock_id),
            start=window[0],
            end=window[1],
            guest_name=body.get(wire.GRANT_NAME),
            external_reference=body.get(wire.GRANT_EXTERNAL_REF),
        )
        self._grants[grant.reference_id] = SimGrant(lock_id, grant, body.get(wire.GRANT_EMAIL))
        return 201, wire.grant_to_json(grant)

    def _new_pin(self, lock_id: str) -> str:
        taken = {g.grant.code_formatted for g in self._grants.values() if g.lock_id == lock_id}
        while True:
            digits = f"{self._random.randrange(10**6):06d}"
            formatted = f"#{digits}*" if self._locks[lock_id].lock_system == "2N" else digits
            if formatted not in taken:
                return formatted

    def _update(self, reference_id: str, body: Any) -> tuple[int, dict[str, Any]]:
        current = self._grants.get(reference_id)
        if current is None:
            return 404, wire.error_body(wire.ERR_GRANT_NOT_FOUND, "Unknown ReferenceId")
        problem = self._lock_problem(current.lock_id)
        if problem is not None:
            return problem
        window = self._window(body)
        if window is None:
            return 400, wire.error_body(wire.ERR_INVALID, "startTime/endTime missing or invalid")
        grant = replace(current.grant, start=window[0], end=window[1])
        self._grants[reference_id] = replace(current, grant=grant)
        return 200, wire.grant_to_json(grant)

    def _revoke(self, reference_id: str) -> tuple[int, dict[str, Any]]:
        current = self._grants.get(reference_id)
        if current is None:
            return 404, wire.error_body(wire.ERR_GRANT_NOT_FOUND, "Unknown ReferenceId")
        problem = self._lock_problem(current.lock_id)
        if problem is not None:
            return problem
        del self._grants[reference_id]
        return 200, wire.revoked_body(reference_id)


def start_for_demo() -> DemoVendor:
    """Start a simulated Inlet account and say how the connect wizard reaches it."""
    simulator = InletSimulator().start()
    return DemoVendor(
        kind=VendorKind.INLET,
        display_name="Inlet (demo)",
        values={TOKEN_FIELD: simulator.token},
        stop=simulator.stop,
        settings={"base_url": simulator.base_url},
    )
