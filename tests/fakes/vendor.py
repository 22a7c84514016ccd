"""A scriptable in-memory lock provider for engine tests and benchmarks.

It keeps real state (codes per lock) so a test can check what is on a lock afterwards, and
it can be told to fail: ``fail("create_code", TransientError(...), times=29)``; to lose a
reply after doing the work (``lose_response("create_code")``); to be slow (``latency``). It
records every call and the highest number of calls in flight per serialisation key, so
tests can prove the engine serialises per lock or per gateway.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, replace
from datetime import datetime

from mangodesk.domain.pinrules import PinRules
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    CallLimits,
    Capabilities,
    CodeConflictError,
    CodeRequest,
    ConnectionConfig,
    ConnectionReport,
    LockDetails,
    LockInfo,
    ProviderSpec,
    SentCodeMatcher,
    VendorCode,
    VendorError,
)
from mangodesk.vendors.registry import default_registry

FAKE_CAPABILITIES = Capabilities(automated=True, pin_rules=PinRules())


@dataclass(frozen=True)
class Call:
    method: str
    lock: str
    pin: str | None = None


@dataclass(frozen=True)
class UpdateCall:
    """What an update received: the window the caller says the vendor holds, and the new one."""

    lock: str
    vendor_ref: str
    old_from: datetime | None
    old_to: datetime | None
    new_from: datetime
    new_to: datetime


class FakeVendor(SentCodeMatcher):
    """Implements :class:`mangodesk.vendors.base.VendorAdapter` against in-memory locks."""

    kind = VendorKind.TTLOCK

    def __init__(
        self,
        capabilities: Capabilities = FAKE_CAPABILITIES,
        *,
        latency: float = 0.0,
        serial_keys: dict[str, str] | None = None,
        sleep: object = time.sleep,
    ) -> None:
        self.capabilities = capabilities
        self.latency = latency
        self.serial_keys = serial_keys or {}  # lock -> gateway; default: the lock itself
        self._sleep = sleep
        self._lock = threading.Lock()
        self.codes: dict[str, dict[str, VendorCode]] = defaultdict(dict)
        self.calls: list[Call] = []
        self._failures: dict[str, deque[VendorError]] = defaultdict(deque)
        self._lost: dict[str, int] = defaultdict(int)
        self._refs = itertools.count(1)
        self._in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self.max_total_in_flight = 0
        self._total_in_flight = 0
        self.closed = 0
        self.updates: list[UpdateCall] = []
        self.requests: list[CodeRequest] = []
        self.unexpected: dict[str, int] = defaultdict(int)

    # ------------------------------------------------------------------ scripting

    def fail(self, method: str, error: VendorError, times: int = 1) -> None:
        with self._lock:
            self._failures[method].extend([error] * times)

    def lose_response(self, method: str, times: int = 1) -> None:
        """Do the work, then answer as if the reply was lost (a timeout after sending)."""
        with self._lock:
            self._lost[method] += times

    def add_existing(self, lock: str, pin: str, name: str = "Front door staff",
                     valid_from: datetime | None = None,
                     valid_to: datetime | None = None) -> VendorCode:
        """A code already on the lock that Mangodesk did not create."""
        with self._lock:
            code = VendorCode(f"ref-{next(self._refs)}", pin, valid_from, valid_to, name)
            self.codes[lock][code.vendor_ref] = code
            return code

    def delete_outside(self, lock: str, vendor_ref: str) -> None:
        """Staff delete a code in the vendor's own app."""
        with self._lock:
            del self.codes[lock][vendor_ref]

    def crash_in(self, method: str, times: int = 1) -> None:
        """A bug in the adapter: the call raises a non-vendor exception."""
        with self._lock:
            self.unexpected[method] += times

    def windows_on(self, lock: str) -> list[tuple[str | None, datetime | None, datetime | None]]:
        """(PIN, from, to) of every code on the lock, sorted by PIN."""
        with self._lock:
            return sorted(((c.pin, c.valid_from, c.valid_to) for c in self.codes[lock].values()),
                          key=lambda item: str(item[0]))

    def count(self, method: str) -> int:
        return sum(1 for call in self.calls if call.method == method)

    def pins_on(self, lock: str) -> list[str | None]:
        return sorted((c.pin for c in self.codes[lock].values()), key=str)

    # ------------------------------------------------------------------ plumbing

    def _enter(self, method: str, lock: str, pin: str | None = None) -> None:
        key = self.serial_keys.get(lock, lock)
        with self._lock:
            self.calls.append(Call(method, lock, pin))
            self._in_flight[key] += 1
            self._total_in_flight += 1
            self.max_in_flight[key] = max(self.max_in_flight[key], self._in_flight[key])
            self.max_total_in_flight = max(self.max_total_in_flight, self._total_in_flight)
            failure = self._failures[method].popleft() if self._failures[method] else None
            crash = self.unexpected[method] > 0
            if crash:
                self.unexpected[method] -= 1
        if self.latency:
            self._sleep(self.latency)  # type: ignore[operator]
        if failure is not None:
            self._leave(lock)
            raise failure
        if crash:
            self._leave(lock)
            raise RecursionError("maximum recursion depth exceeded")

    def _leave(self, lock: str) -> None:
        key = self.serial_keys.get(lock, lock)
        with self._lock:
            self._in_flight[key] -= 1
            self._total_in_flight -= 1

    def _maybe_lose(self, method: str) -> None:
        with self._lock:
            lost = self._lost[method] > 0
            if lost:
                self._lost[method] -= 1
        if lost:
            raise AmbiguousError("The lock provider did not answer in time.")

    # ------------------------------------------------------------------ protocol

    def test_connection(self) -> ConnectionReport:
        return ConnectionReport(ok=True, summary="Fake vendor ready.")

    def list_locks(self) -> list[LockInfo]:
        return [LockInfo(lock, lock, serial_key=self.serial_keys.get(lock)) for lock in self.codes]

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        return LockDetails(items=(("Lock", vendor_lock_id),))

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        self._enter("list_codes", vendor_lock_id)
        try:
            with self._lock:
                return list(self.codes[vendor_lock_id].values())
        finally:
            self._leave(vendor_lock_id)

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        self._enter("create_code", vendor_lock_id, request.pin)
        try:
            with self._lock:
                self.requests.append(request)
                on_lock = self.codes[vendor_lock_id]
                pin = request.pin
                if pin is None:
                    pin = f"{next(self._refs) * 7919 % 900000 + 100000}"
                if any(c.pin == pin for c in on_lock.values()):
                    raise CodeConflictError("That code already exists on the lock.")
                code = VendorCode(f"ref-{next(self._refs)}", pin, request.valid_from,
                                  request.valid_to, request.label)
                on_lock[code.vendor_ref] = code
        finally:
            self._leave(vendor_lock_id)
        self._maybe_lose("create_code")
        return code

    def update_code(self, vendor_lock_id: str, code: VendorCode, valid_from: datetime,
                    valid_to: datetime) -> VendorCode:
        self._enter("update_code", vendor_lock_id, code.pin)
        try:
            with self._lock:
                self.updates.append(UpdateCall(vendor_lock_id, code.vendor_ref, code.valid_from,
                                               code.valid_to, valid_from, valid_to))
                current = self.codes[vendor_lock_id].get(code.vendor_ref)
                if current is None:
                    raise AlreadyGoneError("The code is not on the lock any more.")
                updated = replace(current, valid_from=valid_from, valid_to=valid_to)
                self.codes[vendor_lock_id][code.vendor_ref] = updated
        finally:
            self._leave(vendor_lock_id)
        self._maybe_lose("update_code")
        return updated

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        self._enter("revoke_code", vendor_lock_id, code.pin)
        try:
            with self._lock:
                if self.codes[vendor_lock_id].pop(code.vendor_ref, None) is None:
                    raise AlreadyGoneError("The code is not on the lock.")
        finally:
            self._leave(vendor_lock_id)
        self._maybe_lose("revoke_code")

    def close(self) -> None:
        self.closed += 1


def fake_spec(vendor: FakeVendor, kind: VendorKind = VendorKind.TTLOCK,
              call_limits: CallLimits | None = None) -> ProviderSpec:
    """A provider spec whose factory always hands out ``vendor`` (one shared fake), with the
    call limits the shipped provider of ``kind`` declares unless told otherwise."""

    def factory(config: ConnectionConfig) -> FakeVendor:
        return vendor

    if call_limits is None:
        call_limits = default_registry().spec(kind).call_limits
    return ProviderSpec(kind=kind, display_name="Fake locks (tests)", fields=(),
                        capabilities=vendor.capabilities, factory=factory,
                        call_limits=call_limits)
