"""A local Flexipass: doors and mobile keys, following the assumed wire contract.

It serves exactly the endpoints of :mod:`mangodesk.vendors.flexipass.contract` (the paths
the community gem shows, with assumed answers), checks Basic auth and the company token on
every call, records the e-mails it would send, and can inject faults: credentials or company
token rejected, HTTP 5xx, a hang before or after the request is carried out, doors offline.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from mangodesk.domain.types import VendorKind
from mangodesk.sim.base import DemoVendor
from mangodesk.sim.jsonapi import JsonApiSimulator
from mangodesk.vendors.flexipass import (
    COMPANY_TOKEN_FIELD,
    PASSWORD_FIELD,
    TIME_ZONE_FIELD,
    USERNAME_FIELD,
)
from mangodesk.vendors.flexipass import contract as wire

DEMO_USERNAME = "frontdesk@demo-hotel.example"
DEMO_PASSWORD = "demo-flexipass-password"
DEMO_COMPANY_TOKEN = "demo-company-token"
# The demo hotel's zone (mangodesk.demo.HOTEL_ZONE): Flexipass takes local wall-clock times.
DEMO_TIME_ZONE = "Europe/Oslo"

_KEY_FIELDS = (
    wire.KEY_NAME, wire.KEY_SURNAME, wire.KEY_MAIL, wire.KEY_DOOR, wire.KEY_CHECKIN_DATE,
    wire.KEY_CHECKIN_TIME, wire.KEY_CHECKOUT_DATE, wire.KEY_CHECKOUT_TIME, wire.KEY_TYPE,
)


def demo_doors() -> list[wire.FlexipassDoor]:
    """A hotel on Visionline and Vostio: guest rooms on two floors and shared doors."""
    rooms = [
        wire.FlexipassDoor(str(n), f"Room {n}", False, "VingCard Visionline")
        for n in (101, 102, 103, 104, 105)
    ] + [
        wire.FlexipassDoor(str(n), f"Room {n}", False, "VingCard Vostio")
        for n in (201, 202, 203)
    ]
    common = [
        wire.FlexipassDoor("ENT", "Main entrance", True, "VingCard Visionline"),
        wire.FlexipassDoor("GYM", "Gym", True, "VingCard Visionline"),
        wire.FlexipassDoor("PARK", "Parking garage", True, "Salto Space"),
    ]
    return rooms + common


class FlexipassSimulator(JsonApiSimulator):
    """Flexipass's web API on 127.0.0.1. Thread-safe; inspect ``keys`` and ``mails_sent``."""

    vendor_name = "Flexipass"

    def __init__(
        self,
        *,
        username: str = DEMO_USERNAME,
        password: str = DEMO_PASSWORD,
        company_token: str = DEMO_COMPANY_TOKEN,
        doors: list[wire.FlexipassDoor] | None = None,
    ) -> None:
        super().__init__()
        self.username = username
        self.password = password
        self.company_token = company_token
        self.credentials_rejected = False
        self.company_token_rejected = False
        self.requests: list[tuple[str, str]] = []
        self.mails_sent: list[tuple[str, str]] = []  # (mkID, address)
        initial = doors if doors is not None else demo_doors()
        self._doors = {door.door: door for door in initial}
        self._offline: set[str] = set()
        self._keys: dict[str, wire.FlexipassKey] = {}
        self._next_id = 123456

    # ------------------------------------------------------------------ test API

    @property
    def keys(self) -> dict[str, wire.FlexipassKey]:
        with self._state:
            return dict(self._keys)

    def delete_in_app(self, key_id: str) -> None:
        """Staff delete the key in Flexipass's own portal (Mangodesk is not told)."""
        with self._state:
            del self._keys[key_id]

    def set_online(self, door: str, online: bool) -> None:
        with self._state:
            if online:
                self._offline.discard(door)
            else:
                self._offline.add(door)

    # ------------------------------------------------------------------ request handling

    def handle(self, method: str, url: str, auth: str | None, body: Any) -> tuple[int, Any]:
        parts = urlsplit(url)
        path, query = parts.path, parse_qs(parts.query)
        key_id = (query.get(wire.KEY_ID_PARAM) or [""])[0]
        with self._state:
            self.requests.append((method, path))
            if self.credentials_rejected or wire.credentials_from_header(auth) != (
                self.username,
                self.password,
            ):
                return 401, wire.error_body(wire.ERR_BAD_CREDENTIALS, "Authentication failed")
            token = (query.get(wire.COMPANY_TOKEN_PARAM) or [""])[0]
            if self.company_token_rejected or token != self.company_token:
                return 403, wire.error_body(wire.ERR_BAD_COMPANY_TOKEN, "Invalid company token")
            route = (method, path)
            if route == ("GET", wire.DOOR_LIST):
                return 200, [wire.door_to_json(door) for door in self._doors.values()]
            if route == ("POST", wire.CREATE_KEY):
                return self._create(body)
            if route == ("PUT", wire.UPDATE_KEY):
                return self._update(key_id, body)
            if route == ("DELETE", wire.DELETE_KEY):
                return self._delete(key_id)
            if route == ("GET", wire.KEY_DETAILS):
                key = self._keys.get(key_id)
                if key is None:
                    return 404, wire.error_body(wire.ERR_KEY_NOT_FOUND, "Unknown mkID")
                return 200, key.to_json()
            if route == ("POST", wire.KEY_LIST):
                return self._list(body)
            if route == ("GET", wire.SEND_MAIL):
                key = self._keys.get(key_id)
                if key is None:
                    return 404, wire.error_body(wire.ERR_KEY_NOT_FOUND, "Unknown mkID")
                self.mails_sent.append((key.key_id, key.mail))
                return 200, wire.success_body()
            return 404, wire.error_body(wire.ERR_INVALID, f"No route for {method} {path}")

    def _parse_key(self, key_id: str, body: Any) -> wire.FlexipassKey | tuple[int, Any]:
        if not isinstance(body, dict) or any(body.get(f) in (None, "") for f in _KEY_FIELDS):
            return 400, wire.error_body(wire.ERR_INVALID, "All nine fields are required")
        if "@" not in str(body[wire.KEY_MAIL]):
            return 400, wire.error_body(wire.ERR_INVALID, "Mail is not an e-mail address")
        door = str(body[wire.KEY_DOOR])
        if door not in self._doors:
            return 404, wire.error_body(wire.ERR_DOOR_NOT_FOUND, f"Unknown door {door}")
        if door in self._offline:
            return 409, wire.error_body(wire.ERR_DOOR_OFFLINE, f"Door {door} is offline")
        try:
            key = wire.parse_key({**body, wire.KEY_ID: key_id})
        except ValueError:
            return 400, wire.error_body(wire.ERR_INVALID, "Bad date or time")
        if key.check_out <= key.check_in:
            return 400, wire.error_body(wire.ERR_INVALID, "Checkout must be after checkin")
        return key

    def _create(self, body: Any) -> tuple[int, Any]:
        parsed = self._parse_key(str(self._next_id), body)
        if not isinstance(parsed, wire.FlexipassKey):
            return parsed
        self._next_id += 1
        self._keys[parsed.key_id] = parsed
        if wire.CREATE_SENDS_MAIL:
            self.mails_sent.append((parsed.key_id, parsed.mail))
        return 200, wire.success_body(**{wire.KEY_ID: parsed.key_id})

    def _update(self, key_id: str, body: Any) -> tuple[int, Any]:
        if key_id not in self._keys:
            return 404, wire.error_body(wire.ERR_KEY_NOT_FOUND, "Unknown mkID")
        parsed = self._parse_key(key_id, body)
        if not isinstance(parsed, wire.FlexipassKey):
            return parsed
        self._keys[key_id] = parsed
        return 200, wire.success_body(**parsed.to_json())

    def _delete(self, key_id: str) -> tuple[int, Any]:
        key = self._keys.get(key_id)
        if key is None:
            return 404, wire.error_body(wire.ERR_KEY_NOT_FOUND, "Unknown mkID")
        if key.door in self._offline:
            return 409, wire.error_body(wire.ERR_DOOR_OFFLINE, f"Door {key.door} is offline")
        del self._keys[key_id]
        return 200, wire.success_body()

    def _list(self, body: Any) -> tuple[int, Any]:
        try:
            door = str(body[wire.LIST_DOOR])
            start = wire.parse_compact(str(body[wire.LIST_START]))
            end = wire.parse_compact(str(body[wire.LIST_END]))
        except (KeyError, TypeError, ValueError):
            return 400, wire.error_body(wire.ERR_INVALID, "Door, StartDate and EndDate needed")
        keys = [
            key.to_json()
            for key in self._keys.values()
            if key.door == door and key.check_in < end and key.check_out > start
        ]
        return 200, keys


def start_for_demo() -> DemoVendor:
    """Start a simulated Flexipass account and say how the connect wizard reaches it."""
    simulator = FlexipassSimulator().start()
    return DemoVendor(
        kind=VendorKind.FLEXIPASS,
        display_name="Flexipass (demo)",
        values={
            USERNAME_FIELD: simulator.username,
            PASSWORD_FIELD: simulator.password,
            COMPANY_TOKEN_FIELD: simulator.company_token,
            TIME_ZONE_FIELD: DEMO_TIME_ZONE,
        },
        stop=simulator.stop,
        settings={"base_url": simulator.base_url},
    )
