"""Flexipass's wire contract as Mangodesk assumes it: the ONE place to edit with the real spec.

Flexipass publishes no API reference. The paths, the auth scheme and the request fields come
from the only client found, the community Ruby gem ``kellenkyros/flexipass`` (MIT, 2024, not
written or approved by Flexipass): they are marked FROM-GEM. Every response shape, error body
and meaning the gem does not show is ASSUMED. The adapter
(``mangodesk.vendors.flexipass.adapter``) and the simulator (``mangodesk.sim.flexipass``) both
read this module, so the real contract replaces the guesses here, in one place. See
``docs/vendor-contracts.md``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

# --------------------------------------------------------------------------- host and auth

DEFAULT_BASE_URL = "https://flexipass.it"  # FROM-GEM (development host: dev.flexipass.it)
PATH_PREFIX = "/Flexipass/rest/webapi/"  # FROM-GEM

# FROM-GEM: HTTP Basic auth with the account's username and password on every request, AND
# the company token as a query parameter on every URL, GET included.
COMPANY_TOKEN_PARAM = "companyToken"  # noqa: S105 - a parameter name, not a secret
# FROM-GEM: update, delete, details and sendMail name the key in this query parameter.
KEY_ID_PARAM = "mkID"


def basic_auth_value(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def credentials_from_header(value: str | None) -> tuple[str, str] | None:
    """The simulator's inverse of :func:`basic_auth_value`."""
    if not value or not value.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(value.removeprefix("Basic "), validate=True).decode()
    except ValueError:
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


# --------------------------------------------------------------------------- paths (FROM-GEM)

DOOR_LIST = PATH_PREFIX + "getDoorList"  # GET
CREATE_KEY = PATH_PREFIX + "createMobileKey"  # POST, JSON body
UPDATE_KEY = PATH_PREFIX + "updateMobileKey"  # PUT ?mkID=, JSON body (all fields: full replace)
DELETE_KEY = PATH_PREFIX + "deleteMobileKey"  # DELETE ?mkID=
KEY_LIST = PATH_PREFIX + "getMobileKeyList"  # POST, JSON body: Door, StartDate, EndDate
KEY_DETAILS = PATH_PREFIX + "getMobileKeyDetails"  # GET ?mkID=
SEND_MAIL = PATH_PREFIX + "sendMail"  # GET ?mkID=

# ASSUMED: createMobileKey e-mails the key to the guest by itself. If the real API does not,
# set this to False and the adapter calls sendMail right after a successful create.
CREATE_SENDS_MAIL = True

# --------------------------------------------------------------------------- doors

# ASSUMED body of getDoorList: a JSON array of doors with these keys. FROM-GEM only that a door
# is addressed by a room-number-like string in the ``Door`` field of other requests.
DOOR_ID = "Door"
DOOR_NAME = "DoorName"
DOOR_TYPE = "DoorType"
DOOR_LOCK_SYSTEM = "LockSystem"
DOOR_TYPE_ROOM = "Room"  # ASSUMED values of DoorType
DOOR_TYPE_COMMON = "CommonArea"


@dataclass(frozen=True)
class FlexipassDoor:
    door: str
    name: str
    is_common_area: bool
    lock_system: str


def parse_doors(body: Any) -> list[FlexipassDoor]:
    """Read the door list; raises ``ValueError`` when the body is not the expected shape."""
    if not isinstance(body, list):
        raise ValueError("door list is not an array")
    doors = []
    for item in body:
        door = identifier(item.get(DOOR_ID)) if isinstance(item, Mapping) else None
        if door is None:
            raise ValueError("door without a Door id")
        doors.append(
            FlexipassDoor(
                door=door,
                name=_text(item.get(DOOR_NAME)) or door,
                is_common_area=item.get(DOOR_TYPE) == DOOR_TYPE_COMMON,
                lock_system=_text(item.get(DOOR_LOCK_SYSTEM)),
            )
        )
    return doors


def identifier(value: Any) -> str | None:
    """An id as Flexipass may send it: a non-empty string or a positive whole number (a list,
    an object, a boolean or a fraction is not an id)."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def door_to_json(door: FlexipassDoor) -> dict[str, Any]:
    return {
        DOOR_ID: door.door,
        DOOR_NAME: door.name,
        DOOR_TYPE: DOOR_TYPE_COMMON if door.is_common_area else DOOR_TYPE_ROOM,
        DOOR_LOCK_SYSTEM: door.lock_system,
    }


# --------------------------------------------------------------------------- mobile keys

# FROM-GEM: the nine fields of createMobileKey and updateMobileKey (all required).
KEY_NAME = "Name"
KEY_SURNAME = "Surname"
KEY_MAIL = "Mail"
KEY_DOOR = "Door"
KEY_CHECKIN_DATE = "Checkin_date"  # YYYY-MM-DD
KEY_CHECKIN_TIME = "Checkin_time"  # HH:MM:SS
KEY_CHECKOUT_DATE = "Checkout_date"
KEY_CHECKOUT_TIME = "Checkout_time"
KEY_TYPE = "MobileKeyType"  # int 0 or 1; the meaning is not public
# ASSUMED: 0 is an ordinary guest key. The connection setting ``mobile_key_type`` overrides it.
DEFAULT_MOBILE_KEY_TYPE = 0
# ASSUMED: the key's id, in the create answer ({"mkID": "123456", ...}), the details and the
# key list; a number or a string.
KEY_ID = "mkID"
# FROM-GEM: getMobileKeyList takes the window in the compact form YYYYMMDDTHHMM.
LIST_DOOR = "Door"
LIST_START = "StartDate"
LIST_END = "EndDate"

DATE_FORMAT = "%Y-%m-%d"
TIME_FORMAT = "%H:%M:%S"
COMPACT_FORMAT = "%Y%m%dT%H%M"

# ASSUMED: Flexipass dates and times are the doors' local wall-clock time, with no zone.


def split_guest_name(full_name: str | None) -> tuple[str, str]:
    """ASSUMED: Name = given names, Surname = last word; both must be non-empty."""
    words = (full_name or "").split()
    if len(words) >= 2:
        return " ".join(words[:-1]), words[-1]
    if len(words) == 1:
        return "Guest", words[0]
    return "Guest", "Mangodesk"


def key_body(
    *,
    name: str,
    surname: str,
    mail: str,
    door: str,
    check_in: datetime,
    check_out: datetime,
    key_type: int,
) -> dict[str, Any]:
    """The nine-field body; ``check_in``/``check_out`` are naive local wall-clock times."""
    return {
        KEY_NAME: name,
        KEY_SURNAME: surname,
        KEY_MAIL: mail,
        KEY_DOOR: door,
        KEY_CHECKIN_DATE: check_in.strftime(DATE_FORMAT),
        KEY_CHECKIN_TIME: check_in.strftime(TIME_FORMAT),
        KEY_CHECKOUT_DATE: check_out.strftime(DATE_FORMAT),
        KEY_CHECKOUT_TIME: check_out.strftime(TIME_FORMAT),
        KEY_TYPE: key_type,
    }


def list_body(door: str, start: datetime, end: datetime) -> dict[str, Any]:
    """``start``/``end`` are naive local wall-clock times."""
    return {
        LIST_DOOR: door,
        LIST_START: start.strftime(COMPACT_FORMAT),
        LIST_END: end.strftime(COMPACT_FORMAT),
    }


def parse_compact(text: str) -> datetime:
    return datetime.strptime(text, COMPACT_FORMAT)


@dataclass(frozen=True)
class FlexipassKey:
    key_id: str
    name: str
    surname: str
    mail: str
    door: str
    check_in: datetime  # naive, local wall-clock
    check_out: datetime
    key_type: int

    def to_json(self) -> dict[str, Any]:
        body = key_body(
            name=self.name,
            surname=self.surname,
            mail=self.mail,
            door=self.door,
            check_in=self.check_in,
            check_out=self.check_out,
            key_type=self.key_type,
        )
        body[KEY_ID] = self.key_id
        return body


def _local(day: Any, clock_time: Any) -> datetime:
    if not isinstance(day, str) or not isinstance(clock_time, str):
        raise ValueError("date or time is not text")
    wall = datetime.combine(date.fromisoformat(day), time.fromisoformat(clock_time))
    if wall.tzinfo is not None or not 2 <= wall.year <= 9998:
        raise ValueError("date out of range")
    return wall


def parse_key(body: Any) -> FlexipassKey:
    """Read one key (details or list item); ``ValueError`` on a wrong shape."""
    key_id = identifier(body.get(KEY_ID)) if isinstance(body, Mapping) else None
    if key_id is None:
        raise ValueError("mobile key without an mkID")
    assert isinstance(body, Mapping)
    key_type = body.get(KEY_TYPE) or 0
    if not isinstance(key_type, int) or isinstance(key_type, bool):
        raise ValueError("MobileKeyType is not a whole number")
    try:
        return FlexipassKey(
            key_id=key_id,
            name=_text(body.get(KEY_NAME)),
            surname=_text(body.get(KEY_SURNAME)),
            mail=_text(body.get(KEY_MAIL)),
            door=identifier(body.get(KEY_DOOR)) or "",
            check_in=_local(body[KEY_CHECKIN_DATE], body[KEY_CHECKIN_TIME]),
            check_out=_local(body[KEY_CHECKOUT_DATE], body[KEY_CHECKOUT_TIME]),
            key_type=key_type,
        )
    except KeyError as exc:
        raise ValueError(f"mobile key with missing dates: {exc}") from exc


# ASSUMED success answers of the writes (the gem's own mocks answer {"result": "success"}); the
# adapter reports success only on these:
# - createMobileKey: 200 with {"mkID": <id>, "result": "success"};
# - updateMobileKey: 200 with {"result": "success"} and the key as it is now;
# - deleteMobileKey: 200 with {"result": "success"}.
# Anything else on a write (a 204, a redirect, HTML, {"result": "failure"}) leaves the outcome
# unclear.
RESULT = "result"
RESULT_SUCCESS = "success"


def says_success(body: Any) -> bool:
    return isinstance(body, Mapping) and body.get(RESULT) == RESULT_SUCCESS


def success_body(**fields: Any) -> dict[str, Any]:
    return {**fields, RESULT: RESULT_SUCCESS}


def parse_key_id(body: Any) -> str:
    """The mkID from a create answer that says success; ``ValueError`` otherwise."""
    key_id = identifier(body.get(KEY_ID)) if says_success(body) else None
    if key_id is None:
        raise ValueError("create answer without success and an mkID")
    return key_id


def parse_keys(body: Any) -> list[FlexipassKey]:
    """ASSUMED body of getMobileKeyList: a JSON array of keys shaped like the details."""
    if not isinstance(body, list):
        raise ValueError("mobile key list is not an array")
    return [parse_key(item) for item in body]


# --------------------------------------------------------------------------- errors

# ASSUMED (the gem only keeps the raw body of any non-2xx): {"error": "<code>", "message": "..."}
# 401 = username or password rejected, 403 = company token rejected, 404 = unknown door or
# key, 409 = door offline, 400 = invalid input.
ERROR_CODE = "error"
ERROR_MESSAGE = "message"
ERR_BAD_CREDENTIALS = "InvalidCredentials"
ERR_BAD_COMPANY_TOKEN = "InvalidCompanyToken"  # noqa: S105 - an error code
ERR_DOOR_NOT_FOUND = "DoorNotFound"
ERR_KEY_NOT_FOUND = "MobileKeyNotFound"
ERR_DOOR_OFFLINE = "DoorOffline"
ERR_INVALID = "InvalidRequest"


def error_body(code: str, message: str) -> dict[str, Any]:
    return {ERROR_CODE: code, ERROR_MESSAGE: message}


def parse_error(body: Any) -> tuple[str | None, str | None]:
    if isinstance(body, Mapping):
        code, message = body.get(ERROR_CODE), body.get(ERROR_MESSAGE)
        return (code[:100] if isinstance(code, str) and code else None,
                message[:300] if isinstance(message, str) and message else None)
    return (None, None)
