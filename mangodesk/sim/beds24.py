"""A Beds24 API v2 simulator on loopback, for the demo, the integration tests and the bench.

Serves the subset Mangodesk uses, shaped after shared/pms-data/beds24/apiV2.yaml (a test
validates its replies with openapi-core): the invite-code → refresh token → access token flow,
``/properties`` with rooms and units, ``/bookings`` with status/modifiedFrom/departureFrom/
id/masterId filters and ``page`` paging, ``/accounts`` (time zone), and the five-minute
credit headers with 429 when credits run out.

Where the public docs are silent the simulator assumes (and Mangodesk copes either way):
- ``modifiedFrom`` is read in the account's time zone; ``modifiedTime`` is sent in UTC ("Z");
- a page holds ``page_size`` bookings (100 by default), ordered by booking id;
- an expired or unknown access token gets HTTP 401, a missing scope 403, a bad invite code or
  refresh token 400 (all with the spec's UnsuccessfulApiResponse body);
- every call costs one credit; the budget is ``credit_limit`` per five minutes.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.sim.base import LoopbackServer
from mangodesk.sim.beds24_data import (
    SimBooking,
    SimProperty,
    build_bookings,
    build_property,
)

API_PREFIX = "/v2"
DEFAULT_SCOPES = ("bookings", "bookings-personal", "properties", "accounts")
DEFAULT_STATUSES = ("confirmed", "request", "new", "black", "inquiry")
CREDIT_WINDOW = timedelta(minutes=5)
_Reply = tuple[int, dict[str, str], bytes]  # status, headers, body


@dataclass
class Fault:
    """One injected failure, consumed when a matching request arrives."""

    path: str  # e.g. "/bookings" (without /v2); "*" matches every path
    # "status", "hang", "malformed", "empty", "empty_end" (empty and claims to be the last
    # page), "drop" (the connection is closed without a reply), "few_units" (a property
    # lists only its first room's first unit)
    kind: str
    status: int = 500
    page: int | None = None  # only this page of a paged list
    seconds: float = 0.0
    times: int = 1

    def matches(self, path: str, page: int) -> bool:
        return (self.path in ("*", path)) and (self.page is None or self.page == page)


@dataclass(frozen=True)
class Exchange:
    """A recorded request and its reply (for spec validation in tests)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    status: int
    response_headers: dict[str, str]
    body: bytes
    request_body: bytes = b""


@dataclass
class _Token:
    scopes: tuple[str, ...]
    expires_at: datetime


@dataclass
class _Credits:
    limit: int
    window_start: datetime
    used: int = 0


class Beds24Simulator:
    """Start with :meth:`start` (or ``with``); ``base_url`` is what the adapter connects to."""

    def __init__(
        self,
        today: date | None = None,
        *,
        rooms: int = 24,
        bookings: int | None = None,
        days_before: int = 14,
        days_after: int = 60,
        seed: int = 7,
        clock: Clock | None = None,
        timezone: str = "Europe/Berlin",
        page_size: int = 100,
        credit_limit: int = 1000,
        token_lifetime: timedelta = timedelta(hours=24),
        record: bool = True,
    ) -> None:
        self.clock = clock or SystemClock()
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.page_size = page_size
        self.token_lifetime = token_lifetime
        self.owner_id = 77001
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self.today = today or self.clock.now().astimezone(self.zone).date()
        self.properties: list[SimProperty] = [build_property(rooms=rooms)]
        self.bookings: dict[int, SimBooking] = {
            b.id: b
            for b in build_bookings(
                self.properties[0],
                self.today,
                self.clock.now(),
                count=bookings,
                days_before=days_before,
                days_after=days_after,
                seed=seed,
            )
        }
        self._next_id = max(self.bookings, default=50000000) + 1
        self._next_info_id = 900000
        self._invite_codes: dict[str, tuple[str, ...]] = {}
        self._refresh_tokens: dict[str, tuple[str, ...]] = {}
        self._tokens: dict[str, _Token] = {}
        self._credits = _Credits(limit=credit_limit, window_start=self.clock.now())
        self._faults: list[Fault] = []
        self.record = record
        self.exchanges: deque[Exchange] = deque(maxlen=5000)
        self.request_count = 0
        self.credits_spent = 0  # every credit charged since the start (for the bench)
        self._server: LoopbackServer | None = None
        self._connections: set[Any] = set()
        # Called with (path, page) before each request is answered: tests change the world
        # between two pages of one read (pages shift under a long full load).
        self.before_request: Callable[[str, int], None] | None = None
        self._scheduled: list[tuple[int, str, Callable[[], None]]] = []
        # The bookings one paged read selected, kept for its next pages while nothing
        # changed: re-sorting and re-filtering everything per page made a long read
        # quadratic in the simulator. Key: the query without its page, and _generation.
        self._generation = 0
        self._selection: tuple[Any, list[SimBooking], dict[int, list[int]]] | None = None

    # ------------------------------------------------------------------ server

    def start(self) -> Beds24Simulator:
        self._server = LoopbackServer(_handler_for(self)).start()
        return self

    def stop(self) -> None:
        """Stop listening and drop open keep-alive connections, like a server going away."""
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server = None
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Beds24Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Beds24 simulator is not running")
        return self._server.base_url + API_PREFIX

    # ------------------------------------------------------------------ auth control

    def create_invite_code(self, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
        code = "invite-" + secrets.token_urlsafe(12)
        with self._lock:
            self._invite_codes[code] = scopes
        return code

    def expire_tokens(self) -> None:
        """Every access token stops working at once (the next call gets a 401)."""
        with self._lock:
            self._tokens.clear()

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self._refresh_tokens.clear()
            self._tokens.clear()

    # ------------------------------------------------------------------ faults

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def fail_next(
        self, path: str = "/bookings", status: int = 500, *, page: int | None = None,
        times: int = 1,
    ) -> None:
        self.inject(Fault(path=path, kind="status", status=status, page=page, times=times))

    def hang_next(self, path: str = "/bookings", seconds: float = 5.0, *,
                  page: int | None = None) -> None:
        self.inject(Fault(path=path, kind="hang", seconds=seconds, page=page))

    def malformed_next(self, path: str = "/bookings", *, page: int | None = None) -> None:
        self.inject(Fault(path=path, kind="malformed", page=page))

    def empty_next(self, path: str = "/bookings", *, page: int | None = None, times: int = 1,
                   as_last: bool = False) -> None:
        """The next matching list comes back with no items (paging info unchanged, or with
        ``as_last`` saying no page follows, as a glitching server might)."""
        self.inject(Fault(path=path, kind="empty_end" if as_last else "empty", page=page,
                          times=times))

    def drop_next(self, path: str = "/bookings", *, times: int = 1) -> None:
        """The server closes the connection without answering."""
        self.inject(Fault(path=path, kind="drop", times=times))

    def few_units_next(self, times: int = 1) -> None:
        """The property list names only one unit per property (a glitch in Beds24)."""
        self.inject(Fault(path="/properties", kind="few_units", times=times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def set_credits(self, *, limit: int | None = None, used: int | None = None) -> None:
        with self._lock:
            if limit is not None:
                self._credits.limit = limit
            if used is not None:
                self._credits.used = used

    def _take_fault(self, path: str, page: int) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(path, page):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return replace(fault)
        return None

    # ------------------------------------------------------------------ data control

    def _touch(self, booking: SimBooking) -> None:
        booking.modified_time = self.clock.now().replace(microsecond=0)
        self._generation += 1

    def booking(self, booking_id: int) -> SimBooking:
        with self._lock:
            return self.bookings[booking_id]

    def change_dates(self, booking_id: int, arrival: date, departure: date) -> None:
        with self._lock:
            booking = self.bookings[booking_id]
            booking.arrival, booking.departure = arrival, departure
            self._touch(booking)

    def cancel(self, booking_id: int, sub_status: str = "cancelledByGuest") -> None:
        with self._lock:
            booking = self.bookings[booking_id]
            booking.status = "cancelled"
            booking.sub_status = sub_status
            booking.cancel_time = self.clock.now().replace(microsecond=0)
            self._touch(booking)

    def set_status(self, booking_id: int, status: str, sub_status: str = "none") -> None:
        with self._lock:
            booking = self.bookings[booking_id]
            booking.status, booking.sub_status = status, sub_status
            self._touch(booking)

    def move(self, booking_id: int, room_id: int, unit_id: int) -> None:
        with self._lock:
            booking = self.bookings[booking_id]
            booking.room_id, booking.unit_id = room_id, unit_id
            self._touch(booking)

    def add_booking(
        self,
        room_id: int,
        unit_id: int,
        arrival: date,
        departure: date,
        *,
        first_name: str = "Walk",
        last_name: str = "In",
        email: str = "walk.in@example.com",
        status: str = "confirmed",
        channel: str | None = None,
        api_source: str = "Direct",
        master_id: int | None = None,
        arrival_time: str = "",
        language: str = "",
    ) -> int:
        with self._lock:
            room = self.room(room_id)
            now = self.clock.now().replace(microsecond=0)
            booking = SimBooking(
                id=self._next_id,
                property_id=room.property_id,
                room_id=room_id,
                unit_id=unit_id,
                arrival=arrival,
                departure=departure,
                status=status,
                first_name=first_name,
                last_name=last_name,
                email=email,
                channel=channel,
                api_source=api_source,
                master_id=master_id,
                arrival_time=arrival_time,
                language=language,
                booking_time=now,
                modified_time=now,
            )
            self.bookings[booking.id] = booking
            self._next_id += 1
            self._generation += 1
            return booking.id

    def set_language(self, booking_id: int, language: str) -> None:
        """The guest's language as Beds24 keeps it (``lang``, e.g. "de"; "" for none)."""
        with self._lock:
            booking = self.bookings[booking_id]
            booking.language = language
            self._touch(booking)

    def set_group(self, booking_id: int, master_id: int | None) -> None:
        """The booking joins the group of ``master_id`` (None: it leaves its group)."""
        with self._lock:
            booking = self.bookings[booking_id]
            booking.master_id = master_id
            self._touch(booking)

    def move_to_property(self, booking_id: int, room_id: int, unit_id: int) -> None:
        """The booking is moved to a room of another property (same booking number)."""
        with self._lock:
            booking = self.bookings[booking_id]
            booking.property_id = self.room(room_id).property_id
            booking.room_id, booking.unit_id = room_id, unit_id
            self._touch(booking)

    def unallocate(self, booking_id: int) -> None:
        """The booking keeps its room type but no unit (Beds24's unitId 0)."""
        with self._lock:
            booking = self.bookings[booking_id]
            booking.unit_id = 0
            self._touch(booking)

    def corrupt(self, booking_id: int, **raw_fields: Any) -> None:
        """Serve these raw JSON fields for the booking (e.g. ``arrival="2026-02-30"``), as a
        damaged booking in Beds24 would be; ``corrupt(id)`` with no fields repairs it."""
        with self._lock:
            booking = self.bookings[booking_id]
            booking.raw_overrides = dict(raw_fields)
            self._touch(booking)

    def add_property(self, rooms: int = 4, property_id: int = 100002) -> SimProperty:
        with self._lock:
            prop = build_property(property_id=property_id, rooms=rooms)
            prop.name = f"Mango Annex {property_id}"
            self.properties.append(prop)
            return prop

    def at_request(self, number: int, change: Callable[[], None],
                   path: str = "/bookings") -> None:
        """Run ``change`` (delete or add a booking, move the clock…) just before the
        ``number``-th request to ``path`` from now is answered, whatever page it asks for: a
        test can put a change at every point of a long paged read."""
        with self._lock:
            self._scheduled.append((number, path, change))

    def _run_scheduled(self, path: str) -> None:
        with self._lock:
            due = [entry for entry in self._scheduled if entry[1] == path and entry[0] <= 1]
            self._scheduled = [(n - 1, p, c) if p == path else (n, p, c)
                               for n, p, c in self._scheduled if (n, p, c) not in due]
        for _number, _path, change in due:
            change()

    def delete_booking(self, booking_id: int) -> None:
        """The booking vanishes from the API (it must not be treated as cancelled)."""
        with self._lock:
            del self.bookings[booking_id]
            self._generation += 1

    def room(self, room_id: int) -> Any:
        for prop in self.properties:
            for room in prop.rooms:
                if room.id == room_id:
                    return room
        raise KeyError(room_id)

    def remove_unit(self, room_id: int, unit_id: int) -> None:
        with self._lock:
            room = self.room(room_id)
            room.units = [(uid, name) for uid, name in room.units if uid != unit_id]

    def live_bookings(self) -> Iterator[SimBooking]:
        with self._lock:
            yield from [b for b in self.bookings.values() if b.status != "cancelled"]

    def mutate_randomly(self, changes: int, *, seed: int = 11) -> list[int]:
        """Change dates of, or cancel, ``changes`` upcoming bookings (for the bench)."""
        import random

        rng = random.Random(seed)
        with self._lock:
            candidates = sorted(
                b.id for b in self.bookings.values()
                if b.status != "cancelled" and b.arrival >= self.today and b.master_id is None
            )
            picked = rng.sample(candidates, min(changes, len(candidates)))
            for bid in picked:
                booking = self.bookings[bid]
                if rng.random() < 0.3:
                    self.cancel(bid)
                else:
                    self.change_dates(bid, booking.arrival,
                                      booking.departure + timedelta(days=1))
            return picked

    # ------------------------------------------------------------------ request handling

    def handle(self, method: str, raw_path: str, headers: dict[str, str],
               body: bytes = b"") -> _Reply:
        """Answer one request: (status, headers, body)."""
        split = urlsplit(raw_path)
        query = tuple(parse_qsl(split.query, keep_blank_values=True))
        path = split.path
        if not path.startswith(API_PREFIX + "/"):
            return self._error(404, "Not found", {})
        path = path[len(API_PREFIX):]
        page = _int(dict(query).get("page"), 1)
        with self._lock:
            self.request_count += 1
            credit_headers = self._spend_credit()
        if credit_headers is None:
            with self._lock:
                credit_headers = self._credit_headers(cost=0)
            return self._error(429, "Credit limit exceeded", credit_headers)
        self._run_scheduled(path)
        if self.before_request is not None:
            self.before_request(path, page)
        fault = self._take_fault(path, page)
        if fault is not None and fault.kind == "drop":
            return 0, {}, b""
        if fault is not None and fault.kind == "hang":
            self._stopping.wait(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "status":
            return self._error(fault.status, "Simulated failure", credit_headers)
        if fault is not None and fault.kind == "malformed":
            return 200, {**credit_headers, "Content-Type": "application/json"}, b'{"success": tr'
        try:
            status, reply = self._route(method, path, query, headers, body)
        except _ApiError as exc:
            return self._error(exc.status, exc.message, credit_headers)
        if (fault is not None and fault.kind in ("empty", "empty_end")
                and isinstance(reply, dict) and isinstance(reply.get("data"), list)):
            reply = {**reply, "data": [], "count": 0}
            if fault.kind == "empty_end":
                reply["pages"] = {"nextPageExists": False}
        if (fault is not None and fault.kind == "few_units" and isinstance(reply, dict)
                and isinstance(reply.get("data"), list)):
            reply = {**reply, "data": [_first_unit_only(p) for p in reply["data"]]}
        payload = json.dumps(reply).encode()
        return status, {**credit_headers, "Content-Type": "application/json"}, payload

    def _error(self, status: int, message: str, headers: dict[str, str]) -> _Reply:
        body = {"success": False, "type": "error", "code": status, "error": message}
        return status, {**headers, "Content-Type": "application/json"}, json.dumps(body).encode()

    def _spend_credit(self, cost: int = 1) -> dict[str, str] | None:
        now = self.clock.now()
        credits = self._credits
        if now - credits.window_start >= CREDIT_WINDOW:
            credits.window_start = now
            credits.used = 0
        if credits.used + cost > credits.limit:
            return None
        credits.used += cost
        self.credits_spent += cost
        return self._credit_headers(cost)

    def _credit_headers(self, cost: int) -> dict[str, str]:
        credits = self._credits
        resets_in = CREDIT_WINDOW - (self.clock.now() - credits.window_start)
        return {
            "X-FiveMinCreditLimit": str(credits.limit),
            "X-FiveMinCreditLimit-Remaining": str(max(credits.limit - credits.used, 0)),
            "X-FiveMinCreditLimit-ResetsIn": str(max(int(resets_in.total_seconds()), 0)),
            "X-RequestCost": str(cost),
        }

    def _route(
        self, method: str, path: str, query: tuple[tuple[str, str], ...],
        headers: dict[str, str], body: bytes,
    ) -> tuple[int, Any]:
        lower = {k.lower(): v for k, v in headers.items()}
        if method == "GET" and path == "/authentication/setup":
            return 200, self._setup(lower.get("code", ""))
        if method == "GET" and path == "/authentication/token":
            return 200, self._refresh(lower.get("refreshtoken", ""))
        token = self._check_token(lower.get("token", ""))
        if method == "GET" and path == "/authentication/details":
            return 200, self._details(token)
        if method == "GET" and path == "/accounts":
            self._need_scope(token, "accounts")
            return 200, self._list("account", [{"id": self.owner_id, "timezone": self.timezone}],
                                   query, path)
        if method == "GET" and path == "/properties":
            self._need_scope(token, "properties")
            return 200, self._properties(query, path)
        if method == "GET" and path == "/bookings":
            self._need_scope(token, "bookings")
            personal = any(s in token.scopes for s in (
                "bookings-personal", "read:bookings-personal", "all:bookings-personal"))
            return 200, self._bookings(query, path, personal)
        if method == "POST" and path == "/bookings":
            self._need_scope(token, "bookings", write=True)
            return 201, self._write_bookings(body)
        raise _ApiError(404, f"No such endpoint: {method} {path}")

    def _setup(self, code: str) -> dict[str, Any]:
        with self._lock:
            scopes = self._invite_codes.pop(code, None)
            if scopes is None:
                raise _ApiError(400, "Invalid code")
            refresh = "refresh-" + secrets.token_urlsafe(24)
            self._refresh_tokens[refresh] = scopes
            token = self._mint(scopes)
        return {"token": token, "expiresIn": int(self.token_lifetime.total_seconds()),
                "refreshToken": refresh}

    def _refresh(self, refresh: str) -> dict[str, Any]:
        with self._lock:
            scopes = self._refresh_tokens.get(refresh)
            if scopes is None:
                raise _ApiError(400, "Invalid refresh token")
            token = self._mint(scopes)
        return {"token": token, "expiresIn": int(self.token_lifetime.total_seconds())}

    def _mint(self, scopes: tuple[str, ...]) -> str:
        token = "token-" + secrets.token_urlsafe(24)
        self._tokens[token] = _Token(scopes, self.clock.now() + self.token_lifetime)
        return token

    def _check_token(self, token: str) -> _Token:
        with self._lock:
            found = self._tokens.get(token)
            if found is None or found.expires_at <= self.clock.now():
                raise _ApiError(401, "Token is missing, invalid or expired")
            return found

    @staticmethod
    def _need_scope(token: _Token, scope: str, *, write: bool = False) -> None:
        """A plain scope ("bookings") allows reading and writing; Beds24's narrower forms
        "read:bookings" / "write:bookings" / "all:bookings" allow what they say."""
        allowed = {scope, f"all:{scope}", f"write:{scope}" if write else f"read:{scope}"}
        if not allowed & set(token.scopes):
            action = "write" if write else "read"
            raise _ApiError(403, f"Token does not have the {action} {scope} scope")

    def _details(self, token: _Token) -> dict[str, Any]:
        remaining = int((token.expires_at - self.clock.now()).total_seconds())
        return {
            "validToken": True,
            "token": {
                "ownerId": self.owner_id,
                "expiresIn": remaining,
                "scopes": list(token.scopes),
                "deviceName": "Mangodesk",
                "linkedProperties": False,
                "onlyPropertyId": None,
                "whiteListOnly": False,
                "whiteList": [],
            },
            "diagnostics": {"requestIp": "127.0.0.1"},
        }

    def _list(self, kind: str, items: Sequence[Any], query: tuple[tuple[str, str], ...],
              path: str, render: Callable[[Any], dict[str, Any]] = lambda item: item,
              ) -> dict[str, Any]:
        """One page of ``items``; only that page is rendered to JSON."""
        page = max(_int(dict(query).get("page"), 1), 1)
        chunk = [render(item) for item in items[(page - 1) * self.page_size:
                                                page * self.page_size]]
        more = len(items) > page * self.page_size
        pages: dict[str, Any] = {"nextPageExists": more}
        if more:
            rest = [(k, v) for k, v in query if k != "page"] + [("page", str(page + 1))]
            pages["nextPageLink"] = (
                f"{API_PREFIX}{path}?" + "&".join(f"{k}={v}" for k, v in rest)
            )
        return {"success": True, "type": kind, "count": len(chunk), "pages": pages,
                "data": chunk}

    def _properties(self, query: tuple[tuple[str, str], ...], path: str) -> dict[str, Any]:
        params = _multi(query)
        ids = {int(i) for i in params.get("id", []) if i.isdigit()}
        all_rooms = _flag(params, "includeAllRooms")
        details = _flag(params, "includeUnitDetails")
        with self._lock:
            items = [
                _property_json(p, all_rooms, details)
                for p in self.properties if not ids or p.id in ids
            ]
        return self._list("property", items, query, path)

    def _bookings(self, query: tuple[tuple[str, str], ...], path: str,
                  personal: bool) -> dict[str, Any]:
        params = _multi(query)
        statuses = set(params.get("status") or DEFAULT_STATUSES)
        ids = {int(i) for i in params.get("id", []) if i.isdigit()}
        masters = {int(i) for i in params.get("masterId", []) if i.isdigit()}
        property_ids = {int(i) for i in params.get("propertyId", []) if i.isdigit()}
        modified_from = self._local_instant(params.get("modifiedFrom"))
        modified_to = self._local_instant(params.get("modifiedTo"))
        departure_from = _date(params.get("departureFrom"))
        arrival_from = _date(params.get("arrivalFrom"))
        group = _flag(params, "includeBookingGroup")
        info = _flag(params, "includeInfoItems")
        # Beds24 trap 2: with no date filter, only upcoming bookings come back.
        upcoming_only = not (ids or masters or modified_from or modified_to or departure_from
                             or arrival_from)
        today = self.clock.now().astimezone(self.zone).date()
        page = _int(dict(query).get("page"), 1)
        key = (path, personal, today, self._generation,
               tuple((k, v) for k, v in query if k != "page"))
        with self._lock:
            cached = self._selection
            if (page > 1 and cached is not None and cached[0] == key
                    and self.before_request is None):
                _key, kept, groups = cached
                return self._list("booking", kept, query, path,
                                  lambda b: _booking_json(b, group, groups, personal, info))
            selected = []
            for booking in sorted(self.bookings.values(), key=lambda b: b.id):
                if booking.status not in statuses:
                    continue
                if ids and booking.id not in ids:
                    continue
                if masters and (booking.master_id or booking.id) not in masters:
                    continue
                if property_ids and booking.property_id not in property_ids:
                    continue
                if modified_from and booking.modified_time < modified_from:
                    continue
                if modified_to and booking.modified_time > modified_to:
                    continue
                if departure_from and booking.departure < departure_from:
                    continue
                if arrival_from and booking.arrival < arrival_from:
                    continue
                if upcoming_only and booking.departure < today:
                    continue
                selected.append(booking)
            members: dict[int, list[int]] = {}
            if group:
                for booking in self.bookings.values():
                    if booking.master_id:
                        members.setdefault(booking.master_id, []).append(booking.id)
            self._selection = (key, selected, members)
            return self._list("booking", selected, query, path,
                              lambda b: _booking_json(b, group, members, personal, info))

    def _write_bookings(self, body: bytes) -> list[dict[str, Any]]:
        """POST /bookings, the subset Mangodesk uses: info items of existing bookings (no id:
        add; id with code/text: modify; id alone: delete)."""
        try:
            items = json.loads(body or b"null")
        except ValueError as exc:
            raise _ApiError(400, "Body is not valid JSON") from exc
        if not isinstance(items, list):
            raise _ApiError(400, "Body must be an array of bookings")
        results: list[dict[str, Any]] = []
        with self._lock:
            for item in items:
                bid = item.get("id") if isinstance(item, dict) else None
                booking = self.bookings.get(bid) if isinstance(bid, int) else None
                if booking is None:
                    results.append({"success": False, "errors": [
                        {"action": "modify", "field": "id", "message": "booking not found"}]})
                    continue
                for change in item.get("infoItems") or []:
                    self._apply_info_item(booking, change)
                self._touch(booking)
                results.append({"success": True, "modified": {"field": "infoItems"}})
        return results

    def _apply_info_item(self, booking: SimBooking, change: dict[str, Any]) -> None:
        item_id = change.get("id")
        if item_id is None:
            self._next_info_id += 1
            booking.info_items.append({
                "id": self._next_info_id, "bookingId": booking.id,
                "code": str(change.get("code", "")), "text": str(change.get("text", "")),
                "createTime": _stamp(self.clock.now()),
            })
            return
        existing = next((i for i in booking.info_items if i["id"] == item_id), None)
        if existing is None:
            return
        if "code" not in change and "text" not in change:
            booking.info_items.remove(existing)
            return
        existing.update({k: str(change[k]) for k in ("code", "text") if k in change})

    def _local_instant(self, values: list[str] | None) -> datetime | None:
        if not values:
            return None
        try:
            naive = datetime.fromisoformat(values[0].replace("Z", ""))
        except ValueError as exc:
            raise _ApiError(400, f"Invalid date-time {values[0]!r}") from exc
        if naive.tzinfo is not None:
            return naive.astimezone(UTC)
        return naive.replace(tzinfo=self.zone).astimezone(UTC)


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _multi(query: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in query:
        params.setdefault(key.removesuffix("[]"), []).append(value)
    return params


def _flag(params: dict[str, list[str]], name: str) -> bool:
    return params.get(name, ["false"])[0].lower() in ("true", "1")


def _date(values: list[str] | None) -> date | None:
    if not values:
        return None
    try:
        return date.fromisoformat(values[0])
    except ValueError as exc:
        raise _ApiError(400, f"Invalid date {values[0]!r}") from exc


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _first_unit_only(prop: Any) -> Any:
    if not isinstance(prop, dict) or not prop.get("roomTypes"):
        return prop
    first = dict(prop["roomTypes"][0])
    first["units"] = first["units"][:1]
    first["qty"] = 1
    return {**prop, "roomTypes": [first]}


def _property_json(prop: SimProperty, all_rooms: bool, details: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": prop.id,
        "name": prop.name,
        "propertyType": prop.property_type,
        "currency": "EUR",
        "country": "DE",
        "city": "Berlin",
        "checkInStart": prop.check_in_start,
        "checkInEnd": prop.check_in_end,
        "checkOutEnd": prop.check_out_end,
        "account": {"ownerId": 77001, "unitStatuses": [{"text": "Clean", "color": "00ff00"}]},
    }
    if all_rooms:
        body["roomTypes"] = [
            {
                "id": room.id,
                "propertyId": room.property_id,
                "name": room.name,
                "roomType": room.room_type,
                "qty": max(room.qty, 1),
                "unitAllocation": room.unit_allocation,
                "units": [
                    {"id": uid, "name": name, "statusText": "Clean", "statusColor": "00ff00"}
                    if details else {"name": name}
                    for uid, name in room.units
                ],
            }
            for room in prop.rooms
        ]
    return body


def _booking_json(
    booking: SimBooking, group: bool, members: dict[int, list[int]], personal: bool,
    info: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": booking.id,
        "propertyId": booking.property_id,
        "roomId": booking.room_id,
        "unitId": booking.unit_id,
        "status": booking.status,
        "subStatus": booking.sub_status,
        "arrival": booking.arrival.isoformat(),
        "departure": booking.departure.isoformat(),
        "numAdult": booking.num_adult,
        "numChild": 0,
        "apiSource": booking.api_source,
        "bookingTime": _stamp(booking.booking_time),
        "modifiedTime": _stamp(booking.modified_time),
        "cancelTime": _stamp(booking.cancel_time) if booking.cancel_time else None,
    }
    if booking.channel:
        body["channel"] = booking.channel
    if booking.language:
        body["lang"] = booking.language
    if booking.master_id:
        body["masterId"] = booking.master_id
    if personal:
        body.update(
            firstName=booking.first_name,
            lastName=booking.last_name,
            email=booking.email,
            phone=booking.phone,
            arrivalTime=booking.arrival_time,
        )
    if info:
        body["infoItems"] = [dict(item) for item in booking.info_items]
    body.update(booking.raw_overrides)
    if group:
        ids = members.get(booking.master_id or 0)
        body["bookingGroup"] = (
            {"master": booking.master_id, "ids": sorted(ids)} if booking.master_id and ids
            else None
        )
    return body


def _handler_for(sim: Beds24Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes: without this, Nagle's algorithm
            # and delayed ACKs add ~40 ms to every keep-alive request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with sim._lock:
                sim._connections.add(self.connection)

        def finish(self) -> None:
            with sim._lock:
                sim._connections.discard(self.connection)
            super().finish()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request_body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items()}
            status, reply_headers, body = sim.handle(self.command, self.path, headers,
                                                     request_body)
            if status == 0:  # a dropped connection: no reply at all
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            # Recorded before the reply goes out: a client that has its answer always finds
            # the exchange in the log (recorded after, a test could read the log too early).
            if sim.record:
                split = urlsplit(self.path)
                sim.exchanges.append(
                    Exchange(
                        method=self.command,
                        path=split.path,
                        query=tuple(parse_qsl(split.query, keep_blank_values=True)),
                        headers=headers,
                        status=status,
                        response_headers={**reply_headers,
                                          "Content-Length": str(len(body))},
                        body=body,
                        request_body=request_body,
                    )
                )
            try:
                self.send_response(status)
                for key, value in reply_headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                return  # the client gave up (timeout test)

        do_GET = _serve
        do_POST = _serve
        do_DELETE = _serve

        def date_time_string(self, timestamp: float | None = None) -> str:
            # The Date header follows the simulator's clock, as Beds24's follows its own.
            return format_datetime(sim.clock.now().astimezone(UTC), usegmt=True)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def start_for_demo(today: date | None = None, *, rooms: int = 24,
                   clock: Clock | None = None) -> tuple[Beds24Simulator, dict[str, Any]]:
    """Start a simulator for the demo. Returns it and the values to connect with:
    ``base_url``, ``invite_code`` and ``timezone`` (pass them to
    ``mangodesk.pms.connect.connect_beds24``). Stop the simulator on exit."""
    simulator = Beds24Simulator(today, rooms=rooms, clock=clock).start()
    settings = {
        "base_url": simulator.base_url,
        "invite_code": simulator.create_invite_code(),
        "timezone": simulator.timezone,
    }
    return simulator, settings
